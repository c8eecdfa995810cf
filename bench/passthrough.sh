#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/passthrough.sh [ROUNDS]: what cache = passthrough buys, against
# tmpfs in the same run. (1) mmap: a client maps a 256 MiB file and stores
# one byte in every page, on a /dev/shm file and on a passthrough zone,
# interleaved, median of ROUNDS (default 5). (2) Memory: RAM used per GiB
# written (Shmem and Cached from /proc/meminfo, before and after writing
# 512 MiB with dd), for tmpfs and the page, direct and passthrough modes.
# Root; its helper is build/bench/mmaptouch; leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${1:-5}
bench_need_root
bench_need bc
bench_init passthrough
MNT=$WORK/mnt
TOUCH=/dev/shm/shmfs-bench-touch
bench_on_exit() { rm -f "$TOUCH"; }
MMAPTOUCH=$(bench_helper mmaptouch)
cat >"$WORK/shmfs.ini" <<'INI'
[shmfs]
workers = 2
[zone:pt]
size  = 512M
cache = passthrough
[zone:page]
size  = 512M
cache = page
[zone:direct]
size  = 512M
cache = direct
INI
bench_start_shmfs "$MNT" "$WORK/shmfs.ini"
[[ $(awk '$1 == "zone.pt.cache" { print $2 }' "$MNT/.stats") == passthrough ]] ||
	die "passthrough not available: $(cat "$WORK/shmfs.log")"
bench_mount_tmpfs "$WORK/tmpfs" size=1G

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# (1) mmap touch of 256 MiB.
BYTES=$((256 << 20))
: >"$WORK/t.shm" ; : >"$WORK/t.pt"
truncate -s "$BYTES" "$TOUCH"
for ((r = 1; r <= ROUNDS; r++)); do
	: >"$MNT/pt"
	truncate -s 0 "$TOUCH"
	truncate -s "$BYTES" "$TOUCH"
	if ((r % 2)); then
		"$MMAPTOUCH" "$TOUCH" "$BYTES" >>"$WORK/t.shm"
		"$MMAPTOUCH" "$MNT/pt" "$BYTES" >>"$WORK/t.pt"
	else
		"$MMAPTOUCH" "$MNT/pt" "$BYTES" >>"$WORK/t.pt"
		"$MMAPTOUCH" "$TOUCH" "$BYTES" >>"$WORK/t.shm"
	fi
done
shm=$(median <"$WORK/t.shm") pt=$(median <"$WORK/t.pt")
echo "mmap, store one byte in each page of 256 MiB (median of $ROUNDS):"
printf '  /dev/shm file  %.3f s\n  passthrough    %.3f s   ratio %.2f (target <= 1.20)\n' \
	"$shm" "$pt" "$(echo "$pt / $shm" | bc -l)"
rm -f "$TOUCH"
: >"$MNT/pt" # gives the touched pages back

# (2) RAM per GiB written.
kib() { awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo; }
echo
echo "RAM per GiB written (dd bs=1M of 512 MiB; deltas of /proc/meminfo, MiB per GiB):"
printf '  %-12s %8s %8s\n' target Shmem Cached
for t in tmpfs page direct pt; do
	f=$MNT/$t
	[[ $t == tmpfs ]] && f=$WORK/tmpfs/f
	sync
	echo 1 >/proc/sys/vm/drop_caches
	s0=$(kib Shmem) c0=$(kib Cached)
	dd if=/dev/zero of="$f" bs=1M count=512 conv=notrunc status=none
	s1=$(kib Shmem) c1=$(kib Cached)
	printf '  %-12s %8d %8d\n' "$t" $(((s1 - s0) * 2 / 1024)) $(((c1 - c0) * 2 / 1024))
	if [[ $t == tmpfs ]]; then rm -f "$f"; else : >"$f"; fi
done
echo "(Shmem is part of Cached: one copy shows as +1024 in both.)"
