#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/hugepages.sh [ROUNDS] [GIB...]: what huge_pages = on buys a client
# of a passthrough zone, against a /dev/shm file (tmpfs huge=never, Debian's
# default) and a file on a private tmpfs mounted huge=always, in the same
# run, one target at a time (so that at most one zone's memory exists),
# for each size (default 1 and 4 GiB), median of ROUNDS (default 3):
#   touch  a client's first touch of every 4 KiB page (build/bench/hugechase)
#   chase  ns per dependent random 8-byte load over the whole file
#   store  ns per independent random 8-byte store
#   start  seconds from the daemon's start to its mount (the populate and
#          collapse a huge zone costs, paid once in the daemon)
# then sequential dd (1 MiB blocks) write and read of a 1 GiB huge zone vs
# the /dev/shm file, and the master's VmPTE with a 4 GiB zone populated in
# 2 MiB pages vs in 4 KiB pages. Prints each figure and its ratios. Root;
# leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${1:-3}
shift || true
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(1 4)
bench_need_root
bench_init hugepages
CHASE=$(bench_helper hugechase)
MNT=$WORK/mnt
SHM=/dev/shm/shmfs-bench-huge.$$
bench_on_exit() { rm -f "$SHM"; }
GiB=$((1 << 30))

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# zone_ini GIB KEYS: a passthrough zone "p" of GIB GiB with KEYS.
zone_ini() {
	printf '[shmfs]\nworkers = 1\n[zone:p]\nsize = %sG\ncache = passthrough\n%s\n' \
		"$1" "$2" >"$WORK/shmfs.ini"
}

# shmfs_run GIB: one round on a fresh huge zone; "touch chase store pmd start".
shmfs_run() {
	local t0 t1 out
	zone_ini "$1" "huge_pages = on"
	t0=$(date +%s.%N)
	bench_start_fuse -t 120 "$MNT" "$WORK/shmfs.log" "$SHMFS" -f -c "$WORK/shmfs.ini" "$MNT"
	t1=$(date +%s.%N)
	out=$("$CHASE" "$MNT/p" $(($1 * GiB)))
	bench_stop_fuse "$MNT"
	echo "$out $(echo "$t1 - $t0" | bc)"
}

# file_run PATH GIB: one round on a fresh file; "touch chase store pmd 0".
file_run() {
	local out
	rm -f "$1"
	truncate -s $(($2 * GiB)) "$1"
	out=$("$CHASE" "$1" $(($2 * GiB)))
	rm -f "$1"
	echo "$out 0"
}

# col N FILE: the median of column N of FILE.
col() { awk -v n="$1" '{ print $n }' "$2" | median; }

ratio() { printf '%.3f' "$(echo "scale=4; $1 / $2" | bc)"; }

for gib in "${SIZES[@]}"; do
	: >"$WORK/shmfs.$gib"
	: >"$WORK/shm.$gib"
	: >"$WORK/thp.$gib"
	bench_mount_tmpfs "$WORK/thp" "size=$((gib + 1))G,huge=always"
	# Every other round the other way round: no target always first.
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			shmfs_run "$gib" >>"$WORK/shmfs.$gib"
			file_run "$SHM" "$gib" >>"$WORK/shm.$gib"
			file_run "$WORK/thp/f" "$gib" >>"$WORK/thp.$gib"
		else
			file_run "$WORK/thp/f" "$gib" >>"$WORK/thp.$gib"
			file_run "$SHM" "$gib" >>"$WORK/shm.$gib"
			shmfs_run "$gib" >>"$WORK/shmfs.$gib"
		fi
	done
	bench_umount_tmpfs "$WORK/thp"
	echo "== $gib GiB, median of $ROUNDS (shmfs: passthrough, huge_pages = on)"
	printf '%-7s %12s %12s %14s %9s %9s\n' "" shmfs /dev/shm huge=always \
		"vs shm" "vs thp"
	for c in 1:touch_s 2:chase_ns 3:store_ns 4:pmd_bytes; do
		n=${c%%:*}
		a=$(col "$n" "$WORK/shmfs.$gib")
		b=$(col "$n" "$WORK/shm.$gib")
		t=$(col "$n" "$WORK/thp.$gib")
		if [[ $n == 4 ]]; then
			printf '%-9s %12s %12s %14s\n' "${c#*:}" "$a" "$b" "$t"
		else
			printf '%-9s %12s %12s %14s %8sx %8sx\n' "${c#*:}" "$a" "$b" \
				"$t" "$(ratio "$a" "$b")" "$(ratio "$a" "$t")"
		fi
	done
	printf 'start_s %14.3f (daemon start to mount: populate + collapse)\n' \
		"$(col 5 "$WORK/shmfs.$gib")"
	# The raw rounds, for the docs: "touch chase store pmd start".
	for t in shmfs shm thp; do
		sed "s/^/#   $t: /" "$WORK/$t.$gib"
	done
done

# Sequential dd, 1 GiB, 1 MiB blocks: GB/s as dd reports it.
dd_rate() {
	dd "$@" bs=1M count=1024 2>&1 | awk '/copied/ { print $(NF - 1), $NF }'
}
zone_ini 1 "huge_pages = on"
bench_start_fuse -t 120 "$MNT" "$WORK/shmfs.log" "$SHMFS" -f -c "$WORK/shmfs.ini" "$MNT"
truncate -s "$GiB" "$SHM"
echo "== dd 1 MiB blocks, 1 GiB (the /dev/shm file's first write allocates)"
echo "write  shmfs $(dd_rate if=/dev/zero of="$MNT/p" conv=notrunc)  /dev/shm $(dd_rate if=/dev/zero of="$SHM" conv=notrunc)"
echo "again  shmfs $(dd_rate if=/dev/zero of="$MNT/p" conv=notrunc)  /dev/shm $(dd_rate if=/dev/zero of="$SHM" conv=notrunc)"
echo "read   shmfs $(dd_rate if="$MNT/p" of=/dev/null)  /dev/shm $(dd_rate if="$SHM" of=/dev/null)"
bench_stop_fuse "$MNT"
rm -f "$SHM"

# The master's page tables for a 4 GiB populated zone.
echo "== the master's VmPTE, a 4 GiB zone populated"
for keys in "huge_pages = on" "populate = yes"; do
	zone_ini 4 "$keys"
	bench_start_fuse -t 120 "$MNT" "$WORK/shmfs.log" "$SHMFS" -f -c "$WORK/shmfs.ini" "$MNT"
	echo "$keys: $(awk '/^VmPTE/ { print $2, $3 }' "/proc/$BENCH_PID/status")"
	bench_stop_fuse "$MNT"
done
