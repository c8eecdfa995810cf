#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/scale.sh [N]: how long N zones (default 10000) take to mount (from
# the command to the first successful stat of the last zone), how long ls
# takes, and the daemon's own memory beyond the zones: the shared metadata
# it logs, and each process's private memory (Pss_Anon, Private_Dirty from
# smaps_rollup). Leaves nothing mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
SHMFS=${SHMFS:-build/src/shmfs}
[[ -x $SHMFS ]] || ninja -C build >/dev/null

work=$(mktemp -d /tmp/shmfs-scale.XXXXXX)
pid=""
cleanup() {
	fusermount3 -u -q "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true
	[[ -z $pid ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/mnt"
{
	printf '[shmfs]\nworkers = 2\nlog_level = info\n'
	for ((i = 0; i < N; i++)); do printf '[zone:z%06d]\nsize = 4K\n' "$i"; done
} >"$work/shmfs.ini"
last=$(printf 'z%06d' $((N - 1)))

ms() { date +%s%N; }
t0=$(ms)
"$SHMFS" -f -c "$work/shmfs.ini" "$work/mnt" 2>"$work/log" &
pid=$!
until stat "$work/mnt/$last" >/dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
	sleep 0.002
done
t1=$(ms)
count=$(ls -U "$work/mnt" | wc -l)
t2=$(ms)
sleep 0.3
echo "zones:               $N"
echo "mount to last stat:  $(((t1 - t0) / 1000000)) ms"
echo "ls of $count names:  $(((t2 - t1) / 1000000)) ms"
grep -o "shared metadata [0-9]* bytes" "$work/log" | sed 's/^/daemon log:          /'
for p in "$pid" $(pgrep -P "$pid"); do
	printf '%-12s pid %-7s %s\n' "$(cat /proc/$p/comm)" "$p" \
		"$(awk '/^(Pss_Anon|Private_Dirty):/ { printf "%s %s kB  ", $1, $2 }' /proc/$p/smaps_rollup)"
done
fusermount3 -u "$work/mnt"
wait "$pid"
pid=""
