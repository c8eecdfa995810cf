#!/bin/bash
# SPDX-License-Identifier: MIT
#
# workers.sh -- with the shipped configuration, no other user can touch the
# workers of root's daemon: they run as a user of their own (_shmfs), so
# nobody cannot stop, kill, renice, limit or pin them; a worker that root
# stops is noticed and continued at once, and the mount answers; the log
# file stays root's (neither nobody nor the workers' user can write or
# truncate it, and a file an older shmfs handed to the workers is taken
# back); the workers' lines reach it through the master, and after a
# rotation they land in the new file; "user =" naming a uid that running
# processes share is warned about, not refused.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

command -v setpriv >/dev/null || skip_or_fail "no setpriv (util-linux)"
getent passwd _shmfs >/dev/null ||
	skip_or_fail "no user _shmfs (scripts/build.sh creates it)"
SHMFS_UID=$(id -u _shmfs)
SHMFS_GID=$(id -g _shmfs)
chmod 0711 "$WORK" # nobody reaches the log files: only their modes stop it
SHIPPED=$SHMFS_SRCDIR/shmfs.ini

# The shipped file with a log file, a pid file and debug lines (workers
# log one when they start) for the log tests.
LOG=$WORK/shmfs.log
LOGCONF=$WORK/log.ini
sed "s|^\[shmfs\]|&\nlog = $LOG\npid = $WORK/shmfs.pid|; s|^log_level .*|log_level = debug|" \
	"$SHIPPED" >"$LOGCONF"
grep -q '^user *= *_shmfs' "$LOGCONF" || {
	echo "FAIL: $SHIPPED does not say user = _shmfs" >&2
	exit 1
}

# A process of nobody's, for the tests of a shared uid.
NOBODY_PID=""
extra_cleanup() {
	[[ -z $NOBODY_PID ]] || kill "$NOBODY_PID" 2>/dev/null || true
}

# status_field PID FIELD: a line of /proc/PID/status, tabs squeezed.
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' \
		"/proc/$1/status"
}

# runs_as PID UID: PID runs as UID now.
runs_as() {
	[[ $(status_field "$1" Uid 2>/dev/null) == "$2 "* ]]
}

# wait_uid PID UID: waits until PID runs as UID (setpriv switched).
wait_uid() {
	wait_until "$DEADLINE" runs_as "$1" "$2" ||
		fail "pid $1 never ran as uid $2"
}

# process_state PID: R, S, T (stopped) ...
process_state() {
	status_field "$1" State | cut -c1
}

# ------------------------------------------------------------ users

workers_run_as_shmfs_and_the_master_as_root() {
	local w n=0
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_eq "$SHMFS_UID $SHMFS_UID $SHMFS_UID $SHMFS_UID" \
			"$(status_field "$w" Uid)" "Uid of worker $w"
		assert_eq "$SHMFS_GID $SHMFS_GID $SHMFS_GID $SHMFS_GID" \
			"$(status_field "$w" Gid)" "Gid of worker $w"
		n=$((n + 1))
	done
	((n >= 1)) || fail "no worker"
	assert_eq "0 0 0 0" "$(status_field "$DAEMON_PID" Uid)" "Uid of the master"
}

nobody_cannot_stop_kill_renice_limit_or_pin_a_worker() {
	local w
	w=$(worker_pids "$DAEMON_PID")
	w=${w%%$'\n'*}
	assert_fails_with EPERM as_user nobody kill -STOP "$w"
	assert_fails_with EPERM as_user nobody kill -KILL "$w"
	assert_fails_with EPERM as_user nobody kill -TERM "$w"
	assert_fails_with EPERM as_user nobody renice -n 19 -p "$w"
	assert_fails_with EPERM as_user nobody prlimit --cpu=1 --pid "$w"
	assert_fails_with EPERM as_user nobody taskset -p 1 "$w"
	pid_alive "$w" || fail "worker $w is gone"
	assert_one_of "$(process_state "$w")" "R S D" "state of worker $w"
	assert_eq 0 "$(awk '{ print $19 }' "/proc/$w/stat")" "nice of $w"
}

# Every worker stopped at once: without the master, a read would hang for
# good (timeout 5 says so instead).
a_stopped_worker_is_noticed_continued_and_the_mount_answers() {
	local w workers t0 t1 n=0 stops snap
	workers=$(worker_pids "$DAEMON_PID")
	echo answered >"$MNT/cache"
	t0=${EPOCHREALTIME/./}
	for w in $workers; do
		kill -STOP "$w"
	done
	for w in $workers; do
		wait_for_line "$DAEMON_LOG" \
			"worker [0-9]+ \(pid $w\) stopped by signal 19: continued" 2
		n=$((n + 1))
	done
	t1=${EPOCHREALTIME/./}
	echo "$n workers stopped, all noticed in $(((t1 - t0) / 1000)) ms"
	(((t1 - t0) < 1000000)) ||
		fail "noticed after $(((t1 - t0) / 1000)) ms, not within a second"
	# /.stats is direct I/O: its open and reads reach a worker.
	snap=$(timeout 5 cat "$MNT/.stats") || fail "no answer from the mount"
	stops=$(awk '$1 == "stops" { print $2 }' <<<"$snap")
	assert_eq "$n" "$stops" "stops in /.stats"
	assert_eq answered "$(timeout 5 cat "$MNT/cache")" "a read after the stops"
	for w in $workers; do
		assert_eq 1 "$(grep -c "(pid $w) stopped" "$DAEMON_LOG")" \
			"lines about worker $w"
		assert_one_of "$(process_state "$w")" "R S D" "state of worker $w"
	done
}

# ------------------------------------------------------------ the log

the_log_is_roots_and_neither_nobody_nor_the_workers_user_can_write_it() {
	local who
	assert_eq "0 640" "$(stat -c '%u %a' "$LOG")" "owner and mode of the log"
	for who in nobody _shmfs; do
		assert_fails_with EACCES as_user "$who" sh -c 'echo forged >>"$1"' _ "$LOG"
		assert_fails_with EACCES as_user "$who" truncate -s 0 "$LOG"
	done
	! grep -q forged "$LOG" || fail "a forged line is in the log"
	[[ -s $LOG ]] || fail "the log was truncated"
}

a_log_rotated_with_shmfs_s_reopen_gets_the_workers_lines() {
	local old victim new
	old=$(worker_pids "$DAEMON_PID")
	mv "$LOG" "$LOG.1"
	"$SHMFS" -s reopen -c "$LOGCONF" || fail "shmfs -s reopen failed"
	wait_for_line "$LOG" 'notice: log reopened' || return 1
	# A worker started after the rotation writes to the new file...
	victim=$(head -n 1 <<<"$old")
	kill -KILL "$victim"
	wait_for_line "$LOG" "debug: worker [0-9]+ \(pid [0-9]+\) serving" || return 1
	new=$(sed -n 's/.* shmfs\[\([0-9]*\)\]: debug: worker .* serving.*/\1/p' "$LOG")
	[[ -n $new && $new != "$victim" ]] || fail "no line from a new worker: $new"
	assert_eq 0 "$(stat -c %u "$LOG")" "owner of the new log"
	# ... and so do the workers that were there before it, as they leave.
	stop_daemon "$MNT2" "$DAEMON_PID" || return 1
	for w in $old; do
		[[ $w == "$victim" ]] && continue
		grep -q "shmfs\[$w\]: info: worker [0-9]* (pid $w) exiting" "$LOG" ||
			fail "no exit line of worker $w in the new log: $(cat "$LOG")"
	done
	! grep -q exiting "$LOG.1" || fail "an exit line went to the old file"
	! grep -qE 'seccomp|dropped' "$LOG" "$LOG.1" ||
		fail "a worker broke its filter or lost lines: $(grep -E 'seccomp|dropped' "$LOG"*)"
}

# An older shmfs chowned its log to the workers' user: the master takes
# the file back at start.
a_log_file_another_user_owns_is_taken_back() {
	local log=$WORK/old.log conf=$WORK/old.ini mnt=$WORK/mnt-old
	echo "an older line" >"$log"
	chown nobody "$log"
	chmod 0666 "$log"
	sed "s|^log = .*|log = $log|; /^pid = /d" "$LOGCONF" >"$conf"
	start_daemon "$conf" "$mnt" || return 1
	assert_eq "0 640" "$(stat -c '%u %a' "$log")" "owner and mode now"
	wait_for_line "$log" "was owned by uid $(id -u nobody): taken back"
	assert_fails_with EACCES as_user nobody sh -c 'echo forged >>"$1"' _ "$log"
	grep -q "an older line" "$log" || fail "the old lines are gone"
	stop_daemon "$mnt" "$DAEMON_PID"
}

# With the master stopped nothing reads the pipe: once it is full, the
# workers' lines (libfuse's request trace, -d) are dropped and counted,
# and no request waits for the master.
a_full_log_pipe_drops_lines_and_blocks_no_request() {
	local conf=$WORK/drop.ini mnt=$WORK/mnt-drop log=$WORK/drop.log reader dropped
	printf '[shmfs]\nworkers = 1\nuser = _shmfs\nlog = %s\n[zone:d]\nsize = 1M\ncache = direct\n' \
		"$log" >"$conf"
	start_daemon "$conf" "$mnt" -d || return 1
	echo x >"$mnt/d"
	kill -STOP "$DAEMON_PID"
	# In the background: a read stuck in the kernel would outlive timeout(1).
	python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
worst, t0 = 0.0, time.monotonic()
for i in range(30000):
    t = time.monotonic()
    os.pread(fd, 1, 0)
    worst = max(worst, time.monotonic() - t)
print("%.0f ms for 30000 reads, the slowest %.1f ms" %
      ((time.monotonic() - t0) * 1000, worst * 1000))
' "$mnt/d" >"$WORK/drop.out" 2>&1 &
	reader=$!
	wait_gone "$reader" 30 ||
		fail "30000 reads did not end in 30 s with the master stopped"
	kill -CONT "$DAEMON_PID" # frees a stuck reader too
	wait "$reader" || fail "the reads failed: $(cat "$WORK/drop.out")"
	cat "$WORK/drop.out"
	# The worker's next line that gets through says how many were lost.
	dropped=$(timeout 5 awk '$1 == "log_dropped" { print $2 }' "$mnt/.stats")
	((dropped > 0)) || fail "log_dropped in /.stats: '$dropped'"
	echo "$dropped lines dropped"
	wait_for_line "$log" "warn: [0-9]+ log lines dropped: the pipe to the master was full"
	stop_daemon "$mnt" "$DAEMON_PID"
}

# ------------------------------------------------------------ shared uids

# user = nobody while a process of nobody's runs: -t and the start warn,
# naming the reason; neither refuses.
a_shared_uid_is_warned_about_by_t_and_the_start() {
	local conf=$WORK/nobody.ini mnt=$WORK/mnt-nobody out status=0
	sed 's/^user .*/user = nobody/' "$SHIPPED" >"$conf"
	# setpriv itself, not a subshell: $! becomes nobody's sleep.
	setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" \
		--clear-groups -- sleep 60 &
	NOBODY_PID=$!
	wait_uid "$NOBODY_PID" "$(id -u nobody)" || return 1
	out=$("$SHMFS" -t -c "$conf" 2>&1 >/dev/null) || status=$?
	assert_eq 0 "$status" "exit status of -t"
	assert_match "^shmfs: $conf:[0-9]+: user = nobody: uid $(id -u nobody) is shared with [0-9]+ running process(es)? \(e\.g\. pid [0-9]+ [^)]*\): they could stop, kill, renice or limit the workers; use a user of their own \(_shmfs\)$" \
		"$out" "-t's warning"
	start_daemon "$conf" "$mnt" || return 1
	wait_for_line "$DAEMON_LOG" "user = nobody: uid $(id -u nobody) is shared with"
	stop_daemon "$mnt" "$DAEMON_PID"
	kill "$NOBODY_PID"
	wait "$NOBODY_PID" 2>/dev/null || true
	NOBODY_PID=""
	# The shipped file: _shmfs is the workers' alone (theirs are skipped).
	out=$("$SHMFS" -t -c "$SHIPPED" 2>&1 >/dev/null) || fail "-t of shmfs.ini failed: $out"
	assert_eq "" "$out" "-t of shmfs.ini on stderr"
}

# Everything above ran through workers under their filter: none was denied.
no_worker_broke_its_filter() {
	! grep -q seccomp "$WORK"/*.log ||
		fail "a worker broke its filter: $(grep seccomp "$WORK"/*.log)"
}

MNT=$WORK/mnt
NWORKERS=$(getconf _NPROCESSORS_ONLN) # workers = auto, as shipped
mount_or_bail -w "$NWORKERS" "$SHIPPED" "$MNT" "shmfs.ini as shipped"
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG
run_test workers_run_as_shmfs_and_the_master_as_root
run_test nobody_cannot_stop_kill_renice_limit_or_pin_a_worker
run_test a_stopped_worker_is_noticed_continued_and_the_mount_answers

MNT2=$WORK/mnt-log
mount_or_bail -w "$NWORKERS" "$LOGCONF" "$MNT2" "with log = FILE"
run_test the_log_is_roots_and_neither_nobody_nor_the_workers_user_can_write_it
run_test_here a_log_rotated_with_shmfs_s_reopen_gets_the_workers_lines
run_test_here a_log_file_another_user_owns_is_taken_back
run_test_here a_full_log_pipe_drops_lines_and_blocks_no_request
run_test_here a_shared_uid_is_warned_about_by_t_and_the_start

DAEMON_PID=$MAIN_PID DAEMON_LOG=$MAIN_LOG
run_test no_worker_broke_its_filter
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
