#!/bin/bash
# SPDX-License-Identifier: MIT
#
# misuse.sh -- a daemon that is hard to misuse: shmfs -s finds the master
# when the ini file broke or its pid = changed since the start (-p), and
# -s stop returns once the master is gone (or says it timed out); mounting
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

# run_shmfs ARG...: the daemon with a deadline; STATUS, OUT, ERR.
run_shmfs() {
	STATUS=0
	timeout -k 2 30 "$SHMFS" "$@" >"$WORK/out" 2>"$WORK/err" || STATUS=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

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
run_test_here mounting_over_a_live_shmfs_is_refused
run_test_here mounting_over_a_dead_shmfs_says_to_unmount_it
run_test mounting_on_a_regular_file_is_refused
run_test a_bad_log_path_fails_the_check_and_the_start_with_its_line
run_test check_is_linear_and_refuses_more_zones_than_the_mapping_limit
run_test rounded_sizes_and_zones_beyond_memory_are_warned_about
run_test_here one_user_cannot_deny_stats_to_others
run_test nothing_is_left_behind
finish
