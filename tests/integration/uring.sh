#!/bin/bash
# SPDX-License-Identifier: MIT
#
# uring.sh -- FUSE over io_uring (issue 17), with the fuse module's
# enable_uring turned on for the script (lib.sh with_uring): one worker
# pinned per possible CPU; the transport in shmfs -t, /.stats, /.metrics
# and shmfs status; io_uring = auto falls back with one line that names
# the cause, io_uring = on refuses; and the promise beyond /dev/fuse's: 10
# SIGKILLs of random workers under two fio random-read jobs and a
# verifying writer fail no read, and the data verifies.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
export SHMFS_TRANSPORT=uring
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup
require_helper "$VERIFY"
command -v fio >/dev/null || skip_or_fail "no fio (scripts/deps.sh --test)"

CPUS=$(($(cut -d- -f2 /sys/devices/system/cpu/possible) + 1))
MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<EOF
[shmfs]
log_level = info

[zone:d]
size  = 32M
cache = direct

[zone:p]
size = 4M
EOF

stat_value() { # NAME: its value in a fresh /.stats
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.stats"
}

the_pool_is_one_pinned_worker_per_cpu() {
	local w cpus=()
	wait_for_workers "$DAEMON_PID" "$CPUS"
	for w in $(worker_pids "$DAEMON_PID"); do
		cpus+=("$(taskset -pc "$w" | awk '{ print $NF }')")
	done
	assert_eq "$(seq 0 $((CPUS - 1)) | xargs)" \
		"$(printf '%s\n' "${cpus[@]}" | sort -n | xargs)" "the workers' CPUs"
	wait_for_line "$DAEMON_LOG" "io_uring: serving $CPUS queues"
}

the_transport_shows_everywhere() {
	run_shmfs -t -c "$CONF"
	assert_eq 0 "$STATUS" "shmfs -t"
	assert_match "transport io_uring \($CPUS queues, one worker pinned to each CPU\)$" \
		"$(tail -n 1 <<<"$OUT")" "shmfs -t"
	assert_eq io_uring "$(stat_value transport)" "/.stats"
	grep -qx 'shmfs_transport_info{transport="io_uring"} 1' "$MNT/.metrics" ||
		fail "/.metrics: $(grep transport "$MNT/.metrics")"
	run_shmfs status "$MNT"
	assert_contains "$OUT" "served through io_uring" "shmfs status"
	run_shmfs status --json "$MNT"
	assert_contains "$OUT" '"transport": "io_uring"' "shmfs status --json"
}

# A worker count the kernel's rule does not allow: auto says why, on
# refuses to start.
workers_that_do_not_fit_fall_back_or_refuse() {
	local conf=$WORK/one.ini mnt=$WORK/one
	local main=$DAEMON_PID main_log=$DAEMON_LOG
	printf '[shmfs]\nlog_level = info\nworkers = %s\n[zone:a]\nsize = 4K\n' $((CPUS + 1)) >"$conf"
	SHMFS_TRANSPORT= start_daemon "$conf" "$mnt"
	wait_for_line "$DAEMON_LOG" "io_uring: not used: workers = $((CPUS + 1)), and rings need one worker per possible CPU"
	assert_eq /dev/fuse "$(awk '$1 == "transport" { print $2 }' "$mnt/.stats")" \
		"the fallback's transport"
	stop_daemon "$mnt" "$DAEMON_PID"
	DAEMON_PID=$main DAEMON_LOG=$main_log
	printf '[shmfs]\nworkers = %s\nio_uring = on\n[zone:a]\nsize = 4K\n' \
		$((CPUS + 1)) >"$conf"
	mkdir -p "$WORK/on"
	run_shmfs -f -c "$conf" "$WORK/on"
	assert_eq 1 "$STATUS" "io_uring = on with workers = $((CPUS + 1))"
	assert_contains "$ERR" "io_uring = on: workers = $((CPUS + 1))" "its line"
	assert_not_mounted "$WORK/on"
}

io_uring_off_serves_dev_fuse() {
	local conf=$WORK/off.ini mnt=$WORK/off
	local main=$DAEMON_PID main_log=$DAEMON_LOG
	printf '[shmfs]\nio_uring = off\n[zone:a]\nsize = 4K\n' >"$conf"
	SHMFS_TRANSPORT= start_daemon "$conf" "$mnt"
	assert_eq /dev/fuse "$(awk '$1 == "transport" { print $2 }' "$mnt/.stats")"
	! grep -q "io_uring:" "$DAEMON_LOG" || fail "off is not silent"
	stop_daemon "$mnt" "$DAEMON_PID"
	DAEMON_PID=$main DAEMON_LOG=$main_log
}

# The kill test of the issue: fio reads d at random from two jobs while
# verify writes and checks p and the tail of d; ten workers are killed,
# one every 1.2 s (a slot killed twice within a second of its start is
# refilled only a second later: pool.c). No read fails, nothing hangs,
# every byte verifies, the pool is whole.
ten_sigkills_under_fio_and_a_verifying_writer_fail_no_read() {
	local fio_pid verify_pid i victim summary
	# d's first 16 MiB: fio's verify pattern; p: verify's. (fio would
	# unlink a file shorter than its size to lay it out.)
	head -c 16M /dev/zero | dd of="$MNT/d" bs=1M status=none ||
		fail "d's first bytes"
	fio --name=fill --filename="$MNT/d" --rw=write --bs=64k --size=16M \
		--verify=crc32c --do_verify=0 --ioengine=psync \
		--output="$WORK/fill.out" || fail "fio fill: $(cat "$WORK/fill.out")"
	fio --name=readers --filename="$MNT/d" --rw=randread --bs=4k \
		--size=16M --numjobs=2 --time_based --runtime=16 \
		--ioengine=psync --direct=1 --group_reporting \
		--output="$WORK/fio.out" &
	fio_pid=$!
	"$VERIFY" -t 16 -p 2 -b 256 "$MNT/p" >"$WORK/verify.out" 2>&1 &
	verify_pid=$!
	for ((i = 0; i < 10; i++)); do
		sleep 1.2
		victim=$(worker_pids "$DAEMON_PID" | shuf -n 1)
		kill -KILL "$victim"
	done
	wait_child_exit "$fio_pid" 30 || fail "fio did not finish"
	assert_eq 0 "$EXIT_STATUS" "fio's status: $(cat "$WORK/fio.out")"
	grep -q "err= 0" "$WORK/fio.out" || fail "fio: $(cat "$WORK/fio.out")"
	wait_child_exit "$verify_pid" 30 || fail "verify did not finish"
	summary=$(tail -n 1 "$WORK/verify.out")
	assert_eq 0 "$EXIT_STATUS" "verify: $(cat "$WORK/verify.out")"
	assert_match "errors=0 enotconn=0 econnaborted=0 wrong=0 mmap_wrong=0 " \
		"$summary" "verify's summary"
	echo "fio: $(grep -o 'IOPS=[^,]*' "$WORK/fio.out"); verify: $summary"
	assert_eq 10 "$(grep -c 'killed by signal 9' "$DAEMON_LOG")" "deaths logged"
	wait_for_workers "$DAEMON_PID" "$CPUS"
	track_pid $(worker_pids "$DAEMON_PID")
	fio --name=fill --filename="$MNT/d" --rw=write --bs=64k --size=16M \
		--verify=crc32c --verify_only --ioengine=psync \
		--output="$WORK/check.out" ||
		fail "d's bytes: $(cat "$WORK/check.out")"
}

mount_or_bail "$CONF" "$MNT"
run_test_here the_pool_is_one_pinned_worker_per_cpu
run_test_here the_transport_shows_everywhere
run_test_here ten_sigkills_under_fio_and_a_verifying_writer_fail_no_read
run_test_here workers_that_do_not_fit_fall_back_or_refuse
run_test_here io_uring_off_serves_dev_fuse
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
