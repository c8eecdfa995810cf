#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/passthrough.sh [ROUNDS]: what cache = passthrough buys, against
# tmpfs in the same run. (1) mmap: a client maps a 256 MiB file and stores
# one byte in every page, on a /dev/shm file and on a passthrough zone,
# interleaved, median of ROUNDS (default 5). (2) Memory: RAM used per GiB
# written (Shmem and Cached from /proc/meminfo, before and after writing
# 512 MiB with dd), for tmpfs and the page, direct and passthrough modes.
# Root; builds its helper with gcc; leaves nothing mounted.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHMFS=${SHMFS:-$HERE/../build/src/shmfs}
ROUNDS=${1:-5}
WORK=$(mktemp -d /tmp/shmfs-bench-pt.XXXXXX)
MNT=$WORK/mnt PID=""
cleanup() {
	fusermount3 -u "$MNT" 2>/dev/null || true
	[[ -z $PID ]] || wait "$PID" 2>/dev/null || true
	umount "$WORK/tmpfs" 2>/dev/null || true
	rm -f /dev/shm/shmfs-bench-touch
	rm -rf "$WORK"
}
trap cleanup EXIT
gcc -O2 -Wall -o "$WORK/mmaptouch" "$HERE/mmaptouch.c"
mkdir -p "$MNT" "$WORK/tmpfs"
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
"$SHMFS" -f -c "$WORK/shmfs.ini" "$MNT" 2>"$WORK/log" &
PID=$!
for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
[[ $(awk '$1 == "zone.pt.cache" { print $2 }' "$MNT/.stats") == passthrough ]] ||
	{ echo "passthrough not available: $(cat "$WORK/log")" >&2; exit 1; }
mount -t tmpfs -o size=1G tmpfs "$WORK/tmpfs"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# (1) mmap touch of 256 MiB.
BYTES=$((256 << 20))
: >"$WORK/t.shm" ; : >"$WORK/t.pt"
truncate -s "$BYTES" /dev/shm/shmfs-bench-touch
for ((r = 1; r <= ROUNDS; r++)); do
	: >"$MNT/pt"
	truncate -s 0 /dev/shm/shmfs-bench-touch
	truncate -s "$BYTES" /dev/shm/shmfs-bench-touch
	if ((r % 2)); then
		"$WORK/mmaptouch" /dev/shm/shmfs-bench-touch "$BYTES" >>"$WORK/t.shm"
		"$WORK/mmaptouch" "$MNT/pt" "$BYTES" >>"$WORK/t.pt"
	else
		"$WORK/mmaptouch" "$MNT/pt" "$BYTES" >>"$WORK/t.pt"
		"$WORK/mmaptouch" /dev/shm/shmfs-bench-touch "$BYTES" >>"$WORK/t.shm"
	fi
done
shm=$(median <"$WORK/t.shm") pt=$(median <"$WORK/t.pt")
echo "mmap, store one byte in each page of 256 MiB (median of $ROUNDS):"
printf '  /dev/shm file  %.3f s\n  passthrough    %.3f s   ratio %.2f (target <= 1.20)\n' \
	"$shm" "$pt" "$(echo "$pt / $shm" | bc -l)"
rm -f /dev/shm/shmfs-bench-touch
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
