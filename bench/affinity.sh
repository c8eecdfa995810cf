#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/affinity.sh [ROUNDS]: does cpu_affinity help? 4 KiB random direct
# reads (fio psync, 3 s) from 1 and 2 processes, with the workers unpinned
# (cpu_affinity = off) and pinned (auto: worker i on CPU i), alternating,
# ROUNDS times (default 3); prints the median IOPS of each. fio itself is
# never pinned. Leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${1:-3}
bench_need_root
bench_apt fio fio
bench_need python3
bench_init affinity
mnt=$WORK/mnt

run() { # AFFINITY JOBS: sets IOPS
	printf '[shmfs]\nworkers = 2\ncpu_affinity = %s\n[zone:d]\nsize = 128M\ncache = direct\n' \
		"$1" >"$WORK/shmfs.ini"
	bench_start_shmfs "$mnt" "$WORK/shmfs.ini"
	dd if=/dev/zero of="$mnt/d" bs=1M count=64 status=none
	IOPS=$(fio --name=r --filename="$mnt/d" --size=64M --rw=randread --bs=4k \
		--ioengine=psync --runtime=3 --time_based --numjobs="$2" \
		--group_reporting --invalidate=0 --create_on_open=0 \
		--allow_file_create=0 --fallocate=none --file_append=0 \
		--output-format=json 2>/dev/null |
		python3 -c 'import json, sys; print(int(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))')
	bench_stop_fuse "$mnt"
	[[ $STOP_RC == 0 ]] || die "shmfs exited with status $STOP_RC"
}

declare -A res
for ((r = 0; r < ROUNDS; r++)); do
	for a in off auto; do
		for j in 1 2; do
			run "$a" "$j"
			res[$a.$j]+="$IOPS "
		done
	done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "cpu_affinity  1 process  2 processes   (median IOPS of $ROUNDS rounds; $(nproc) CPUs)"
for a in off auto; do
	printf '%-12s  %9s  %11s\n' "$a" "$(median "${res[$a.1]}")" "$(median "${res[$a.2]}")"
done
