#!/bin/bash
# SPDX-License-Identifier: MIT
#
# hugepages.sh -- huge_pages, populate and numa (issue 18) through a real
# mount: a huge passthrough zone is in 2 MiB pages in the master's mapping
# and in a client's mmap of the zone file (their smaps); so are anon, sysv,
# devzero and posix zones; /.stats, /.metrics and shmfs status say how
# much; a populated zone is resident in the daemon before any client
# writes (and, where a memory cgroup can be made, a client limited below
# the zone's size writes all of it and is not killed); the bytes survive a
# reload that keeps the zone and one that resizes it; a random read, write
# and mmap check against a model passes on it; a punched hole splits a
# page and a reload collapses it again; huge_pages = try falls back with
# one line where a zone cannot be huge, on refuses it with FILE:LINE;
# numa_node of a node this machine lacks and huge_pages = hugetlb are
# FILE:LINE errors. The fault build's kernel that refuses every collapse:
# hugefaults.sh. Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_helper "$HUGEMAP"
setup

MiB=$((1 << 20))
MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = info
mode      = 0666

[zone:p]
size       = 64M
cache      = passthrough
huge_pages = on

[zone:a]
size       = 8M
huge_pages = on

[zone:s]
size       = 4M
backend    = sysv
huge_pages = try

[zone:d]
size       = 4M
backend    = devzero
huge_pages = on

[zone:x]
size       = 4M
backend    = posix
name       = /shmfs-hugepages-test
huge_pages = on

[zone:pop]
size     = 16M
populate = yes

[zone:plain]
size = 4M
EOF
# A keyed segment too (attached again by an upgrade): a key of this run's.
KEY=$(printf '0x5348%04x' $(($$ & 0xffff)))
printf '\n[zone:k]\nsize       = 4M\nbackend    = sysv\nkey        = %s\nhuge_pages = on\n' \
	"$KEY" >>"$CONF"

# master_smaps ZONE-FILE-PATTERN KEY: the sum of KEY (kB) over the master's
# mappings whose name matches the pattern, in bytes.
master_smaps() {
	awk -v pat="$1" -v key="$2:" '
		/^[0-9a-f]+-[0-9a-f]+ / { in_zone = ($0 ~ pat) }
		in_zone && $1 == key { sum += $2 }
		END { print sum * 1024 }' "/proc/$DAEMON_PID/smaps"
}

stats_value() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.stats"
}

mount_or_bail -w 2 "$CONF" "$MNT" "huge zones on every memory backend"

every_huge_zone_is_in_2_mib_pages_in_the_master() {
	assert_eq $((64 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"p in 2 MiB pages"
	assert_eq $((4 * MiB)) "$(master_smaps '/dev/shm/shmfs-hugepages-test' \
		ShmemPmdMapped)" "x (posix) in 2 MiB pages"
	assert_eq $((8 * MiB)) "$(master_smaps '/SYSV' ShmemPmdMapped)" \
		"s and k (sysv, keyless and keyed) in 2 MiB pages"
	# a (8M), d (4M): /dev/zero mappings both; pop and plain are not huge.
	assert_eq $((12 * MiB)) "$(master_smaps '/dev/zero' ShmemPmdMapped)" \
		"a and d in 2 MiB pages"
}

a_client_mmap_of_the_passthrough_zone_is_in_2_mib_pages() {
	local out
	out=$("$HUGEMAP" "$MNT/p" read)
	assert_eq "$((64 * MiB)) $((64 * MiB)) 1" "$out" \
		"the client's mapping (ShmemPmdMapped Rss aligned)"
	# Its stores go to the same pages the master maps.
	"$HUGEMAP" "$MNT/p" write >/dev/null
	assert_eq "$(head -c 4097 "$MNT/p" | od -An -tu1 -j4096 | tr -d ' ')" 1 \
		"a client's store read back through the mount"
	assert_eq $((64 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"p still in 2 MiB pages in the master"
}

stats_metrics_and_status_show_the_huge_bytes() {
	local status
	assert_eq $((64 * MiB)) "$(stats_value zone.p.huge_bytes)" "p huge_bytes"
	assert_eq $((64 * MiB)) "$(stats_value zone.p.huge_wanted)" "p huge_wanted"
	assert_eq 0 "$(stats_value zone.plain.huge_wanted)" "plain huge_wanted"
	assert_eq 0 "$(stats_value zone.plain.huge_bytes)" "plain huge_bytes"
	grep -qx "shmfs_zone_huge_bytes{zone=\"p\"} $((64 * MiB))" "$MNT/.metrics" ||
		fail "no shmfs_zone_huge_bytes of p in /.metrics: $(grep huge "$MNT/.metrics")"
	status=$("$SHMFS" status "$MNT")
	assert_match "HUGE" "$(grep '^ZONE' <<<"$status")" "status header"
	assert_match "memfd +64M +-$" "$(grep '^p ' <<<"$status")" \
		"status row of p (HUGE 64M)"
	assert_match "anon +- +-$" "$(grep '^plain ' <<<"$status")" \
		"status row of plain (HUGE -)"
}

a_populated_zone_is_resident_in_the_daemon_before_any_write() {
	# pop: anon, 16M, never written; plain: 4M, never written.
	local pop plain
	pop=$(stat -c %b "$MNT/pop")
	plain=$(stat -c %b "$MNT/plain")
	assert_eq $((16 * MiB)) $((pop * 512)) "st_blocks of pop"
	assert_eq 0 $((plain * 512)) "st_blocks of plain"
	# The daemon's Rss of the two /dev/zero mappings that are not huge.
	local rss
	rss=$(awk '
		/^[0-9a-f]+-[0-9a-f]+ / { z = ($0 ~ /\/dev\/zero/) }
		z && $1 == "Rss:" { print $2 * 1024 }' "/proc/$DAEMON_PID/smaps" |
		grep -cx $((16 * MiB)))
	assert_eq 1 "$rss" "one 16M mapping resident in the master (pop)"
}

# A memory cgroup (v2, or v1's memory controller) below ours, where it can
# be made without changing anything above it.
make_cgroup() {
	local own base
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
		base=/sys/fs/cgroup$own
		grep -qw memory "$base/cgroup.subtree_control" 2>/dev/null || return 1
		CG=$(mktemp -d "$base/shmfs-test.XXXXXX") || return 1
		echo $((32 * MiB)) >"$CG/memory.max" || return 1
		echo 0 >"$CG/memory.swap.max" 2>/dev/null || true
	elif [[ -d /sys/fs/cgroup/memory ]]; then
		own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
		base=/sys/fs/cgroup/memory$own
		CG=$(mktemp -d "$base/shmfs-test.XXXXXX") || return 1
		echo $((32 * MiB)) >"$CG/memory.limit_in_bytes" || return 1
	else
		return 1
	fi
}

# in_cgroup CMD...: runs CMD in $CG; its exit status.
in_cgroup() {
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" "$@"
}

a_client_in_a_small_memory_cgroup_writes_a_populated_zone_whole() {
	CG=
	if ! make_cgroup; then
		[[ -n $CG ]] && rmdir "$CG"
		echo "# no memory cgroup can be made here: the daemon's smaps" \
			"is the check (a_populated_zone_is_resident...)"
		return 0
	fi
	local rc=0 rc_plain=0
	# 64M into p (populated, huge) from a client limited to 32M.
	in_cgroup "$HUGEMAP" "$MNT/p" write >/dev/null || rc=$?
	# The control: 64M of pages the client itself brings in are its own.
	cat >>"$CONF" <<'EOF'

[zone:q]
size  = 64M
cache = passthrough
EOF
	reload_daemon kill -HUP "$DAEMON_PID"
	in_cgroup "$HUGEMAP" "$MNT/q" write >/dev/null 2>&1 || rc_plain=$?
	sed -i '/^\[zone:q\]/,$d' "$CONF"
	reload_daemon kill -HUP "$DAEMON_PID"
	rmdir "$CG"
	assert_eq 0 "$rc" "the client writing the populated zone"
	((rc_plain != 0)) ||
		fail "the control (a zone not populated) did not exceed the cgroup"
}

fsx_random_reads_writes_and_mmaps_match_a_model() {
	python3 - "$MNT/p" <<'PY'
import mmap, os, random, sys
path = sys.argv[1]
size = os.stat(path).st_size
rnd = random.Random(18)
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, size)
model = bytearray(m[:])          # what the zone holds now
for i in range(3000):
    op = rnd.randrange(4)
    off = rnd.choice([0, size - 1, rnd.randrange(size),
                      rnd.randrange(size // (2 << 20)) * (2 << 20) - 1])
    off = max(0, off)
    n = min(rnd.choice([1, 7, 4096, 65536, 300000]), size - off)
    if op == 0:
        data = rnd.randbytes(n)
        assert os.pwrite(fd, data, off) == n
        model[off:off + n] = data
    elif op == 1:
        got = os.pread(fd, n, off)
        assert got == model[off:off + n], f"pread {off} {n} at op {i}"
    elif op == 2:
        data = rnd.randbytes(n)
        m[off:off + n] = data
        model[off:off + n] = data
    else:
        assert m[off:off + n] == model[off:off + n], f"mmap {off} {n} at op {i}"
assert os.pread(fd, size, 0) == bytes(model), "whole zone"
m.close()
os.close(fd)
PY
	assert_eq $((64 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"p still in 2 MiB pages"
}

its_bytes_survive_a_reload_and_a_resize() {
	local sum
	dd if=/dev/urandom of="$MNT/p" bs=1M count=64 conv=notrunc status=none
	sum=$(sha256sum <"$MNT/p")
	reload_daemon kill -HUP "$DAEMON_PID"
	assert_eq "$sum" "$(sha256sum <"$MNT/p")" "p after a reload"
	assert_eq $((64 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"p in 2 MiB pages after a reload"
	# Grown to 96M: a new memfd, the 64M copied, in 2 MiB pages.
	sed -i '/^\[zone:p\]/,/^$/s/^size .*/size = 96M/' "$CONF"
	reload_daemon kill -HUP "$DAEMON_PID"
	assert_eq $((96 * MiB)) "$(stat -c %s "$MNT/p")" "p's new size"
	assert_eq "$sum" "$(head -c $((64 * MiB)) "$MNT/p" | sha256sum)" \
		"p's bytes after growing"
	assert_eq $((96 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"the grown p in 2 MiB pages"
	assert_eq "$((96 * MiB)) $((96 * MiB)) 1" "$("$HUGEMAP" "$MNT/p" read)" \
		"a client's mapping of the grown p"
	sed -i '/^\[zone:p\]/,/^$/s/^size .*/size = 64M/' "$CONF"
	reload_daemon kill -HUP "$DAEMON_PID"
	assert_eq "$sum" "$(sha256sum <"$MNT/p")" "p's bytes after shrinking back"
}

huge_bytes_of() {
	[[ $(stats_value "zone.$1.huge_bytes") == "$2" ]]
}

a_punched_hole_splits_a_page_and_a_reload_collapses_it() {
	fallocate -p -o $((2 * MiB + 4096)) -l 4096 "$MNT/p"
	# The master measures every 5 s.
	wait_until 12 huge_bytes_of p $((62 * MiB)) ||
		fail "huge_bytes of p after the punch: $(stats_value zone.p.huge_bytes)"
	reload_daemon kill -HUP "$DAEMON_PID"
	assert_eq $((64 * MiB)) "$(stats_value zone.p.huge_bytes)" \
		"p's huge_bytes after the reload"
	assert_eq 0 "$(head -c $((2 * MiB + 8192)) "$MNT/p" | tail -c 4096 |
		tr -d '\0' | wc -c)" "bytes other than 0 in the hole"
}

unmount_stops_the_huge_daemon() {
	stop_daemon "$MNT" "$DAEMON_PID"
}

an_upgrade_maps_the_huge_zone_in_2_mib_pages_again() {
	local mnt=$WORK/up pidfile=$WORK/up.pid sum
	start_daemon "$CONF" "$mnt" -p "$pidfile"
	dd if=/dev/urandom of="$mnt/p" bs=1M count=64 conv=notrunc status=none
	sum=$(sha256sum <"$mnt/p")
	"$SHMFS" -s upgrade -p "$pidfile" || fail "shmfs -s upgrade failed"
	wait_for_line "$DAEMON_LOG" '(^shmfs: |: notice: )upgraded:'
	assert_eq "$sum" "$(sha256sum <"$mnt/p")" "p after the upgrade"
	assert_eq $((64 * MiB)) "$(master_smaps 'memfd:shmfs:p ' ShmemPmdMapped)" \
		"p in 2 MiB pages in the upgraded master"
	assert_eq $((4 * MiB)) "$(master_smaps "SYSV${KEY#0x}" ShmemPmdMapped)" \
		"the keyed segment attached again in 2 MiB pages"
	assert_eq $((64 * MiB)) "$(awk '$1 == "zone.p.huge_bytes" { print $2 }' \
		"$mnt/.stats")" "huge_bytes after the upgrade"
	assert_eq "$((64 * MiB)) $((64 * MiB)) 1" "$("$HUGEMAP" "$mnt/p" read)" \
		"a client's mapping after the upgrade"
	stop_daemon "$mnt" "$DAEMON_PID"
}

# try_with CONF-TEXT: starts a second daemon on it, for a zone that cannot be
# huge (1M posix: an exact size under one 2 MiB page).
SMALL='[zone:tiny]
size       = 1M
backend    = posix
name       = /shmfs-hugepages-tiny
huge_pages = '

try_falls_back_with_one_line() {
	printf '%s%s\n' "$SMALL" try >"$WORK/try.ini"
	start_daemon "$WORK/try.ini" "$WORK/try"
	assert_eq 1 "$(count_lines "$DAEMON_LOG" 'huge_pages = try')" \
		"lines of the fallback"
	assert_match "try.ini:5: zone \"tiny\": huge_pages = try: smaller than one 2 MiB page: running in 4 KiB pages there" \
		"$(grep 'huge_pages = try' "$DAEMON_LOG")"
	assert_eq 0 "$(awk '$1 == "zone.tiny.huge_bytes" { print $2 }' \
		"$WORK/try/.stats")" "huge_bytes of the fallback"
	stop_daemon "$WORK/try" "$DAEMON_PID"
}

on_refuses_the_zone_with_its_line() {
	printf '%s%s\n' "$SMALL" on >"$WORK/on.ini"
	spawn_daemon "$WORK/on" -f -c "$WORK/on.ini"
	expect_daemon_exit "$DAEMON_PID" 2 ""
	assert_match 'on.ini:5: zone "tiny": huge_pages = on: smaller than one 2 MiB page: refused' \
		"$(cat "$DAEMON_LOG")"
	assert_not_mounted "$WORK/on"
	[[ ! -e /dev/shm/shmfs-hugepages-tiny ]] ||
		fail "the refused zone's posix object was left behind"
}

a_missing_numa_node_is_a_file_line_error() {
	local node=1
	while [[ -d /sys/devices/system/node/node$node ]]; do
		node=$((node + 1))
	done
	printf '[zone:n]\nsize = 4M\nnuma_node = %d\n' "$node" >"$WORK/numa.ini"
	run_shmfs -t -c "$WORK/numa.ini"
	assert_eq 1 "$STATUS" "shmfs -t's status"
	assert_eq "shmfs: $WORK/numa.ini:3: numa_node: \"$node\" is not a node of this machine (see /sys/devices/system/node/)" \
		"$ERR"
	printf '[zone:n]\nsize = 4M\nnuma_node = 0\npopulate = yes\n' >"$WORK/numa0.ini"
	run_shmfs -t -c "$WORK/numa0.ini"
	assert_eq 0 "$STATUS" "node 0: $ERR"
	assert_match "node 0" "$OUT" "-t's NUMA column"
}

hugetlb_is_refused_with_its_line() {
	printf '[zone:h]\nsize = 4M\ncache = passthrough\nhuge_pages = hugetlb\n' \
		>"$WORK/tlb.ini"
	run_shmfs -t -c "$WORK/tlb.ini"
	assert_eq 1 "$STATUS" "shmfs -t's status"
	assert_match "tlb.ini:4: huge_pages: \"hugetlb\" is not supported" "$ERR"
}

t_shows_page_size_and_residency() {
	run_shmfs -t -c "$CONF"
	assert_eq 0 "$STATUS" "shmfs -t: $ERR"
	assert_match "PAGES RESIDENT NUMA" "$(head -1 <<<"$OUT")"
	assert_match "^p +memfd +passthrough +67108864 .* 2M +start " \
		"$(grep '^p ' <<<"$OUT")"
	assert_match "^s .* 2M\|4K +start " "$(grep '^s ' <<<"$OUT")"
	assert_match "^plain .* 4K +touch " "$(grep '^plain ' <<<"$OUT")"
	assert_match "^$(((64 + 8 + 4 + 4 + 4 + 16 + 4) * MiB)) bytes resident from the start" \
		"$(tail -1 <<<"$OUT")"
}

run_test every_huge_zone_is_in_2_mib_pages_in_the_master
run_test a_client_mmap_of_the_passthrough_zone_is_in_2_mib_pages
run_test stats_metrics_and_status_show_the_huge_bytes
run_test a_populated_zone_is_resident_in_the_daemon_before_any_write
run_test_here a_client_in_a_small_memory_cgroup_writes_a_populated_zone_whole
run_test fsx_random_reads_writes_and_mmaps_match_a_model
run_test_here its_bytes_survive_a_reload_and_a_resize
run_test_here a_punched_hole_splits_a_page_and_a_reload_collapses_it
run_test_here unmount_stops_the_huge_daemon
run_test t_shows_page_size_and_residency
run_test_here an_upgrade_maps_the_huge_zone_in_2_mib_pages_again
run_test_here try_falls_back_with_one_line
run_test_here on_refuses_the_zone_with_its_line
run_test a_missing_numa_node_is_a_file_line_error
run_test hugetlb_is_refused_with_its_line
run_test_here nothing_is_left_behind
finish
