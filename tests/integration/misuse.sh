#!/bin/bash
# SPDX-License-Identifier: MIT
#
# misuse.sh -- a daemon that is hard to misuse: shmfs -s finds the master
# when the ini file broke or its pid = changed since the start (-p), and
# -s stop returns once the master is gone (or says it timed out); the pid
# is in the file before the mount appears (foreground or detached), so a
# -s stop from any moment on is never refused; mounting
# over a live or dead shmfs, or on a regular file, is refused; a bad log
# path fails -t and the start with FILE:LINE; -t is linear in the zones and
# refuses more than the kernel's mapping limit; rounded sizes and zones
# beyond RAM + swap are warned about; no user can deny /.stats to others.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

command -v setpriv >/dev/null || skip_or_fail "no setpriv (util-linux)"
chmod 0711 "$WORK" # other users reach the mounts

# conf NAME [KEY = VALUE lines for [shmfs]]: a small config, its path.
conf() {
	local f=$WORK/$1.ini
	shift
	{
		echo "[shmfs]"
		echo "workers = 2"
		printf '%s\n' "$@"
		echo "[zone:z]"
		echo "size = 64K"
	} >"$f"
	echo "$f"
}

# run_shmfs (lib.sh) may take 30 s here: -s stop waits 15 s for a master
# that does not exit before it says so.
RUN_DEADLINE=30

# ------------------------------------------------------------ shmfs -s

signal_stop_works_with_a_broken_ini_and_returns_after_the_exit() {
	local c mnt=$WORK/m-broken pid
	c=$(conf broken "pid = $WORK/broken.pid")
	start_daemon "$c" "$mnt"
	pid=$DAEMON_PID
	echo "this line is not ini" >>"$c"
	run_shmfs -t -c "$c"
	assert_eq 1 "$STATUS" "-t of the broken file"
	run_shmfs -s stop -c "$c"
	assert_eq 0 "$STATUS" "-s stop ($ERR)"
	# Returned only once the master was gone: no wait here.
	! pid_alive "$pid" || fail "-s stop returned while the master runs"
	assert_not_mounted "$mnt"
	wait_child_exit "$pid"
	assert_eq 0 "$EXIT_STATUS" "the master's exit status"
}

# One grammar for the daemon, -t and -s (issue 14): '#' after a value is
# part of it, so the daemon's pid file is "x.pid # note", and -s stop must
# look there, not at x.pid; ';' after a blank starts a comment for all.
pid_with_a_hash_or_a_comment_is_one_file_for_the_daemon_and_signal() {
	local c mnt=$WORK/m-hash pid pidfile line
	for line in "x.pid # note" "y.pid ; where -s stop looks"; do
		c=$(conf hash "pid = $WORK/$line")
		pidfile=$WORK/${line%% ;*}
		run_shmfs -t -c "$c"
		assert_eq 0 "$STATUS" "-t of pid = $line ($ERR)"
		start_daemon "$c" "$mnt"
		pid=$DAEMON_PID
		assert_eq "$pid" "$(cat "$pidfile" 2>/dev/null)" \
			"the daemon's pid file \"$pidfile\""
		[[ ! -e $WORK/x.pid ]] || fail "a pid file at $WORK/x.pid"
		run_shmfs -s stop -c "$c"
		assert_eq 0 "$STATUS" "-s stop of pid = $line ($ERR)"
		! pid_alive "$pid" || fail "-s stop returned while the master runs"
		wait_child_exit "$pid"
		assert_eq 0 "$EXIT_STATUS" "the master's exit status"
		assert_not_mounted "$mnt"
	done
}

signal_with_p_finds_a_master_whose_pid_key_changed() {
	local c mnt=$WORK/m-moved pid
	c=$(conf moved "pid = $WORK/old.pid")
	start_daemon "$c" "$mnt"
	pid=$DAEMON_PID
	sed -i "s|^pid = .*|pid = $WORK/new.pid|" "$c"
	run_shmfs -s stop -c "$c"
	assert_eq 1 "$STATUS" "-s through the edited pid ="
	assert_one_line "$ERR"
	pid_alive "$pid" || fail "the master died"
	run_shmfs -s stop -p "$WORK/old.pid"
	assert_eq 0 "$STATUS" "-s stop -p ($ERR)"
	! pid_alive "$pid" || fail "-s stop -p returned while the master runs"
	wait_child_exit "$pid"
}

a_stop_that_times_out_says_so() {
	local c mnt=$WORK/m-stuck pid
	c=$(conf stuck "pid = $WORK/stuck.pid")
	start_daemon "$c" "$mnt"
	pid=$DAEMON_PID
	kill -STOP "$pid"
	run_shmfs -s stop -c "$c"
	kill -CONT "$pid"
	assert_eq 1 "$STATUS" "-s stop of a stopped master"
	assert_contains "$ERR" "did not exit within 15 s"
	wait_child_exit "$pid" || fail "the master did not stop after CONT"
	assert_not_mounted "$mnt"
}

# watch_mount MNT PIDFILE OUT: in the background (WATCHER), sleeps on the
# mount table (poll(2) on /proc/self/mountinfo wakes at each change) and
# writes to OUT what PIDFILE holds the moment MNT appears: the pid,
# "empty" or "missing". Returns once it watches.
watch_mount() {
	/usr/bin/python3 - "$@" <<'PY' &
import select, sys, time
mnt, pidfile, out = sys.argv[1:4]
table = open("/proc/self/mountinfo")
poll = select.poll()
poll.register(table, select.POLLPRI | select.POLLERR)
def mounted():
    table.seek(0)
    return any(l.split()[4] == mnt for l in table.read().splitlines())
open(out + ".watching", "w").close()
deadline = time.monotonic() + 10
while not mounted():
    if time.monotonic() > deadline:
        sys.exit("%s not mounted after 10 s" % mnt)
    poll.poll(100)
try:
    seen = open(pidfile).read().strip() or "empty"
except FileNotFoundError:
    seen = "missing"
open(out, "w").write(seen + "\n")
PY
	WATCHER=$!
	wait_until "$DEADLINE" test -e "$3.watching" ||
		fail "the mount watcher did not start"
}

# stop_until_stopped CONF: shmfs -s stop until one succeeds (within the
# deadline); no attempt may be refused. Every message in $WORK/stops.
stop_until_stopped() {
	local i out
	: >"$WORK/stops"
	for ((i = 0; i < DEADLINE * 100; i++)); do
		out=$("$SHMFS" -s stop -c "$1" 2>&1) && return 0
		echo "$out" >>"$WORK/stops"
		[[ $out != *refused* ]] || fail "-s stop refused: $out" || return 1
		sleep 0.01 # attempts from the start on are the test
	done
	fail "no -s stop succeeded: $(sort -u "$WORK/stops")"
}

the_pid_is_written_before_the_mount_appears_in_the_foreground() {
	local c mnt=$WORK/m-early pidfile=$WORK/early.pid
	c=$(conf early "pid = $pidfile")
	mkdir -p "$mnt"
	watch_mount "$mnt" "$pidfile" "$WORK/early.seen" || return 1
	spawn_daemon "$mnt" -f -c "$c"
	wait_child_exit "$WATCHER" || fail "the watcher is still waiting"
	assert_eq "$DAEMON_PID" "$(cat "$WORK/early.seen" 2>&1)" \
		"the pid file the moment the mount appeared"
	# From that moment on, -s stop finds the master.
	stop_until_stopped "$c"
	wait_child_exit "$DAEMON_PID" || fail "the master did not stop"
	assert_eq 0 "$EXIT_STATUS" "the master's exit status"
	assert_not_mounted "$mnt"
}

# From before the start: until the pid is there, -s stop says why (no pid
# file, or an empty one), never "refused"; a SIGTERM that lands while the
# master mounts is taken once it serves, and it stops cleanly.
a_stop_from_the_start_is_never_refused_and_stops_the_daemon() {
	local c mnt=$WORK/m-start pid stopper
	c=$(conf start "pid = $WORK/start.pid")
	mkdir -p "$mnt"
	stop_until_stopped "$c" &
	stopper=$!
	spawn_daemon "$mnt" -f -c "$c"
	pid=$DAEMON_PID
	wait_child_exit "$stopper" $((DEADLINE * 2)) ||
		fail "-s stop is still trying"
	assert_eq 0 "$EXIT_STATUS" "the stopper: $(sort -u "$WORK/stops")"
	wait_child_exit "$pid" || fail "the master did not stop"
	assert_eq 0 "$EXIT_STATUS" "the master's exit status; log: $(cat "$mnt.log")"
	assert_not_mounted "$mnt"
	! grep -q "refused" "$WORK/stops" || fail "refused: $(cat "$WORK/stops")"
}

# An empty pid file (a master between its lock and its write) or one with
# no pid is said to be so: only a symbolic link or a non-regular file is
# "refused".
an_empty_or_junk_pid_file_is_named_as_such() {
	: >"$WORK/empty.pid"
	run_shmfs -s stop -p "$WORK/empty.pid"
	assert_eq 1 "$STATUS" "-s stop of an empty pid file"
	assert_eq "shmfs: $WORK/empty.pid: empty: no master to signal yet (one that is starting writes its pid before it mounts)" \
		"$ERR" "the message"
	echo "not a pid" >"$WORK/junk.pid"
	run_shmfs -s stop -p "$WORK/junk.pid"
	assert_eq 1 "$STATUS" "-s stop of a junk pid file"
	assert_eq "shmfs: $WORK/junk.pid: holds no pid: not a pid file" "$ERR" \
		"the message"
}

# Detached, the master is the forked child: its pid, not the parent's, is
# in the file before the mount appears, and -s stop stops it.
the_detached_master_writes_its_own_pid_before_the_mount_appears() {
	local c mnt=$WORK/m-detached pidfile=$WORK/detached.pid seen status=0
	c=$(conf detached "pid = $pidfile")
	mkdir -p "$mnt"
	watch_mount "$mnt" "$pidfile" "$WORK/detached.seen" || return 1
	"$SHMFS" -c "$c" "$mnt" >"$WORK/detached.out" 2>&1 || status=$?
	assert_eq 0 "$status" "the detaching start: $(cat "$WORK/detached.out")"
	wait_child_exit "$WATCHER" || fail "the watcher is still waiting"
	seen=$(cat "$WORK/detached.seen" 2>&1)
	assert_match '^[0-9]+$' "$seen" "the pid file the moment the mount appeared"
	[[ $seen =~ ^[0-9]+$ ]] && track_pid "$seen"
	assert_eq "$seen" "$(cat "$pidfile")" "the pid file once started"
	assert_eq shmfs "$(pid_comm "$seen")" "the process of that pid"
	"$SHMFS" -s stop -c "$c" || fail "-s stop of the detached master"
	! pid_alive "$seen" || fail "the detached master outlived -s stop"
	assert_not_mounted "$mnt"
}

# ------------------------------------------------------------ mount points

mounting_over_a_live_shmfs_is_refused() {
	local c mnt=$WORK/m-live pid
	c=$(conf live)
	start_daemon "$c" "$mnt"
	pid=$DAEMON_PID
	run_shmfs -f -c "$c" "$mnt"
	assert_eq 2 "$STATUS" "a second mount"
	assert_one_line "$ERR"
	assert_contains "$ERR" "a shmfs is already mounted there"
	assert_eq 1 "$(grep -c " $mnt fuse.shmfs " /proc/self/mounts)" \
		"shmfs mounts at $mnt"
	stop_daemon "$mnt" "$pid"
}

mounting_over_a_dead_shmfs_says_to_unmount_it() {
	local c mnt=$WORK/m-dead
	c=$(conf dead)
	start_daemon "$c" "$mnt"
	kill -KILL "$DAEMON_PID"
	wait_child_exit "$DAEMON_PID"
	run_shmfs -f -c "$c" "$mnt"
	assert_eq 2 "$STATUS" "mounting over a dead mount"
	assert_one_line "$ERR"
	assert_contains "$ERR" "run fusermount3 -u $mnt"
	assert_eq 1 "$(grep -c " $mnt fuse.shmfs " /proc/self/mounts)" \
		"shmfs mounts at $mnt"
	force_unmount "$mnt"
}

mounting_on_a_regular_file_is_refused() {
	local c
	c=$(conf file)
	: >"$WORK/plain"
	run_shmfs -f -c "$c" "$WORK/plain"
	assert_eq 2 "$STATUS" "mounting on a file"
	assert_one_line "$ERR"
	assert_contains "$ERR" "not a directory"
	assert_not_mounted "$WORK/plain"
}

# ------------------------------------------------------------ the log

a_bad_log_path_fails_the_check_and_the_start_with_its_line() {
	local c
	c=$(conf badlog "log = $WORK/no/such/dir/shmfs.log")
	run_shmfs -t -c "$c"
	assert_eq 1 "$STATUS" "-t"
	assert_eq "shmfs: $c:3: log: $WORK/no/such/dir/shmfs.log: No such file or directory" \
		"$ERR" "-t's message"
	mkdir -p "$WORK/m-badlog"
	run_shmfs -c "$c" "$WORK/m-badlog" # detached: the default
	assert_eq 1 "$STATUS" "a detached start"
	assert_contains "$ERR" "$c:3: log: "
	assert_not_mounted "$WORK/m-badlog"
}

# ------------------------------------------------------------ sizes

# zones N: an ini file of N 4 KiB zones.
zones() {
	awk -v n="$1" 'BEGIN { print "[shmfs]"
		for (i = 0; i < n; i++) printf "[zone:z%d]\nsize = 4K\n", i }'
}

check_is_linear_and_refuses_more_zones_than_the_mapping_limit() {
	local maps start fit
	maps=$(cat /proc/sys/vm/max_map_count)
	fit=$((maps - 256))
	zones 10000 >"$WORK/10k.ini"
	start=$(date +%s%N)
	run_shmfs -t -c "$WORK/10k.ini"
	assert_eq 0 "$STATUS" "-t of 10,000 zones ($ERR)"
	zones $((fit + 1)) >"$WORK/over.ini"
	run_shmfs -t -c "$WORK/over.ini"
	# Quadratic, 100,000 zones took 22 s; linear, well under a second.
	(($(date +%s%N) - start < 5000000000)) || fail "-t took over 5 s"
	assert_eq 1 "$STATUS" "-t of one zone too many"
	assert_contains "$ERR" "vm.max_map_count ($maps) allows: at most $fit zones fit"
	mkdir -p "$WORK/m-over"
	run_shmfs -f -c "$WORK/over.ini" "$WORK/m-over"
	assert_eq 2 "$STATUS" "mounting one zone too many"
	assert_not_mounted "$WORK/m-over"
}

rounded_sizes_and_zones_beyond_memory_are_warned_about() {
	local ram
	ram=$(awk '$1 == "MemTotal:" || $1 == "SwapTotal:" { k += $2 }
		END { printf "%.0f\n", k * 1024 }' /proc/meminfo)
	printf '[zone:one]\nsize = 1\n[zone:huge]\nsize = %d\n' \
		$((ram * 2)) >"$WORK/big.ini"
	run_shmfs -t -c "$WORK/big.ini"
	assert_eq 0 "$STATUS" "-t"
	assert_contains "$ERR" "big.ini:2: size 1 of zone \"one\" is rounded up to $PAGE_SIZE bytes"
	assert_contains "$ERR" "more than RAM + swap"
}

# ------------------------------------------------------------ /.stats

one_user_cannot_deny_stats_to_others() {
	local c mnt=$WORK/m-stats pid
	c=$(conf stats)
	start_daemon "$c" "$mnt" -o allow_other
	pid=$DAEMON_PID
	# The system's python: root's may live where nobody cannot reach.
	as_user nobody /usr/bin/python3 - "$mnt/.stats" "$WORK/release" \
		>"$WORK/hog.out" 2>&1 <<'PY' &
import errno, os, sys, time
fds, refused = [], 0
for _ in range(40):
    try:
        fds.append(os.open(sys.argv[1], os.O_RDONLY))
    except OSError as e:
        assert e.errno == errno.EMFILE, e
        refused += 1
print(len(fds), refused, flush=True)
for _ in range(200):  # hold them until released (10 s at most)
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
PY
	local hog=$!
	wait_for_line "$WORK/hog.out" . 5 || true # the assert below says what
	assert_eq "4 36" "$(cat "$WORK/hog.out")" "opens held / refused for nobody"
	as_user daemon head -n 1 "$mnt/.stats" >/dev/null ||
		fail "another user was denied /.stats"
	head -n 1 "$mnt/.stats" >/dev/null || fail "root was denied /.stats"
	: >"$WORK/release"
	wait "$hog"
	stop_daemon "$mnt" "$pid"
}

run_test_here signal_stop_works_with_a_broken_ini_and_returns_after_the_exit
run_test_here pid_with_a_hash_or_a_comment_is_one_file_for_the_daemon_and_signal
run_test_here signal_with_p_finds_a_master_whose_pid_key_changed
run_test_here a_stop_that_times_out_says_so
run_test_here the_pid_is_written_before_the_mount_appears_in_the_foreground
run_test_here a_stop_from_the_start_is_never_refused_and_stops_the_daemon
run_test_here the_detached_master_writes_its_own_pid_before_the_mount_appears
run_test an_empty_or_junk_pid_file_is_named_as_such
run_test_here mounting_over_a_live_shmfs_is_refused
run_test_here mounting_over_a_dead_shmfs_says_to_unmount_it
run_test mounting_on_a_regular_file_is_refused
run_test a_bad_log_path_fails_the_check_and_the_start_with_its_line
run_test check_is_linear_and_refuses_more_zones_than_the_mapping_limit
run_test rounded_sizes_and_zones_beyond_memory_are_warned_about
run_test_here one_user_cannot_deny_stats_to_others
run_test nothing_is_left_behind
finish
