#!/bin/bash
# SPDX-License-Identifier: MIT
#
# lifecycle.sh -- starting and stopping: -V, -h, bad usage, mount and
# allocation failures, SIGTERM/SIGINT/fusermount3 -u/umount, detaching, mount
# options, and that SysV zones leave nothing behind even after kill -9.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = warn

[zone:pub]
size = 4K
mode = 0644

[zone:priv]
size = 4K
EOF

SYSV_CONF=$WORK/sysv.ini
cat >"$SYSV_CONF" <<'EOF'
[shmfs]
workers   = 2
backend   = sysv
log_level = warn

[zone:one]
size = 64K

[zone:two]
size = 8K

[zone:three]
size = 1M
EOF

# The live master serving MNT (found by its command line).
master_of() {
	local pid
	for pid in $(pgrep -x shmfs); do
		pid_alive "$pid" || continue
		tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$1" && echo "$pid"
	done
	return 0
}

# ------------------------------------------------------------ options

version_prints_the_shmfs_and_libfuse_versions() {
	local flag
	for flag in -V --version; do
		run_shmfs "$flag"
		assert_eq 0 "$STATUS" "exit status of shmfs $flag"
		assert_match '[0-9]+\.[0-9]+\.[0-9]+' "$OUT" "shmfs $flag"
		assert_match '[Ff][Uu][Ss][Ee][^0-9]*3\.[0-9]+' "$OUT" "libfuse version"
	done
}

help_prints_usage_to_stdout() {
	local flag
	for flag in -h --help; do
		run_shmfs "$flag"
		assert_eq 0 "$STATUS" "exit status of shmfs $flag"
		assert_match '[Uu][Ss][Aa][Gg][Ee]' "$OUT" "stdout of shmfs $flag"
		assert_match '-c' "$OUT" "stdout of shmfs $flag"
		assert_eq "" "$ERR" "stderr of shmfs $flag"
	done
}

# bad_usage ARG...: exit 1, one line on stderr, nothing mounted or running.
bad_usage() {
	run_shmfs "$@"
	assert_eq 1 "$STATUS" "exit status of shmfs $*"
	assert_one_line "$ERR" "stderr of shmfs $*"
	assert_match '^shmfs' "$ERR" "stderr of shmfs $*"
	assert_not_mounted "$WORK/usage"
	assert_eq "" "$(our_pids)" "processes left by shmfs $*"
}

bad_usage_exits_1_with_one_line_on_stderr() {
	local mnt=$WORK/usage
	mkdir -p "$mnt"
	bad_usage -c "$CONF"
	bad_usage -f -c "$CONF"
	bad_usage -f -c "$CONF" --frobnicate "$mnt"
	bad_usage -f -c "$CONF" -Z "$mnt"
	bad_usage -f -c "$CONF" -w 0 "$mnt"
	bad_usage -f -c "$CONF" -w 999 "$mnt"
	bad_usage -f -c "$CONF" -w lots "$mnt"
	bad_usage -f -c "$CONF" -w
	bad_usage -f -c "$CONF" "$mnt" "$WORK/second"
}

nonexistent_mountpoint_exits_2_with_one_line_on_stderr() {
	run_shmfs -f -c "$CONF" "$WORK/nonexistent"
	assert_eq 2 "$STATUS" "exit status"
	assert_one_line "$ERR"
	assert_contains "$ERR" "$WORK/nonexistent" "stderr"
	assert_eq "" "$(our_pids)" "processes left"
}

# A zone the machine cannot map passes validation (<= 64T) but fails in
# the backend's call: exit 2, naming the call, the size and errno.
unallocatable_zone_exits_2_naming_the_call_size_and_errno() {
	local backend call conf=$WORK/huge.ini mnt=$WORK/huge
	if [[ $(cat /proc/sys/vm/overcommit_memory) == 1 ]]; then
		echo "# overcommit_memory = 1: a 60T mapping may succeed; skipped"
		return 0
	fi
	mkdir -p "$mnt"
	for backend in anon devzero sysv; do
		case $backend in
		sysv) call=shmget ;;
		*) call=mmap ;;
		esac
		printf '[shmfs]\nworkers = 1\n[zone:huge]\nsize = 60T\nbackend = %s\n' \
			"$backend" >"$conf"
		run_shmfs -f -c "$conf" "$mnt"
		assert_eq 2 "$STATUS" "exit status with a 60T $backend zone ($ERR)"
		assert_match "$call\\(.*65970697666560.*\\([0-9]+: [A-Za-z ]+\\)" "$ERR" \
			"stderr for a 60T $backend zone"
		assert_not_mounted "$mnt"
		assert_eq "" "$(our_pids)" "processes left"
	done
}

# ------------------------------------------------------------ stopping

# stop_with_signal SIGNAL
stop_with_signal() {
	local mnt=$WORK/mnt-$1 workers
	start_daemon "$CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	workers=$(worker_pids "$DAEMON_PID")
	kill "-$1" "$DAEMON_PID"
	expect_daemon_exit "$DAEMON_PID" 0 "$workers"
	assert_not_mounted "$mnt"
	assert_eq "" "$(our_pids)" "processes left"
}

sigterm_stops_the_daemon_cleanly() {
	stop_with_signal TERM
}

sigint_stops_the_daemon_cleanly() {
	stop_with_signal INT
}

fusermount_u_stops_the_daemon_cleanly() {
	local mnt=$WORK/mnt-fusermount
	start_daemon "$CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	stop_daemon "$mnt" "$DAEMON_PID"
	assert_eq "" "$(our_pids)" "processes left"
}

umount_from_outside_stops_the_daemon_cleanly() {
	local mnt=$WORK/mnt-umount workers
	start_daemon "$CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	workers=$(worker_pids "$DAEMON_PID")
	umount "$mnt"
	expect_daemon_exit "$DAEMON_PID" 0 "$workers"
	assert_not_mounted "$mnt"
	assert_eq "" "$(our_pids)" "processes left"
}

mount_shows_fuse_shmfs_with_default_permissions() {
	local mnt=$WORK/mnt-type
	start_daemon "$CONF" "$mnt"
	grep -q "^shmfs $mnt fuse.shmfs " /proc/mounts ||
		fail "no 'shmfs $mnt fuse.shmfs' in /proc/mounts: $(grep "$mnt" /proc/mounts)"
	mount | grep -q "^shmfs on $mnt type fuse.shmfs " ||
		fail "mount shows: $(mount | grep "$mnt")"
	assert_match '(^|,)default_permissions(,|$)' "$(mount_options "$mnt")" \
		"mount options"
	# Without allow_other only the mounting user gets in.
	assert_fails_with EACCES setpriv --reuid=65534 --regid=65534 \
		--clear-groups cat "$mnt/pub"
	stop_daemon "$mnt" "$DAEMON_PID"
}

allow_other_is_accepted_and_zone_modes_are_enforced() {
	local mnt=$WORK/mnt-allow
	chmod 0755 "$WORK" # let the other user reach the mount point
	start_daemon "$CONF" "$mnt" -o allow_other
	assert_match '(^|,)allow_other(,|$)' "$(mount_options "$mnt")" "mount options"
	printf 'public' >"$mnt/pub"
	printf 'secret' >"$mnt/priv"
	assert_eq public "$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		cat "$mnt/pub")" "nobody reading a 0644 zone"
	assert_fails_with EACCES setpriv --reuid=65534 --regid=65534 \
		--clear-groups cat "$mnt/priv"
	# shellcheck disable=SC2016 # $1 is the inner shell's
	assert_fails_with EACCES setpriv --reuid=65534 --regid=65534 \
		--clear-groups bash -c 'printf x >"$1"' _ "$mnt/pub"
	stop_daemon "$mnt" "$DAEMON_PID"
}

debug_flag_stays_in_the_foreground_and_logs() {
	local mnt=$WORK/mnt-debug pid
	spawn_daemon "$mnt" -d -c "$CONF"
	pid=$DAEMON_PID
	wait_mounted "$mnt" "$pid" "$DAEMON_LOG"
	pid_alive "$pid" || fail "shmfs -d did not stay in the foreground"
	cat "$mnt/pub" >/dev/null
	stop_daemon "$mnt" "$pid"
	[[ -s $DAEMON_LOG ]] || fail "shmfs -d logged nothing"
}

detached_mode_returns_0_once_the_mount_is_live() {
	local mnt=$WORK/mnt-detached conf=$WORK/detached.ini master workers fd
	mkdir -p "$mnt"
	sed "s|^log_level.*|log_level = info\nlog = $WORK/detached.log|" "$CONF" >"$conf"
	run_shmfs -c "$conf" "$mnt"
	assert_eq 0 "$STATUS" "exit status of the detaching command ($ERR)"
	assert_mounted "$mnt"
	assert_eq fuse.shmfs "$(mount_type "$mnt")" "type"
	master=$(master_of "$mnt")
	[[ -n $master ]] || fail "no shmfs process serves $mnt"
	assert_eq 1 "$(wc -w <<<"$master")" "masters serving $mnt ($master)"
	track_pid "$master"
	wait_for_workers "$master" 2
	workers=$(worker_pids "$master")
	# The daemon must not hold the caller's output open ($(shmfs ...) hangs).
	for fd in 1 2; do
		case $(readlink "/proc/$master/fd/$fd") in
		"$WORK/out" | "$WORK/err") fail "detached master keeps fd $fd open" ;;
		esac
	done
	printf 'detached' >"$mnt/pub"
	assert_eq detached "$(cat "$mnt/pub")" "read back"
	timeout "$DEADLINE" fusermount3 -u "$mnt"
	wait_gone "$master" || fail "detached master $master still running"
	for fd in $workers; do
		wait_gone "$fd" 2 || fail "worker $fd still running"
	done
	assert_not_mounted "$mnt"
	assert_eq "" "$(our_pids)" "processes left"
}

# ------------------------------------------------------------ SysV

# The SysV segments DAEMON_PID made, one id a line.
daemon_segments() {
	new_shm_segments | awk -v p="$1" '$2 == p { print $1 }'
}

sysv_zones_leave_no_segments_after_a_clean_stop() {
	local mnt=$WORK/mnt-sysv
	start_daemon "$SYSV_CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	(($(daemon_segments "$DAEMON_PID" | wc -l) >= 3)) ||
		fail "expected 3 segments from pid $DAEMON_PID: $(ipcs -m -p)"
	stop_daemon "$mnt" "$DAEMON_PID"
	assert_eq "" "$(new_shm_segments)" "segments left (id cpid)"
}

sysv_zones_leave_no_segments_after_kill_9_and_unmount() {
	local mnt=$WORK/mnt-sysv-kill workers w
	start_daemon "$SYSV_CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	workers=$(worker_pids "$DAEMON_PID")
	(($(daemon_segments "$DAEMON_PID" | wc -l) >= 3)) ||
		fail "expected 3 segments from pid $DAEMON_PID: $(ipcs -m -p)"
	printf 'before the kill' >"$mnt/one"
	kill -KILL "$DAEMON_PID"
	wait_child_exit "$DAEMON_PID" || fail "master survived SIGKILL"
	timeout "$DEADLINE" fusermount3 -u "$mnt" 2>/dev/null ||
		timeout "$DEADLINE" umount -l "$mnt"
	assert_not_mounted "$mnt"
	for w in $workers; do
		wait_gone "$w" || fail "worker $w still running ${DEADLINE}s after unmount"
	done
	assert_eq "" "$(our_pids)" "processes left"
	assert_eq "" "$(new_shm_segments)" "segments left (id cpid)"
}

run_test version_prints_the_shmfs_and_libfuse_versions
run_test help_prints_usage_to_stdout
run_test bad_usage_exits_1_with_one_line_on_stderr
run_test nonexistent_mountpoint_exits_2_with_one_line_on_stderr
run_test unallocatable_zone_exits_2_naming_the_call_size_and_errno
run_test sigterm_stops_the_daemon_cleanly
run_test sigint_stops_the_daemon_cleanly
run_test fusermount_u_stops_the_daemon_cleanly
run_test umount_from_outside_stops_the_daemon_cleanly
run_test mount_shows_fuse_shmfs_with_default_permissions
run_test allow_other_is_accepted_and_zone_modes_are_enforced
run_test debug_flag_stays_in_the_foreground_and_logs
run_test detached_mode_returns_0_once_the_mount_is_live
run_test sysv_zones_leave_no_segments_after_a_clean_stop
run_test sysv_zones_leave_no_segments_after_kill_9_and_unmount
run_test nothing_is_left_behind
finish
