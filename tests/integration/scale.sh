#!/bin/bash
# SPDX-License-Identifier: MIT
#
# scale.sh -- many zones and a big one: 10,000 zones are all listed (readdir
# pages through them) and each is found by name; a zone of 8 GiB stores and
# reads back bytes above 4 GiB, and statfs adds it up. Correctness only: how
# fast is bench/'s job, not a test's.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

NZONES=10000
MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
{
	printf '[shmfs]\nworkers = 2\n\n[zone:big]\nsize = 8G\ncache = direct\n'
	for ((i = 0; i < NZONES; i++)); do
		printf '[zone:z%05d]\nsize = 4K\n' "$i"
	done
} >"$CONF"

all_zones_are_listed_once_in_order() {
	local want got
	want=$(
		echo big
		for ((i = 0; i < NZONES; i++)); do printf 'z%05d\n' "$i"; done
	)
	got=$(ls -U "$MNT")
	assert_eq "$((NZONES + 1))" "$(wc -l <<<"$got")" "entries listed"
	assert_eq "$want" "$got" "the listing, in file order"
}

every_zone_is_found_by_name() {
	python3 - "$MNT" "$NZONES" <<'PY'
import os, random, stat, sys
mnt, n = sys.argv[1], int(sys.argv[2])
picked = set(random.sample(range(n), 500)) | {0, n // 2, n - 1}
for i in picked:
    st = os.stat("%s/z%05d" % (mnt, i))
    assert stat.S_ISREG(st.st_mode) and st.st_size == 0, st
    with open("%s/z%05d" % (mnt, i), "r+b") as f:
        f.write(b"%d" % i)
for i in picked:
    with open("%s/z%05d" % (mnt, i), "rb") as f:
        assert f.read() == b"%d" % i
for bad in ("z%05d" % n, "z", "Z00001", "z0000"):
    try:
        os.stat("%s/%s" % (mnt, bad))
    except FileNotFoundError:
        continue
    sys.exit("found a zone that does not exist: " + bad)
PY
}

a_zone_of_8_gib_works_above_4_gib() {
	local gib=$((1 << 30))
	assert_eq 5 "$(fsop pwrite "$MNT/big" $((5 * gib + 3)) 5 q)" "pwrite at 5 GiB"
	assert_eq $((5 * gib + 8)) "$(file_size "$MNT/big")" "st_size"
	assert_eq qqqqq "$(fsop read_at "$MNT/big" $((5 * gib + 3)) 5)" "read back"
	assert_eq 0 "$(fsop pread "$MNT/big" $((5 * gib + 8)) 10)" "read at the length"
	assert_eq 1 "$(fsop pwrite "$MNT/big" $((8 * gib - 1)) 1 e)" "last byte"
	assert_eq ENOSPC "$(fsop pwrite "$MNT/big" $((8 * gib)) 1)" "at the capacity"
	assert_eq EFBIG "$(fsop truncate "$MNT/big" $((8 * gib + 1)))" "truncate past"
	assert_eq ok "$(fsop truncate "$MNT/big" $((4 * gib + 1)))" "shrink"
	assert_eq 0 "$(fsop pread "$MNT/big" $((5 * gib)) 10)" "gone past the length"
	assert_eq ok "$(fsop truncate "$MNT/big" 0)" "empty"
}

statfs_adds_up_every_zone() {
	local out
	out=$(stat -f -c '%S %b %f %c' "$MNT")
	local page=$PAGE_SIZE
	local blocks=$(((8 << 30) / page + NZONES * 4096 / page))
	read -r bsize total free files <<<"$out"
	assert_eq "$page" "$bsize" "block size"
	assert_eq "$blocks" "$total" "total blocks"
	assert_eq 0 "$files" "files (no inode accounting)"
	((free <= total)) || fail "free $free > total $total"
}


mount_or_bail -w 2 "$CONF" "$MNT" "$((NZONES + 1)) zones"

run_test all_zones_are_listed_once_in_order
run_test every_zone_is_found_by_name
run_test a_zone_of_8_gib_works_above_4_gib
run_test statfs_adds_up_every_zone
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
