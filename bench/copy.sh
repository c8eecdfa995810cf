#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/copy.sh [ROUNDS] [MIB]: copying a zone to another zone with one
# copy_file_range request per call (a memory copy between the mappings in
# the daemon), against a 128 KiB read/write loop through the mount, against
# cp on tmpfs, in the same run. MIB of random bytes (default 256), median of
# ROUNDS (default 5) rounds, the targets interleaved. Root; its helper is
# build/bench/copyfile; leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${1:-5}
MIB=${2:-256}
BYTES=$((MIB << 20))
bench_need_root
bench_init copy
MNT=$WORK/mnt
COPYFILE=$(bench_helper copyfile)
cat >"$WORK/shmfs.ini" <<INI
[shmfs]
workers = 2
[zone:a]
size  = ${MIB}M
cache = direct
[zone:b]
size  = ${MIB}M
cache = direct
[zone:pa]
size  = ${MIB}M
[zone:pb]
size  = ${MIB}M
INI
bench_start_shmfs "$MNT" "$WORK/shmfs.ini"
bench_mount_tmpfs "$WORK/tmpfs" size=$((3 * MIB + 64))M

head -c "$BYTES" /dev/urandom >"$WORK/tmpfs/src"
cp "$WORK/tmpfs/src" "$MNT/a"
cp "$WORK/tmpfs/src" "$MNT/pa"
: >"$WORK/tmpfs/dst"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
cp_time() { # SRC DST: seconds cp took
	local t0 t1
	t0=$(date +%s.%N)
	cp "$1" "$2"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' 
}

declare -A T=()
targets="zone-cfr-direct zone-rw-direct zone-cfr-page zone-rw-page zone-cp tmpfs-cp tmpfs-cfr tmpfs-rw"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in $targets; do
		case $t in
		zone-cfr-direct) s=$("$COPYFILE" cfr "$MNT/a" "$MNT/b" "$BYTES") ;;
		zone-rw-direct) s=$("$COPYFILE" rw "$MNT/a" "$MNT/b" "$BYTES") ;;
		zone-cfr-page) s=$("$COPYFILE" cfr "$MNT/pa" "$MNT/pb" "$BYTES") ;;
		zone-rw-page) s=$("$COPYFILE" rw "$MNT/pa" "$MNT/pb" "$BYTES") ;;
		zone-cp) s=$(cp_time "$MNT/a" "$MNT/b") ;;
		tmpfs-cp) s=$(cp_time "$WORK/tmpfs/src" "$WORK/tmpfs/dst") ;;
		tmpfs-cfr) s=$("$COPYFILE" cfr "$WORK/tmpfs/src" "$WORK/tmpfs/dst" "$BYTES") ;;
		tmpfs-rw) s=$("$COPYFILE" rw "$WORK/tmpfs/src" "$WORK/tmpfs/dst" "$BYTES") ;;
		esac
		T[$t]+="$s "
	done
	cmp -s "$MNT/a" "$MNT/b" || { echo "zone copy differs" >&2; exit 1; }
done

tmpfs_cp=$(tr ' ' '\n' <<<"${T[tmpfs-cp]}" | grep . | median)
printf '%-16s %10s %9s %14s\n' TARGET "MEDIAN s" "GB/s" "vs tmpfs cp"
for t in $targets; do
	m=$(tr ' ' '\n' <<<"${T[$t]}" | grep . | median)
	awk -v t="$t" -v m="$m" -v b="$BYTES" -v c="$tmpfs_cp" \
		'BEGIN { printf "%-16s %10.4f %9.2f %14.2f\n", t, m, b / m / 1e9, c / m }' 
done
echo "# $MIB MiB, $ROUNDS rounds, $(nproc) CPUs; ratio > 1: faster than cp on tmpfs"
