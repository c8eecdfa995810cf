#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/scale.sh [N]: how long N zones (default 10000) take to mount (from
# the command to the first successful stat of the last zone), how long ls
# takes, and the daemon's own memory beyond the zones: the shared metadata
# it logs, and each process's private memory (Pss_Anon, Private_Dirty from
# smaps_rollup). Leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${1:-10000}
bench_need_root
bench_init scale

{
	printf '[shmfs]\nworkers = 2\nlog_level = info\n'
	for ((i = 0; i < N; i++)); do printf '[zone:z%06d]\nsize = 4K\n' "$i"; done
} >"$WORK/shmfs.ini"
last=$(printf 'z%06d' $((N - 1)))
mnt=$WORK/mnt
mkdir "$mnt"

# Timed from the command to the last zone's first stat, so the daemon is
# started by hand here rather than by bench_start_fuse's mount wait.
ms() { date +%s%N; }
t0=$(ms)
"$SHMFS" -f -c "$WORK/shmfs.ini" "$mnt" 2>"$WORK/shmfs.log" &
pid=$!
BENCH_FUSE[$mnt]=$pid
until stat "$mnt/$last" >/dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null || die "shmfs exited: $(cat "$WORK/shmfs.log")"
	sleep 0.002
done
t1=$(ms)
count=$(ls -U "$mnt" | wc -l)
t2=$(ms)
sleep 0.3
echo "zones:               $N"
echo "mount to last stat:  $(((t1 - t0) / 1000000)) ms"
echo "ls of $count names:  $(((t2 - t1) / 1000000)) ms"
grep -o "shared metadata [0-9]* bytes" "$WORK/shmfs.log" | sed 's/^/daemon log:          /'
for p in "$pid" $(bench_children "$pid"); do
	printf '%-12s pid %-7s %s\n' "$(cat /proc/$p/comm)" "$p" \
		"$(awk '/^(Pss_Anon|Private_Dirty):/ { printf "%s %s kB  ", $1, $2 }' /proc/$p/smaps_rollup)"
done
bench_stop_fuse "$mnt"
[[ $STOP_RC == 0 ]] || die "shmfs exited with status $STOP_RC"
