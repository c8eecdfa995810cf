#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/filezone.sh [--base SHMFS] [ROUNDS] [MIB]: what allocating a file
# zone's blocks before each write (fallocate KEEP_SIZE, so that a full
# filesystem answers ENOSPC instead of SIGBUS) costs on the write path.
# dd writes MIB (default 64) in 4 KiB and in 1 MiB blocks to a file zone
# whose file is on tmpfs, once into a fresh (sparse) file and once over
# the written one, and the same to a file on the tmpfs itself; with
# --base, also to the same zone served by another shmfs binary (a build
# without the fallocate). Median MB/s of ROUNDS (default 5) rounds, the
# targets interleaved, and each target's ratio to tmpfs. Root; leaves
# nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BASE=""
if [[ ${1:-} == --base ]]; then
	BASE=$(realpath "$2")
	shift 2
	[[ -x $BASE ]] || die "--base: $BASE is not a program"
fi
ROUNDS=${1:-5}
MIB=${2:-64}
bench_need_root "mount -t tmpfs, FUSE mounts"
bench_init filezone
bench_mount_tmpfs "$WORK/tmpfs" size=$((4 * MIB + 16))M,mode=0755

# zone_ini NAME: one direct file zone of MIB on the tmpfs.
zone_ini() {
	printf '[shmfs]\nworkers = 2\n[zone:z]\nbackend = file\npath = %s\nsize = %sM\n' \
		"$WORK/tmpfs/$1.bin" "$MIB" >"$WORK/$1.ini"
}
zone_ini new
bench_start_fuse "$WORK/new" "$WORK/new.log" "$SHMFS" -f -c "$WORK/new.ini" "$WORK/new"
daemons="new"
if [[ -n $BASE ]]; then
	zone_ini base
	bench_start_fuse "$WORK/base" "$WORK/base.log" "$BASE" -f -c "$WORK/base.ini" "$WORK/base"
	daemons="new base"
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# mbs FILE BS: MB/s of dd writing MIB in blocks of BS over FILE.
mbs() {
	local count=$((MIB * 1048576 / $2))
	dd if=/dev/zero of="$1" bs="$2" count="$count" conv=notrunc 2>&1 |
		awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i - 1)
			print $1 / s / 1e6 }'
}
# fresh TARGET: its file with no blocks (the zone's: truncate -s 0 of a
# file zone punches every page out, as the file's own would).
fresh() {
	case $1 in
	tmpfs) rm -f "$WORK/tmpfs/plain" && : >"$WORK/tmpfs/plain" ;;
	*) : >"$WORK/$1/z" ;;
	esac
}
file_of() { [[ $1 == tmpfs ]] && echo "$WORK/tmpfs/plain" || echo "$WORK/$1/z"; }

declare -A R=()
targets="tmpfs $daemons"
for ((r = 1; r <= ROUNDS; r++)); do
	order=$targets
	((r % 2)) || order=$(tr ' ' '\n' <<<"$targets" | tac | xargs)
	for bs in 4096 1048576; do
		for t in $order; do
			fresh "$t"
			R[$t.$bs.fresh]+="$(mbs "$(file_of "$t")" "$bs") "
			R[$t.$bs.over]+="$(mbs "$(file_of "$t")" "$bs") "
		done
	done
done
for d in $daemons; do
	grep -q "killed by signal" "$WORK/$d.log" && die "a worker of $d died"
done

label() { case $1 in new) echo "file zone" ;; base) echo "zone, --base" ;; *) echo "$1" ;; esac; }
printf '%-14s %-8s %-6s %10s %10s\n' TARGET WRITE FILE "MB/s" "vs tmpfs"
for bs in 4096 1048576; do
	for kind in fresh over; do
		ref=$(tr ' ' '\n' <<<"${R[tmpfs.$bs.$kind]}" | grep . | median)
		for t in $targets; do
			m=$(tr ' ' '\n' <<<"${R[$t.$bs.$kind]}" | grep . | median)
			awk -v t="$(label "$t")" -v bs="$((bs / 1024))K" -v k="$kind" -v m="$m" -v ref="$ref" \
				'BEGIN { printf "%-14s %-8s %-6s %10.0f %10.2f\n", t, bs, k, m, m / ref }'
		done
	done
done
echo "# $MIB MiB per dd, $ROUNDS rounds (median), $(nproc) CPUs; fresh: into a" \
	"sparse file, over: over its written blocks${BASE:+; --base $BASE}"
