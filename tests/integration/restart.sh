#!/bin/bash
# SPDX-License-Identifier: MIT
#
# restart.sh -- restart without loss (issue 16): under $KEEPER, a stand-in
# for systemd's service manager and its fd store, ten SIGKILLs of the master
# under a verifying load ($VERIFY) on a zone of every kind lose no byte and
# give no client an error, only a pause; "shmfs -s upgrade" keeps the master
# pid and replaces the workers under the same load; -o auto_unmount is
# refused under a store; a stored connection that was aborted is not
# adopted, and the mount comes back fresh.
#
# What the tests assume of the daemon's log (stderr with -f):
#   "shmfs: upgraded: ..." (a notice) once an upgrade is done;
#   a line containing "not adopted" when a store is refused;
#   with -o auto_unmount under a store: exit status 1, one line naming
#   auto_unmount.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${KEEPER:=$SHMFS_SRCDIR/build/tests/integration/keeper}"
: "${VERIFY:=$SHMFS_SRCDIR/build/tests/integration/verify}"
require_helper "$KEEPER" "$VERIFY"

setup

TEST_TIMEOUT=${TEST_TIMEOUT_RESTART:-120} # a failed test waits for the load
KILLS=${KILLS:-10}
CONF=$WORK/shmfs.ini
POSIX=/shmfs-restart-${WORK##*.} # a name as unique as $WORK
ZONES=(anon devzero sysv memfd passthrough posix) # the first is mmapped

# Helpers (keepers, loads) this script started: stopped by pid, whatever
# happened, before lib.sh's cleanup unmounts and stops the daemons.
extra_cleanup() {
	stop_helpers
	rm -f "/dev/shm$POSIX"
}

stop_helpers() {
	local pid
	# shellcheck disable=SC2013 # one pid a line
	for pid in $(cat "$WORK/.helpers" 2>/dev/null); do
		pid_alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid" "$DEADLINE" || kill -KILL "$pid" 2>/dev/null
		wait_gone "$pid" 5 || true
	done
	: >"$WORK/.helpers"
}

cat >"$CONF" <<EOF
[shmfs]
workers   = 2
mode      = 0666
log_level = info

[zone:anon]
backend = anon
size    = 1M

[zone:devzero]
backend = devzero
size    = 1M

[zone:sysv]
backend = sysv
size    = 1M

[zone:memfd]
backend = memfd
size    = 1M

[zone:passthrough]
backend = memfd
cache   = passthrough
size    = 1M

[zone:posix]
backend = posix
name    = $POSIX
size    = 1M
EOF

# ---------------------------------------------------------------- helpers

# Each test starts from nothing: a test that failed may have left its
# posix object (a killed master does), which would be another test's
# leftover to adopt or trip on.
fresh_start() {
	trap stop_helpers EXIT # run_test's subshell, failed or not
	rm -f "/dev/shm$POSIX"
}

# start_keeper DIR [KEEPER OPTION...] -- COMMAND...: the keeper in DIR, its
# events in DIR/events, the daemon's output in DIR/daemon.log. Sets
# KEEPER_PID, EVENTS and DAEMON_LOG.
start_keeper() {
	local dir=$1
	shift
	mkdir -p "$dir"
	EVENTS=$dir/events DAEMON_LOG=$dir/daemon.log
	"$KEEPER" -d "$dir" "$@" >"$EVENTS" 2>"$DAEMON_LOG" &
	KEEPER_PID=$!
	echo "$KEEPER_PID" >>"$WORK/.helpers"
}

# keep_daemon DIR MNT [SHMFS ARG...]: shmfs -f under a keeper; waits for
# its READY=1 and its mount. Sets MAIN_PID (and what start_keeper sets).
keep_daemon() {
	local dir=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	start_keeper "$dir" -- "$SHMFS" -f -c "$CONF" "$@" "$mnt"
	wait_for_line "$EVENTS" '^ready '
	main_of "$dir"
	wait_mounted "$mnt" "$MAIN_PID" "$DAEMON_LOG"
}

# main_of DIR: the keeper's main pid now, tracked. Sets MAIN_PID.
main_of() {
	MAIN_PID=$(cat "$1/main.pid")
	track_pid "$MAIN_PID"
}

# start_load MNT: the verifying load on every zone file until stop_load.
# Sets LOAD_PID; the last versions go to $WORK/load.state.
start_load() {
	local mnt=$1 files
	files=("${ZONES[@]/#/$mnt/}")
	rm -f "$WORK/load.stop"
	"$VERIFY" -s "$WORK/load.stop" -p 3 -S "$WORK/load.state" \
		"${files[@]}" >"$WORK/load.out" 2>"$WORK/load.err" &
	LOAD_PID=$!
	echo "$LOAD_PID" >>"$WORK/.helpers"
	wait_for_line "$WORK/load.err" '^verify: running'
}

# stop_load LABEL: ends the load (its processes may be waiting on the
# mount: at most verify's own 15 s), keeps its summary line for
# show_figures and checks it. Sets LOAD_LINE.
stop_load() {
	touch "$WORK/load.stop"
	wait_child_exit "$LOAD_PID" 25 || fail "the load did not end" || return 1
	LOAD_LINE=$(cat "$WORK/load.out")
	echo "$1: $LOAD_LINE" >>"$WORK/figures"
	echo "load: $LOAD_LINE (exit $EXIT_STATUS)"
	sed 's/^/load: /' "$WORK/load.err"
	for key in errors enotconn econnaborted wrong mmap_wrong ino_changed hung; do
		assert_eq 0 "$(figure "$key" "$LOAD_LINE")" "the load's $key"
	done
	(($(figure ops "$LOAD_LINE") > 0)) || fail "the load did nothing"
	assert_eq 0 "$EXIT_STATUS" "the load's exit status"
}

# figure KEY LINE: the value of KEY=VALUE in LINE.
figure() {
	sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# bytes_verify MNT: every block of every zone file is the version the load
# wrote last.
bytes_verify() {
	local mnt=$1 files out
	files=("${ZONES[@]/#/$mnt/}")
	out=$(timeout "$DEADLINE" "$VERIFY" -c "$WORK/load.state" "${files[@]}" 2>&1) ||
		fail "the bytes after the run: $out" || return 1
	echo "check: $out"
}

# The anonymous device of the mount at MNT ("0:52"), from the mount table:
# a stat of the mount itself would wait for a master that is not there.
mount_device() {
	awk -v m="$1" '$5 == m { print $3 }' /proc/self/mountinfo
}

# abort_connection DEV: writes 1 to the connection's abort file, with
# fusectl mounted in a namespace of its own (nothing left mounted here).
abort_connection() {
	# shellcheck disable=SC2016 # $1 is the inner shell's
	unshare --mount --propagation private -- sh -c '
		mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null
		echo 1 >"/sys/fs/fuse/connections/$1/abort"' sh "${1#*:}"
}

# Mounts at exactly MNT, counted.
mounts_at() {
	awk -v m="$1" '$5 == m' /proc/self/mountinfo | wc -l
}

# stop_keeper: SIGTERM, which it forwards to the master; the keeper must
# end with 0, the master having unmounted.
stop_keeper() {
	kill -TERM "$KEEPER_PID"
	wait_child_exit "$KEEPER_PID" 30 || fail "the keeper did not stop" || return 1
	assert_eq 0 "$EXIT_STATUS" "the keeper's exit status"
	wait_for_line "$EVENTS" '^exit status=0'
}

# ---------------------------------------------------------------- tests

# with_held_restart DIR MNT: a master under a keeper that holds the store
# after a death (-H) until SIGUSR2; "kill_and_hold" kills it, the test
# acts on the files, "release" lets the keeper start the next one.
with_held_restart() {
	local dir=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	start_keeper "$dir" -H -- "$SHMFS" -f -c "$CONF" "$@" "$mnt"
	wait_for_line "$EVENTS" '^ready '
	main_of "$dir"
	wait_mounted "$mnt" "$MAIN_PID" "$DAEMON_LOG"
}

kill_and_hold() {
	local held
	HELD_READY=$(count_lines "$EVENTS" '^ready ')
	held=$(count_lines "$EVENTS" '^held ')
	kill -USR1 "$KEEPER_PID"
	wait_for_count "$EVENTS" '^held ' $((held + 1))
}

release() {
	kill -USR2 "$KEEPER_PID"
	wait_for_count "$EVENTS" '^ready ' $((HELD_READY + 1))
	main_of "$1"
}

# A /.stats snapshot open across a crash reads on (its arena is stored),
# and what a reload added before the crash is there after it.
a_stats_handle_and_a_reload_outlive_a_crash() {
	local dir=$WORK/stats mnt=$WORK/mnt-stats conf=$CONF ino first rest
	fresh_start
	CONF=$WORK/stats.ini
	cp "$conf" "$CONF"
	with_held_restart "$dir" "$mnt"
	printf '\n[zone:late]\nsize = 64K\n' >>"$CONF"
	kill -HUP "$MAIN_PID"
	wait_for_line "$DAEMON_LOG" 'reloaded'
	echo late >"$mnt/late"
	ino=$(stat -c %i "$mnt/late")
	exec 8<"$mnt/.stats"
	first=$(head -c 20 <&8)
	kill_and_hold
	release "$dir"
	rest=$(cat <&8) || fail "reading /.stats opened before the crash failed"
	exec 8<&-
	assert_match '^[a-z_]+ ' "$first$rest" "the snapshot read across it"
	assert_match 'zone\.late\.' "$first$rest" "the snapshot names the late zone"
	assert_eq late "$(cat "$mnt/late")" "the reloaded zone's bytes"
	assert_eq "$ino" "$(stat -c %i "$mnt/late")" "its inode number"
	assert_eq 1 "$(grep -c '^restarts 1$' "$mnt/.stats")" "restarts in /.stats"
	assert_eq 1 "$(grep -c '^generation 2$' "$mnt/.stats")" "generation"
	stop_keeper
	CONF=$conf
}

# The file changed while no master ran: the restarted one applies it as a
# reload would; a file broken meanwhile leaves the mount as it ran.
a_file_changed_before_the_restart_applies_as_a_reload() {
	local dir=$WORK/changed mnt=$WORK/mnt-changed conf=$CONF
	fresh_start
	CONF=$WORK/changed.ini
	cp "$conf" "$CONF"
	with_held_restart "$dir" "$mnt" -p "$dir/pid"
	echo kept >"$mnt/anon"
	kill_and_hold
	printf '\n[zone:added]\nsize = 64K\n' >>"$CONF"
	release "$dir"
	wait_for_line "$DAEMON_LOG" 'reloaded'
	assert_eq "$MAIN_PID" "$(cat "$dir/pid")" "-p's pid file after a restart"
	assert_eq kept "$(cat "$mnt/anon")" "a kept zone's bytes"
	echo new >"$mnt/added" || fail "the added zone"
	kill_and_hold
	echo '[zone:broken' >>"$CONF"
	release "$dir"
	wait_for_line "$DAEMON_LOG" 'serving the configuration the previous master ran'
	assert_eq "$MAIN_PID" "$(cat "$dir/pid")" "the pid file, the file broken"
	assert_eq new "$(cat "$mnt/added")" "the added zone after a broken file"
	assert_eq kept "$(cat "$mnt/anon")" "and the first"
	stop_keeper
	CONF=$conf
}

ten_sigkills_of_the_master_under_load_lose_nothing() {
	local dir=$WORK/kills mnt=$WORK/mnt-kills i n inos
	fresh_start
	keep_daemon "$dir" "$mnt"
	wait_for_workers "$MAIN_PID" 2
	inos=$(cd "$mnt" && stat -c '%n %i' "${ZONES[@]}")
	start_load "$mnt"
	for ((i = 1; i <= KILLS; i++)); do
		sleep 0.5 # the pace of the kills: the test's own
		n=$(count_lines "$EVENTS" '^ready ')
		kill -USR1 "$KEEPER_PID"
		wait_for_count "$EVENTS" '^ready ' $((n + 1)) || break
		main_of "$dir"
	done
	sleep 0.5 # the load runs on the last generation too
	echo "kills: kill_to_ready_ms $(sed -n \
		's/^ready .*kill_to_ready_ms=\([0-9.]*\).*/\1/p' "$EVENTS" | xargs)" |
		tee -a "$WORK/figures"
	stop_load kills
	assert_eq $((KILLS + 1)) "$(count_lines "$EVENTS" '^start ')" "starts"
	assert_eq "$KILLS" "$(count_lines "$EVENTS" '^died .*status=signal:9')" \
		"masters killed"
	assert_eq "$inos" "$(cd "$mnt" && stat -c '%n %i' "${ZONES[@]}")" \
		"inode numbers"
	assert_mounted "$mnt"
	assert_eq ".metrics .stats $(printf '%s\n' "${ZONES[@]}" | sort | xargs)" \
		"$(cd "$mnt" && echo .[!.]* *)" "ls after the kills"
	bytes_verify "$mnt"
	stop_keeper
	assert_not_mounted "$mnt"
	wait_until "$DEADLINE" test -z "$(our_pids)" ||
		fail "left running: $(our_pids | xargs)"
	[[ ! -e /dev/shm$POSIX ]] || fail "/dev/shm$POSIX left after the stop"
	[[ -z $(new_shm_segments) ]] ||
		fail "SysV segments left: $(new_shm_segments | xargs)"
}

an_upgrade_under_load_keeps_the_pid_and_loses_nothing() {
	local mnt=$WORK/mnt-upgrade pidfile=$WORK/upgrade.pid old w
	fresh_start
	start_daemon "$CONF" "$mnt" -p "$pidfile"
	wait_for_workers "$DAEMON_PID" 2
	old=$(worker_pids "$DAEMON_PID" | xargs)
	start_load "$mnt"
	sleep 0.5 # the load runs before the upgrade: the test's own pace
	"$SHMFS" -s upgrade -p "$pidfile" || fail "shmfs -s upgrade failed"
	wait_for_line "$DAEMON_LOG" '(^shmfs: |: notice: )upgraded:'
	assert_eq "$DAEMON_PID" "$(cat "$pidfile")" "the pid file"
	pid_alive "$DAEMON_PID" || fail "the master is gone"
	wait_until "$DEADLINE" only_new_workers "$DAEMON_PID" "$old" ||
		fail "workers before: $old, now: $(worker_pids "$DAEMON_PID" | xargs)"
	wait_for_workers "$DAEMON_PID" 2
	sleep 0.5 # and after it
	stop_load upgrade
	bytes_verify "$mnt"
	stop_daemon "$mnt" "$DAEMON_PID"
}

# only_new_workers MASTER "OLD PIDS": MASTER's workers, none of them old.
only_new_workers() {
	local w now
	now=$(worker_pids "$1")
	[[ -n $now ]] || return 1
	for w in $now; do
		[[ " $2 " != *" $w "* ]] || return 1
	done
}

auto_unmount_is_refused_under_a_store() {
	local dir=$WORK/auto mnt=$WORK/mnt-auto
	fresh_start
	mkdir -p "$mnt"
	start_keeper "$dir" -n -- "$SHMFS" -f -c "$CONF" -o auto_unmount "$mnt"
	wait_until "$DEADLINE" grep -qE '^(ready|exit) ' "$EVENTS" ||
		fail "neither ready nor an exit: $(cat "$EVENTS")"
	if grep -q '^ready ' "$EVENTS"; then
		fail "the daemon started with auto_unmount: $(cat "$DAEMON_LOG")"
	fi
	wait_for_line "$EVENTS" '^exit '
	wait_child_exit "$KEEPER_PID"
	assert_eq 1 "$(count_lines "$EVENTS" '^died .*status=exit:1$')" \
		"the daemon's exit status (keeper: $(cat "$EVENTS"))"
	assert_one_line "$(cat "$DAEMON_LOG")" "the daemon's output"
	assert_contains "$(cat "$DAEMON_LOG")" auto_unmount
	assert_not_mounted "$mnt"
}

# The keeper holds the store after the kill (-H) until SIGUSR2: the test
# aborts the stored connection in between. The new master must see it
# (POLLERR on the fuse fd: the keeper, unlike systemd, does not drop it),
# say "not adopted", detach the dead mount itself and mount fresh.
an_aborted_connection_is_not_adopted() {
	local dir=$WORK/abort mnt=$WORK/mnt-abort dev n
	fresh_start
	mkdir -p "$mnt"
	start_keeper "$dir" -H -- "$SHMFS" -f -c "$CONF" "$mnt"
	wait_for_line "$EVENTS" '^ready '
	main_of "$dir"
	wait_mounted "$mnt" "$MAIN_PID" "$DAEMON_LOG"
	echo before >"$mnt/anon"
	dev=$(mount_device "$mnt")
	grep -q '^stored .* file=/dev/fuse$' "$EVENTS" ||
		fail "the master stored no /dev/fuse descriptor:" \
			"$(grep '^stored' "$EVENTS" | xargs || true)"
	kill -USR1 "$KEEPER_PID"
	wait_for_line "$EVENTS" '^held '
	abort_connection "$dev" || fail "no connection $dev to abort"
	n=$(count_lines "$EVENTS" '^ready ')
	kill -USR2 "$KEEPER_PID"
	wait_for_count "$EVENTS" '^ready ' $((n + 1))
	main_of "$dir"
	assert_eq 1 "$(count_lines "$DAEMON_LOG" 'not adopted')" \
		"lines saying 'not adopted' (log: $(tail -n 5 "$DAEMON_LOG"))"
	assert_eq 1 "$(mounts_at "$mnt")" "mounts at $mnt"
	assert_mounted "$mnt"
	# (Not its device number: a lazy unmount frees it, and the fresh
	# mount may well get the same one.)
	echo fresh >"$mnt/anon"
	assert_eq fresh "$(timeout 5 cat "$mnt/anon")" "the fresh mount"
	stop_keeper
	assert_not_mounted "$mnt"
}

# More zones than shmfs@.service's FileDescriptorStoreMax=256 can keep:
# systemd would drop the rest in silence, so the daemon says so, once.
a_store_larger_than_the_units_limit_is_warned_of() {
	local dir=$WORK/many mnt=$WORK/mnt-many conf=$CONF i
	fresh_start
	CONF=$WORK/many.ini
	{
		printf '[shmfs]\nworkers = 2\n'
		for ((i = 0; i < 260; i++)); do
			printf '[zone:z%d]\nbackend = memfd\nsize = 4K\n' "$i"
		done
	} >"$CONF"
	keep_daemon "$dir" "$mnt"
	wait_for_line "$DAEMON_LOG" 'FileDescriptorStoreMax=256'
	kill -HUP "$MAIN_PID" # a reload stores again: no second line
	wait_for_line "$DAEMON_LOG" 'reloaded'
	assert_eq 1 "$(count_lines "$DAEMON_LOG" 'FileDescriptorStoreMax')" \
		"warnings"
	stop_keeper
	CONF=$conf
}

# The pause figures, pass or fail, as TAP comments.
show_figures() {
	sed 's/^/# /' "$WORK/figures" 2>/dev/null || true
	rm -f "$WORK/figures"
}

run_test ten_sigkills_of_the_master_under_load_lose_nothing
show_figures
run_test an_upgrade_under_load_keeps_the_pid_and_loses_nothing
show_figures
run_test auto_unmount_is_refused_under_a_store
run_test an_aborted_connection_is_not_adopted
run_test a_stats_handle_and_a_reload_outlive_a_crash
run_test a_file_changed_before_the_restart_applies_as_a_reload
run_test a_store_larger_than_the_units_limit_is_warned_of
run_test nothing_is_left_behind
finish
