#!/bin/bash
# SPDX-License-Identifier: MIT
#
# supervision.sh -- the master keeps the pool whole and answers to signals:
# a killed worker is logged with its status and replaced within a second;
# killing random workers under parallel load leaves no caller waiting more
# than a second and no byte lost; the pid file and "shmfs -s"; SIGUSR1
# reopens the log; a master killed outright takes its workers with it.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<EOF
[shmfs]
workers   = 2
log_level = info
pid       = $WORK/shmfs.pid

[zone:data]
size  = 4M
cache = direct

[zone:cached]
size = 1M
EOF

# The log lines of the daemon that match a pattern, counted.
log_count() {
	grep -c -- "$1" "$DAEMON_LOG" || true
}

# workers_besides PID: the daemon's workers other than PID, counted.
workers_besides() {
	worker_pids "$DAEMON_PID" | grep -cvx "$1" || true
}

has_workers_besides() {
	(($(workers_besides "$1") == $2))
}

a_killed_worker_is_logged_and_replaced_within_a_second() {
	local victim
	wait_for_workers "$DAEMON_PID" 2
	victim=$(worker_pids "$DAEMON_PID" | head -n 1)
	kill -KILL "$victim"
	wait_until 1 has_workers_besides "$victim" 2
	assert_eq 2 "$(workers_besides "$victim")" "workers 1 s after the kill"
	assert_eq 1 "$(log_count "(pid $victim) killed by signal 9")" "log line"
	track_pid $(worker_pids "$DAEMON_PID")
	echo pool | dd of="$MNT/data" conv=notrunc status=none
	assert_eq pool "$(head -c 4 "$MNT/data")" "served after the respawn"
}

a_worker_that_keeps_dying_is_restarted_at_most_once_a_second() {
	local w before after start elapsed most
	before=$(log_count "killed by signal 9")
	# Kill whatever serves, as soon as it appears, for 2.5 s.
	start=${EPOCHREALTIME/./}
	while ((${EPOCHREALTIME/./} - start < 2500000)); do
		for w in $(worker_pids "$DAEMON_PID"); do
			kill -KILL "$w" 2>/dev/null || true
		done
		sleep 0.02 # the pace of the attack, which the test is about
	done
	elapsed=$(((${EPOCHREALTIME/./} - start + 999999) / 1000000))
	after=$(log_count "killed by signal 9")
	# Per slot: two quick deaths are replaced at once, then one start a
	# second at most: 3 + elapsed seconds, over 2 slots. A ring pool
	# (a queue without its worker stalls its CPU's callers) backs off
	# from 10 ms, doubling to 250 ms: five more starts, then four a
	# second.
	most=$((2 * (3 + elapsed)))
	[[ ${SHMFS_TRANSPORT:-} != uring ]] || most=$((2 * (8 + 4 * elapsed)))
	(((after - before) <= most)) ||
		fail "$((after - before)) workers died in ${elapsed} s: restarted" \
			"faster than once a second (at most $most)"
	(((after - before) >= 4)) || fail "only $((after - before)) deaths"
	wait_for_workers "$DAEMON_PID" 2
	track_pid $(worker_pids "$DAEMON_PID")
	assert_eq ok "$(fsop truncate "$MNT/data" 0)" "served again"
	echo "$((after - before)) deaths in ${elapsed} s (at most $most)"
}

# Writers fill their own 256 KiB regions of data with a pattern per round;
# the test kills a random worker every 200-300 ms for 4 s. A request that a
# dead worker held is resent once the other workers stopped (the kernel
# here has FUSE_NOTIFY_RESEND): no call fails, none may take over 1 s, and
# each region must end as its writer's last round, whole.
killing_random_workers_under_load_loses_nothing_and_hangs_no_one() {
	local load status=0
	python3 - "$MNT/data" "$WORK/load.out" <<'PY' &
import errno, os, sys, time
path, out = sys.argv[1], sys.argv[2]
REGION, WRITERS, READERS, SECONDS = 256 * 1024, 4, 2, 4.5
worst, failed = 0.0, 0
def timed(fn):
    global worst, failed
    while True:
        t = time.monotonic()
        try:
            r = fn()
        except OSError as e:
            if e.errno not in (errno.ECONNABORTED, errno.EIO):
                raise
            failed += 1
            r = None
        worst = max(worst, time.monotonic() - t)
        if r is not None:
            return r
def writer(n):
    fd = os.open(path, os.O_WRONLY)
    rounds, end = 0, time.monotonic() + SECONDS
    while time.monotonic() < end:
        rounds += 1
        data = bytes([(n * 31 + rounds) % 251 + 1]) * REGION
        timed(lambda: os.pwrite(fd, data, n * REGION) == REGION or None)
    return rounds
def reader(n):
    fd = os.open(path, os.O_RDONLY)
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        timed(lambda: os.pread(fd, 4096, (n % WRITERS) * REGION + 8192))
    return 0
procs = []
for i in range(WRITERS + READERS):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = writer(i) if i < WRITERS else reader(i)
        os.write(w, b"%d %.3f %d" % (res, worst, failed))
        os._exit(0)
    os.close(w)
    procs.append((i, pid, r))
with open(out, "w") as f:
    for i, pid, r in procs:
        res = os.read(r, 100).decode()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not res:
            sys.exit("load process %d failed (status %d)" % (i, status))
        f.write("%d %s\n" % (i, res))
PY
	load=$!
	local end=$((SECONDS + 4)) killed=0 victims
	while ((SECONDS < end)); do
		sleep "0.2$((RANDOM % 10))" # the pace of the kills: the test's own
		victims=($(worker_pids "$DAEMON_PID"))
		((${#victims[@]} > 0)) || continue
		if kill -KILL "${victims[RANDOM % ${#victims[@]}]}" 2>/dev/null; then
			killed=$((killed + 1))
		fi
	done
	timeout 30 tail --pid="$load" -f /dev/null || fail "the load did not finish"
	wait "$load" || status=$?
	assert_eq 0 "$status" "load generator"
	echo "killed $killed workers"
	((killed >= 6)) || fail "only $killed workers killed"
	wait_for_workers "$DAEMON_PID" 2
	track_pid $(worker_pids "$DAEMON_PID")
	# writer/reader, rounds, worst wait in seconds, calls that failed
	cat "$WORK/load.out"
	awk '$3 > 1.0 { bad = 1; print "process " $1 " waited " $3 " s" }
		END { exit bad }' "$WORK/load.out" || fail "a caller waited over 1 s"
	awk '$4 > 0 { bad = 1; print "process " $1 ": " $4 " calls failed" }
		END { exit bad }' "$WORK/load.out" ||
		fail "a call failed (a dead worker's requests are resent)"
	python3 - "$MNT/data" "$WORK/load.out" <<'PY'
import sys
path, out = sys.argv[1], sys.argv[2]
REGION = 256 * 1024
data = open(path, "rb").read()
for line in open(out):
    i, rounds = line.split()[:2]
    i, rounds = int(i), int(rounds)
    if i >= 4:
        continue
    want = bytes([(i * 31 + rounds) % 251 + 1]) * REGION
    if data[i * REGION:(i + 1) * REGION] != want:
        sys.exit("region %d is not its writer's last round %d" % (i, rounds))
PY
}

pid_file_names_the_master_and_a_second_daemon_is_refused() {
	local err status=0
	assert_eq "$DAEMON_PID" "$(cat "$WORK/shmfs.pid")" "pid file"
	mkdir -p "$WORK/mnt2"
	err=$("$SHMFS" -f -c "$CONF" "$WORK/mnt2" 2>&1) || status=$?
	assert_eq 1 "$status" "second daemon's exit status"
	assert_one_line "$err"
	assert_contains "$err" "held by pid $DAEMON_PID"
	assert_not_mounted "$WORK/mnt2"
}

signal_reopen_reopens_the_log_of_master_and_workers() {
	local conf=$WORK/logged.ini mnt=$WORK/mnt-log pid
	sed "s|^log_level.*|&\nlog = $WORK/shmfs.log|; s|^pid .*|pid = $WORK/logged.pid|" \
		"$CONF" >"$conf"
	start_daemon "$conf" "$mnt"
	pid=$DAEMON_PID
	wait_for_workers "$pid" 2
	mv "$WORK/shmfs.log" "$WORK/shmfs.log.1"
	"$SHMFS" -s reopen -c "$conf"
	wait_for_line "$WORK/shmfs.log" "log reopened"
	stop_daemon "$mnt" "$pid"
	assert_eq 2 "$(grep -c "requests served" "$WORK/shmfs.log")" \
		"workers' exit lines in the reopened log"
	[[ ! -e $WORK/logged.pid ]] || fail "pid file left after the stop"
}

signal_stop_stops_the_daemon_cleanly() {
	local workers err status=0
	workers=$(worker_pids "$DAEMON_PID")
	"$SHMFS" -s stop -c "$CONF"
	expect_daemon_exit "$DAEMON_PID" 0 "$workers"
	assert_not_mounted "$MNT"
	[[ ! -e $WORK/shmfs.pid ]] || fail "pid file left after the stop"
	err=$("$SHMFS" -s stop -c "$CONF" 2>&1) || status=$?
	assert_eq 1 "$status" "-s stop with no master"
	assert_one_line "$err"
}

a_master_killed_outright_takes_its_workers_with_it() {
	local conf=$WORK/orphan.ini mnt=$WORK/mnt-orphan workers w status=0
	sed "s|^pid .*|pid = $WORK/orphan.pid|" "$CONF" >"$conf"
	start_daemon "$conf" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	workers=$(worker_pids "$DAEMON_PID")
	kill -KILL "$DAEMON_PID"
	wait_child_exit "$DAEMON_PID" || fail "master survived SIGKILL"
	for w in $workers; do
		wait_gone "$w" 2 || fail "worker $w serves on without its master"
	done
	# The connection is gone: the mount answers at once, with an error.
	timeout 2 stat "$mnt/data" >/dev/null 2>&1 || status=$?
	((status != 124)) || fail "stat hung on a mount without a daemon"
	((status != 0)) || fail "stat succeeded on a mount without a daemon"
	force_unmount "$mnt"
	assert_not_mounted "$mnt"
}

mount_or_bail "$CONF" "$MNT"

run_test_here a_killed_worker_is_logged_and_replaced_within_a_second
run_test_here a_worker_that_keeps_dying_is_restarted_at_most_once_a_second
run_test_here killing_random_workers_under_load_loses_nothing_and_hangs_no_one
run_test_here pid_file_names_the_master_and_a_second_daemon_is_refused
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG
run_test_here signal_reopen_reopens_the_log_of_master_and_workers
DAEMON_PID=$MAIN_PID DAEMON_LOG=$MAIN_LOG
run_test_here signal_stop_stops_the_daemon_cleanly
run_test_here a_master_killed_outright_takes_its_workers_with_it
run_test nothing_is_left_behind
finish
