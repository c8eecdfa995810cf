#!/bin/bash
# SPDX-License-Identifier: MIT
#
# pool.sh -- the fork-pool: how many workers there are and what they are
# called, parallel writers and readers on one zone, and proof (from the
# workers' exit lines) that more than one worker served the load.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = info

[zone:data]
size = 4M

[zone:flag]
size = 4K
EOF

WRITERS=8
REGION=$((512 * 1024)) # each writer's share of the 4M zone

# Children of PID that are not shmfs-worker, as "pid:comm" words.
other_children() {
	local pid
	for pid in $(pgrep -P "$1" 2>/dev/null); do
		[[ $(pid_comm "$pid") == shmfs-worker ]] || echo "$pid:$(pid_comm "$pid")"
	done
	return 0
}

# exactly_n_workers MASTER N
exactly_n_workers() {
	local master=$1 n=$2
	wait_for_workers "$master" "$n"
	wait_for_idle_master "$master" # what it forks is forked then
	assert_eq "$n" "$(worker_pids "$master" | wc -l)" "shmfs-worker children"
	assert_eq "" "$(other_children "$master")" "other children of the master"
}

ini_workers_gives_that_many_worker_children() {
	exactly_n_workers "$DAEMON_PID" 2
}

master_is_named_shmfs_and_workers_shmfs_worker() {
	local w
	assert_eq shmfs "$(pid_comm "$DAEMON_PID")" "master's comm"
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_eq shmfs-worker "$(pid_comm "$w")" "comm of $w"
		assert_eq "$DAEMON_PID" "$(ps -o ppid= -p "$w" | xargs)" "parent of $w"
	done
}

parallel_writers_to_disjoint_regions_all_land() {
	local i pids=() src
	: >"$WORK/all"
	for ((i = 0; i < WRITERS; i++)); do
		head -c "$REGION" /dev/urandom >"$WORK/part$i"
		cat "$WORK/part$i" >>"$WORK/all"
	done
	truncate -s 0 "$MNT/data"
	for ((i = 0; i < WRITERS; i++)); do
		src=$WORK/part$i
		dd if="$src" of="$MNT/data" bs=4096 seek=$((i * REGION / 4096)) \
			conv=notrunc status=none &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "writer $i failed"
	done
	assert_eq "$((WRITERS * REGION))" "$(file_size "$MNT/data")" "size"
	for ((i = 0; i < WRITERS; i++)); do
		cmp <(dd if="$MNT/data" bs=4096 skip=$((i * REGION / 4096)) \
			count=$((REGION / 4096)) status=none) "$WORK/part$i" ||
			fail "region $i differs"
	done
	assert_eq "$(sha256sum <"$WORK/all")" "$(sha256sum <"$MNT/data")" "sha256"
}

parallel_readers_all_see_the_same_data() {
	local i pids=() want
	want=$(sha256sum <"$WORK/all")
	for ((i = 0; i < WRITERS; i++)); do
		(
			# Small reads, many requests.
			dd if="$MNT/data" bs=4096 status=none | sha256sum >"$WORK/read$i"
		) &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "reader $i failed"
	done
	for ((i = 0; i < WRITERS; i++)); do
		assert_eq "$want" "$(cat "$WORK/read$i")" "reader $i's sha256"
	done
}

many_small_parallel_writes_succeed() {
	local i pids=()
	for ((i = 0; i < WRITERS; i++)); do
		python3 - "$MNT/data" "$i" "$REGION" <<'PY' &
import os, sys
path, i, region = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(path, os.O_RDWR)
for k in range(300):
    data = bytes([i, k % 256]) * 256
    off = i * region + (k * 512) % region
    if os.pwrite(fd, data, off) != len(data):
        sys.exit("short write")
    if os.pread(fd, len(data), off) != data:
        sys.exit("writer %d: read back differs at %d" % (i, off))
PY
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "writer $i failed"
	done
}

a_write_is_visible_at_once_to_many_readers() {
	local i r pids
	for ((i = 0; i < 30; i++)); do
		printf 'value %d' "$i" >"$MNT/flag"
		pids=()
		for ((r = 0; r < 4; r++)); do
			cat "$MNT/flag" >"$WORK/flag$r" &
			pids+=($!)
		done
		for r in "${!pids[@]}"; do
			wait "${pids[$r]}" || fail "reader $r failed"
		done
		for ((r = 0; r < 4; r++)); do
			assert_eq "value $i" "$(cat "$WORK/flag$r")" "reader $r, round $i"
		done
	done
}


more_than_one_worker_served_requests() {
	local lines busy
	lines=$(grep -E 'worker [0-9]+ \(pid [0-9]+\) exiting: [0-9]+ requests served' \
		"$DAEMON_LOG") || fail "no worker exit lines in the log: $(cat "$DAEMON_LOG")"
	assert_eq 2 "$(wc -l <<<"$lines")" "worker exit lines"
	busy=$(sed -E 's/.*exiting: ([0-9]+) requests served.*/\1/' <<<"$lines" |
		awk '$1 > 0' | wc -l)
	((busy >= 2)) || fail "only $busy worker(s) served requests: $lines"
}

# w_overrides_the_ini_workers: -w 3 beats "workers = 2".
w_option_overrides_the_ini_workers() {
	local mnt=$WORK/mnt-w3
	start_daemon "$CONF" "$mnt" -w 3
	exactly_n_workers "$DAEMON_PID" 3
	stop_daemon "$mnt" "$DAEMON_PID"
}

cpu_affinity_pins_worker_i_to_the_ith_cpu_of_the_list() {
	local mnt=$WORK/mnt-aff conf=$WORK/aff.ini w
	printf '[shmfs]\nworkers = 3\ncpu_affinity = 0\n[zone:z]\nsize = 4K\n' >"$conf"
	start_daemon "$conf" "$mnt"
	exactly_n_workers "$DAEMON_PID" 3
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_eq 0 "$(taskset -pc "$w" | awk '{ print $NF }')" "CPUs of worker $w"
	done
	# Off by default: the workers run where the master may.
	assert_eq "$(taskset -pc "$DAEMON_PID" | awk '{ print $NF }')" \
		"$(taskset -pc $$ | awk '{ print $NF }')" "CPUs of the master"
	stop_daemon "$mnt" "$DAEMON_PID"
}

auto_workers_is_one_per_online_cpu() {
	local mnt=$WORK/mnt-auto conf=$WORK/auto.ini
	printf '[shmfs]\nworkers = auto\n[zone:z]\nsize = 4K\n' >"$conf"
	start_daemon "$conf" "$mnt"
	exactly_n_workers "$DAEMON_PID" "$(getconf _NPROCESSORS_ONLN)"
	stop_daemon "$mnt" "$DAEMON_PID"
}

mount_or_bail "$CONF" "$MNT"

run_test ini_workers_gives_that_many_worker_children
run_test master_is_named_shmfs_and_workers_shmfs_worker
run_test parallel_writers_to_disjoint_regions_all_land
run_test parallel_readers_all_see_the_same_data
run_test many_small_parallel_writes_succeed
run_test a_write_is_visible_at_once_to_many_readers
run_test_here unmount_stops_the_daemon_with_status_0
run_test more_than_one_worker_served_requests
run_test w_option_overrides_the_ini_workers
run_test auto_workers_is_one_per_online_cpu
run_test cpu_affinity_pins_worker_i_to_the_ith_cpu_of_the_list
run_test nothing_is_left_behind
finish
