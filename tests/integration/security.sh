#!/bin/bash
# SPDX-License-Identifier: MIT
#
# security.sh -- what an unprivileged user cannot make root's daemon do: no
# zone ever carries setuid or setgid and the mount is nosuid,nodev, in
# every cache mode; the pid file and the log are never written through a
# symbolic link or into another user's file; workers hold no capability,
# cannot gain one, run under a seccomp filter, and as "user =" if given.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

command -v setpriv >/dev/null || skip_or_fail "no setpriv (util-linux)"
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
mode      = 0777
log_level = info

[zone:page]
size  = 4M
cache = page

[zone:direct]
size  = 4M
cache = direct
EOF
MODES="page direct"

# as_nobody CMD...: runs CMD as nobody:nogroup with no other group.
as_nobody() {
	as_user nobody "$@"
}

# A directory nobody may write, where planted links live. (In a sticky
# world-writable one such as /tmp the kernel's protected_symlinks may refuse
# the link before shmfs sees it; here only shmfs stands in the way.)
PUBLIC=$WORK/public
mkdir -p "$PUBLIC"
chown nobody "$PUBLIC"
chmod 0755 "$PUBLIC"
chmod 0711 "$WORK" # nobody must reach $PUBLIC and the mount

# ------------------------------------------------------------ setuid

the_mount_is_nosuid_and_nodev() {
	local opts
	opts=$(mount_options "$MNT")
	assert_match '(^|,)nosuid(,|$)' "$opts" "mount options"
	assert_match '(^|,)nodev(,|$)' "$opts" "mount options"
}

chmod_never_sets_setuid_or_setgid_in_any_mode() {
	local z
	for z in $MODES; do
		chmod 06777 "$MNT/$z"
		assert_eq 777 "$(stat -c %a "$MNT/$z")" "mode of $z after chmod 06777"
		chmod u+s,g+s "$MNT/$z"
		assert_eq 777 "$(stat -c %a "$MNT/$z")" "mode of $z after chmod u+s,g+s"
	done
}

a_program_nobody_writes_into_a_zone_never_runs_as_root() {
	local z out
	for z in $MODES; do
		as_nobody sh -c "cat /usr/bin/id >'$MNT/$z'"
		chmod 06755 "$MNT/$z"
		chmod 0777 "$MNT/$z"
		out=$(as_nobody "$MNT/$z" -u) || fail "running the copy of id in $z failed"
		assert_eq "$NOBODY" "$out" "euid of id run from the $z zone"
		: >"$MNT/$z"
	done
}

suid_and_dev_mount_options_are_refused() {
	local opt status err
	for opt in suid dev; do
		status=0
		err=$(timeout "$DEADLINE" "$SHMFS" -f -c "$CONF" -o "$opt" \
			"$WORK/never" 2>&1) || status=$?
		assert_eq 1 "$status" "exit status with -o $opt"
		assert_contains "$err" "always mounts nosuid,nodev"
		assert_not_mounted "$WORK/never"
	done
}

# ------------------------------------------------------------ pid and log files

# refused_with CONF WHAT: the daemon must refuse to start (status 1, one
# line naming WHAT) and mount nothing.
refused_with() {
	local conf=$1 what=$2 status=0 err
	mkdir -p "$WORK/never"
	err=$(timeout "$DEADLINE" "$SHMFS" -f -c "$conf" "$WORK/never" 2>&1) ||
		status=$?
	assert_eq 1 "$status" "exit status"
	assert_one_line "$err"
	assert_contains "$err" "$what"
	assert_not_mounted "$WORK/never"
}

# with_key KEY VALUE: $CONF with "KEY = VALUE" in [shmfs], as a new file.
with_key() {
	local conf=$WORK/$1.ini
	sed "s|^\[shmfs\]|&\n$1 = $2|" "$CONF" >"$conf"
	echo "$conf"
}

a_pid_file_planted_as_a_symlink_is_refused_and_its_target_kept() {
	local victim=$WORK/victim conf
	echo precious >"$victim"
	as_nobody ln -s "$victim" "$PUBLIC/shmfs.pid"
	conf=$(with_key pid "$PUBLIC/shmfs.pid")
	refused_with "$conf" "is a symbolic link"
	assert_eq precious "$(cat "$victim")" "the link's target"
	# shmfs -s does not read through it either.
	local status=0
	"$SHMFS" -s stop -c "$conf" 2>/dev/null || status=$?
	assert_eq 1 "$status" "shmfs -s through a planted link"
	rm -f "$PUBLIC/shmfs.pid"
}

a_pid_file_of_another_user_is_refused_and_kept() {
	local conf
	as_nobody sh -c "echo 1 >'$PUBLIC/other.pid'"
	conf=$(with_key pid "$PUBLIC/other.pid")
	refused_with "$conf" "owned by another user"
	assert_eq 1 "$(cat "$PUBLIC/other.pid")" "the other user's file"
	rm -f "$PUBLIC/other.pid"
}

a_log_file_planted_as_a_symlink_is_refused_and_its_target_kept() {
	local victim=$WORK/victim-log conf
	echo precious >"$victim"
	as_nobody ln -s "$victim" "$PUBLIC/shmfs.log"
	conf=$(with_key log "$PUBLIC/shmfs.log")
	refused_with "$conf" "is a symbolic link"
	assert_eq precious "$(cat "$victim")" "the link's target"
	rm -f "$PUBLIC/shmfs.log"
}

a_log_path_that_is_not_a_regular_file_is_refused() {
	local conf
	mkfifo "$PUBLIC/fifo.log"
	conf=$(with_key log "$PUBLIC/fifo.log")
	refused_with "$conf" "is not a regular file"
	rm -f "$PUBLIC/fifo.log"
}

# ------------------------------------------------------------ workers

# status_field PID FIELD: a line of /proc/PID/status, tabs squeezed.
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' \
		"/proc/$1/status"
}

# assert_confined PID UID: no capability, no new privileges, seccomp on.
assert_confined() {
	local pid=$1 uid=$2
	assert_eq 0000000000000000 "$(status_field "$pid" CapEff)" "CapEff of $pid"
	assert_eq 0000000000000000 "$(status_field "$pid" CapPrm)" "CapPrm of $pid"
	assert_eq 0000000000000000 "$(status_field "$pid" CapBnd)" "CapBnd of $pid"
	assert_eq 1 "$(status_field "$pid" NoNewPrivs)" "NoNewPrivs of $pid"
	assert_eq 2 "$(status_field "$pid" Seccomp)" "Seccomp (filter) of $pid"
	assert_eq "$uid $uid $uid $uid" "$(status_field "$pid" Uid)" "Uid of $pid"
}

workers_hold_no_capability_and_run_under_seccomp() {
	local w n=0
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_confined "$w" 0
		n=$((n + 1))
	done
	assert_eq 2 "$n" "workers checked"
	# The master keeps what it needs to mount and reload.
	assert_eq 0 "$(status_field "$DAEMON_PID" Seccomp)" "Seccomp of the master"
}

with_user_workers_run_as_that_user_and_serve() {
	local conf mnt=$WORK/mnt-user pid w n=0
	conf=$(with_key user nobody)
	sed -i "s|^\[shmfs\]|&\nlog = $WORK/user.log|" "$conf"
	start_daemon "$conf" "$mnt"
	pid=$DAEMON_PID
	wait_for_workers "$pid" 2
	for w in $(worker_pids "$pid"); do
		assert_confined "$w" "$NOBODY"
		assert_eq "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" \
			"$(status_field "$w" Gid)" "Gid of worker $w"
		assert_eq "$NOGROUP" "$(status_field "$w" Groups)" "Groups of $w"
		n=$((n + 1))
	done
	assert_eq 2 "$n" "workers checked"
	assert_eq "0 0 0 0" "$(status_field "$pid" Uid)" "Uid of the master"
	# Root's zone, mode 0600: the kernel checks the caller, not the worker.
	chmod 0600 "$mnt/page"
	echo secret >"$mnt/page"
	assert_eq secret "$(cat "$mnt/page")" "root reads its 0600 zone"
	as_nobody cat "$mnt/page" >/dev/null 2>&1 && fail "nobody read a 0600 zone"
	chown 1:1 "$mnt/direct"
	assert_eq "1 1" "$(stat -c '%u %g' "$mnt/direct")" "owner after chown"
	# The log stays root's; the workers' lines reach the reopened one.
	assert_eq 0 "$(stat -c %u "$WORK/user.log")" "owner of the log"
	mv "$WORK/user.log" "$WORK/user.log.1"
	kill -USR1 "$pid"
	wait_for_line "$WORK/user.log" "log reopened"
	assert_eq 0 "$(stat -c %u "$WORK/user.log")" "owner of the new log"
	stop_daemon "$mnt" "$pid"
	assert_eq 2 "$(grep -c "requests served" "$WORK/user.log")" \
		"workers' exit lines in the reopened log"
	! grep -q seccomp "$WORK/user.log" "$WORK/user.log.1" ||
		fail "a worker broke its filter: $(grep seccomp "$WORK/user.log"*)"
}

# Everything above ran through workers under their filter: none was denied.
no_worker_broke_its_filter() {
	! grep -q seccomp "$DAEMON_LOG" ||
		fail "a worker broke its filter: $(grep seccomp "$DAEMON_LOG")"
}

mount_or_bail -w 2 "$CONF" "$MNT" "-o allow_other" -o allow_other

run_test the_mount_is_nosuid_and_nodev
run_test chmod_never_sets_setuid_or_setgid_in_any_mode
run_test a_program_nobody_writes_into_a_zone_never_runs_as_root
run_test suid_and_dev_mount_options_are_refused
run_test a_pid_file_planted_as_a_symlink_is_refused_and_its_target_kept
run_test a_pid_file_of_another_user_is_refused_and_kept
run_test a_log_file_planted_as_a_symlink_is_refused_and_its_target_kept
run_test a_log_path_that_is_not_a_regular_file_is_refused
run_test workers_hold_no_capability_and_run_under_seccomp
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG
run_test_here with_user_workers_run_as_that_user_and_serve
DAEMON_PID=$MAIN_PID DAEMON_LOG=$MAIN_LOG
run_test no_worker_broke_its_filter
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
