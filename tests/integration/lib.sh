# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh -- helpers shared by shmfs's mount tests: prerequisites, a private
# temporary directory, starting the daemon and waiting for its mount with a
# deadline, waiting for its workers, a line or any state with a deadline,
# stopping it, a run_test harness that prints "ok - NAME" or "not ok - NAME"
# with the reason, assertions, and a cleanup that leaves no mount, process
# or SysV segment behind whatever happened. tests/README.md lists them.
#
# A script does:  source lib.sh; setup; run_test some_behaviour; ...; finish

: "${SHMFS_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SHMFS:=$SHMFS_SRCDIR/build/src/shmfs}"
# This file, for a script that runs elsewhere (a namespace) and sources it.
# shellcheck disable=SC2034
LIB_SH=$(realpath "${BASH_SOURCE[0]}")

# shellcheck disable=SC2034 # globals that the scripts read
DEADLINE=${DEADLINE:-10}         # seconds to mount, unmount or exit
TEST_TIMEOUT=${TEST_TIMEOUT:-60} # seconds one run_test may take
# shellcheck disable=SC2034
PAGE_SIZE=$(getconf PAGESIZE)

WORK=""
TESTS_PASSED=0
TESTS_FAILED=0
DAEMON_PID=""
CURRENT_TEST="" # process group of the test running now
DAEMON_LOG=""
EXIT_STATUS=""
TEST_FAILED=0 # set by fail: run_test_here's functions run without errexit

# ---------------------------------------------------------------- set-up

# Missing root, /dev/fuse or fusermount3 is meson's "skip" (77), except under
# CI, where a test that cannot run is a failure.
skip_or_fail() {
	if [[ -n ${CI:-} ]]; then
		echo "FAIL: $* (a requirement under CI)" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

require_prerequisites() {
	((EUID == 0)) || skip_or_fail "mount tests need root"
	[[ -c /dev/fuse && -r /dev/fuse && -w /dev/fuse ]] ||
		skip_or_fail "no usable /dev/fuse"
	command -v fusermount3 >/dev/null || skip_or_fail "no fusermount3"
	command -v python3 >/dev/null || skip_or_fail "no python3"
	if [[ ! -x $SHMFS ]]; then
		echo "FAIL: the daemon $SHMFS is not built" >&2
		exit 1
	fi
}

# require_helper PROGRAM...: the test helpers a script runs (built by meson
# beside the daemon); one missing is a failure, never a skip.
require_helper() {
	local helper
	for helper in "$@"; do
		if [[ ! -x $helper ]]; then
			echo "FAIL: the helper $helper is not built" >&2
			exit 1
		fi
	done
}

# The transport a script tests is the one it asked for, whatever the
# machine says: SHMFS_TRANSPORT=uring, the ring leg of a script
# (tests/integration/meson.build runs every mount test alone: the switch
# is the machine's), turns the fuse module's enable_uring on for the
# script, and every daemon it mounts must serve through rings
# (wait_mounted checks /.stats); without it the switch is turned off, so
# that io_uring = auto means /dev/fuse. The cleanup restores it. A
# machine where the ring leg cannot turn it on skips, and fails under CI.
URING_PARAM=/sys/module/fuse/parameters/enable_uring
with_uring() {
	local want=N now
	[[ ${SHMFS_TRANSPORT:-} != uring ]] || want=Y
	if [[ ! -w $URING_PARAM ]]; then
		[[ $want == N ]] ||
			skip_or_fail "no $URING_PARAM: this kernel has no FUSE over io_uring"
		return 0
	fi
	now=$(cat "$URING_PARAM")
	[[ $now != "$want" ]] || return 0
	echo "$now" >"$WORK/.enable_uring"
	echo "$want" >"$URING_PARAM" || [[ $want == N ]] ||
		skip_or_fail "$URING_PARAM cannot be turned on"
}

# The machine's enable_uring as with_uring found it.
restore_uring() {
	[[ -s $WORK/.enable_uring ]] || return 0
	cat "$WORK/.enable_uring" >"$URING_PARAM"
}

# A script of the faults suite: the daemon must be the fault build's
# (meson setup -Dfault_injection=true); any other is a failure.
require_fault_build() {
	"$SHMFS" -V | grep -q '^fault injection: on' || {
		echo "FAIL: $SHMFS is not built with -Dfault_injection=true" >&2
		exit 1
	}
}

# Makes the private directory and arms the cleanup. Every mount point, config
# file and log lives under $WORK, so processes whose command line names it are
# ours.
setup() {
	require_prerequisites
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-test.XXXXXX")
	trap cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(realpath "$WORK")
	: >"$WORK/.pids"
	shm_ids >"$WORK/.shm-before"
	with_uring
}

# ---------------------------------------------------------------- processes

# Remembers a pid (a daemon this script started, or one of its workers) so
# that cleanup and the leftover checks know it is ours.
track_pid() {
	local pid
	for pid in "$@"; do
		echo "$pid" >>"$WORK/.pids"
	done
}

# True if PID exists and is not a zombie.
pid_alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ -n $stat && ${stat%% *} != Z ]]
}

pid_comm() {
	local comm
	{ read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
	echo "$comm"
}

# The state letter of PID (R, S, D, T, Z ...).
pid_state() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# wait_until SECONDS CMD...: runs CMD every 50 ms, at most SECONDS * 20
# times, until it succeeds; returns 1 if it never did. Says nothing: the
# caller fails with what it waited for. Every wait below is one of these,
# never a fixed sleep.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# Live shmfs and shmfs-worker processes that this script started: tracked
# pids, and any whose command line names $WORK (workers inherit the master's).
our_pids() {
	local pid
	for pid in $(pgrep -x shmfs; pgrep -x shmfs-worker; pgrep -x shmfs-kick); do
		pid_alive "$pid" || continue
		if grep -qxF "$pid" "$WORK/.pids" 2>/dev/null ||
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK"; then
			echo "$pid"
		fi
	done
	return 0
}

# Children of MASTER named shmfs-worker.
worker_pids() {
	local pid
	for pid in $(pgrep -P "$1" 2>/dev/null); do
		[[ $(pid_comm "$pid") == shmfs-worker ]] && echo "$pid"
	done
	return 0
}

# wait_for_workers MASTER N: waits until MASTER has at least N workers and
# tracks them.
wait_for_workers() {
	local master=$1 want=$2 i pids=""
	for ((i = 0; i < DEADLINE * 20; i++)); do
		pids=$(worker_pids "$master")
		if (($(wc -w <<<"$pids") >= want)); then
			# shellcheck disable=SC2086
			track_pid $pids
			return 0
		fi
		pid_alive "$master" || break
		sleep 0.05
	done
	fail "expected $want shmfs-worker children of $master, found" \
		"$(wc -w <<<"$pids")"
}

# master_is_idle MASTER: MASTER sleeps in its supervision loop's wait for
# an event, as /proc/PID/wchan names it: poll (of its signalfd and the log
# pipe), epoll or sigtimedwait, whichever the loop uses; never the
# nanosleep of a pool that stops. Where the kernel hides the name: asleep
# at all.
master_is_idle() {
	local wchan
	wchan=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	case $wchan in
	*poll* | *sigtimedwait* | *sigsuspend*) return 0 ;;
	"" | 0) [[ $(pid_state "$1") == S ]] ;;
	*) return 1 ;;
	esac
}

# wait_for_idle_master MASTER: waits until MASTER is idle in its loop. A
# start, a reload and a respawn fork their workers before the master goes
# back to sleep, so from then on a count of its children is final: a pool
# that forks too many shows it now, not "by now".
wait_for_idle_master() {
	wait_until "$DEADLINE" master_is_idle "$1" ||
		fail "master $1 never went back to its loop (wchan" \
			"$(cat "/proc/$1/wchan" 2>/dev/null), state $(pid_state "$1"))"
}

# wait_gone PID [SECONDS]: waits for PID to end (a zombie counts as ended).
wait_gone() {
	wait_until "${2:-$DEADLINE}" pid_gone "$1" || pid_gone "$1"
}

pid_gone() {
	! pid_alive "$1"
}

# wait_child_exit PID [SECONDS]: waits for a child of this shell to end and
# puts its exit status in EXIT_STATUS. Returns 1 if it is still running.
wait_child_exit() {
	local pid=$1 secs=${2:-$DEADLINE}
	EXIT_STATUS=""
	wait_gone "$pid" "$secs" || return 1
	EXIT_STATUS=0
	wait "$pid" 2>/dev/null || EXIT_STATUS=$?
	return 0
}

# Ends one of our processes: SIGTERM, then SIGKILL after the deadline.
stop_pid() {
	local pid=$1
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	kill -CONT "$pid" 2>/dev/null # a stopped process would not see TERM
	wait_gone "$pid" "$DEADLINE" && return 0
	kill -KILL "$pid" 2>/dev/null
	wait_gone "$pid" 5
}

# wait_for_line FILE REGEX [SECONDS]: waits until a line of FILE (a log)
# matches REGEX (grep -E); fails, with the file's tail, after the deadline.
wait_for_line() {
	local file=$1 regex=$2 secs=${3:-$DEADLINE}
	wait_until "$secs" grep -qE -- "$regex" "$file" 2>/dev/null && return 0
	fail "no line matching /$regex/ in $file after ${secs}s:" \
		"$(tail -n 5 "$file" 2>/dev/null)"
}

# count_lines FILE REGEX: how many lines of FILE match REGEX (0 if none or
# no file).
count_lines() {
	local n
	n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# wait_for_count FILE REGEX N [SECONDS]: waits until at least N lines of
# FILE match REGEX: the next of a line that is there already (count first
# with count_lines).
wait_for_count() {
	local file=$1 regex=$2 n=$3 secs=${4:-$DEADLINE}
	wait_until "$secs" has_count "$file" "$regex" "$n" && return 0
	fail "fewer than $n lines match /$regex/ in $file after ${secs}s:" \
		"$(tail -n 10 "$file" 2>/dev/null)"
}

has_count() {
	(($(count_lines "$1" "$2") >= $3))
}

# as_user USER CMD...: runs CMD as USER, its passwd group only (setpriv).
as_user() {
	local user=$1
	shift
	setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" \
		--clear-groups -- "$@"
}

# ---------------------------------------------------------------- mounts

# True if something is mounted at MNT.
is_mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# The file system type of the mount at MNT ("fuse.shmfs").
mount_type() {
	awk -v m="$1" '$5 == m {
		for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit }
	}' /proc/self/mountinfo
}

# Mount and super-block options of the mount at MNT, comma separated.
mount_options() {
	awk -v m="$1" '$5 == m {
		for (i = 7; i <= NF; i++) if ($i == "-") { print $6 "," $(i + 3); exit }
	}' /proc/self/mountinfo
}

# Mounts at or below DIR, deepest first.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r
}

# Unmounts MNT however it can: fusermount3 -u, then a lazy umount.
force_unmount() {
	timeout "$DEADLINE" fusermount3 -u -q "$1" 2>/dev/null ||
		timeout "$DEADLINE" fusermount3 -u -z -q "$1" 2>/dev/null ||
		timeout "$DEADLINE" umount -l "$1" 2>/dev/null || true
}

# wait_mounted MNT PID LOG: waits for the shmfs mount at MNT, failing early
# (with the log) if PID died first.
wait_mounted() {
	local mnt=$1 pid=$2 log=$3 i
	for ((i = 0; i < DEADLINE * 20; i++)); do
		if is_mounted "$mnt"; then
			[[ $(mount_type "$mnt") == fuse.shmfs ]] || {
				fail "$mnt is mounted as $(mount_type "$mnt"), not fuse.shmfs"
				return 1
			}
			[[ ${SHMFS_TRANSPORT:-} != uring ]] && return 0
			# (retried: a fault test may fail the first request)
			wait_until 5 grep -qx 'transport io_uring' "$mnt/.stats" &&
				return 0
			fail "the ring leg: $mnt is not served through io_uring" \
				"($(grep '^transport' "$mnt/.stats")); log:" \
				"$(cat "$log" 2>/dev/null)"
			return 1
		fi
		if ! pid_alive "$pid"; then
			fail "shmfs (pid $pid) died before mounting $mnt; its log:" \
				"$(cat "$log" 2>/dev/null)"
			return 1
		fi
		sleep 0.05
	done
	fail "$mnt not mounted after ${DEADLINE}s; log: $(cat "$log" 2>/dev/null)"
}

# spawn_daemon MNT ARG...: runs "shmfs ARG... MNT" in the background with
# its output in MNT.log, and returns at once (for the tests of what happens
# before the mount; start_daemon waits for it). Sets DAEMON_PID and
# DAEMON_LOG.
spawn_daemon() {
	local mnt=$1
	shift
	mkdir -p "$mnt"
	DAEMON_LOG=$mnt.log
	"$SHMFS" "$@" "$mnt" >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
}

# start_daemon CONF MNT [ARG...]: runs "shmfs -f -c CONF ARG... MNT" in the
# background (spawn_daemon) and waits for the mount, failing early if the
# daemon died. Sets DAEMON_PID and DAEMON_LOG.
start_daemon() {
	local conf=$1 mnt=$2
	shift 2
	spawn_daemon "$mnt" -f -c "$conf" "$@"
	wait_mounted "$mnt" "$DAEMON_PID" "$DAEMON_LOG"
}

# run_shmfs ARG...: runs "shmfs ARG..." in the foreground to its end, at
# most RUN_DEADLINE seconds (the deadline unless set; then SIGTERM, and
# SIGKILL 2 s later). Sets STATUS, and OUT and ERR (its stdout and stderr,
# also in $WORK/out and $WORK/err).
# shellcheck disable=SC2034 # STATUS, OUT and ERR are the scripts'
run_shmfs() {
	STATUS=0
	timeout -k 2 "${RUN_DEADLINE:-$DEADLINE}" "$SHMFS" "$@" \
		>"$WORK/out" 2>"$WORK/err" || STATUS=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

# mount_or_bail [-w WORKERS] CONF MNT [NOTE [ARG...]]: starts the daemon
# that the whole script tests (start_daemon CONF MNT ARG...) and, with -w,
# waits for its WORKERS workers: "ok - daemon_mounts_the_zones (NOTE)".
# If either fails, says why and ends the script: no test could run, and
# one that found fewer workers than the file says would fail for the
# wrong reason.
mount_or_bail() {
	local workers=0 conf mnt note up=1
	if [[ $1 == -w ]]; then
		workers=$2
		shift 2
	fi
	conf=$1 mnt=$2 note=${3:-}
	shift $(($# < 3 ? $# : 3))
	start_daemon "$conf" "$mnt" "$@" 2>"$WORK/start.err" || up=0
	if ((up && workers > 0)); then
		wait_for_workers "$DAEMON_PID" "$workers" 2>>"$WORK/start.err" ||
			up=0
	fi
	if ((!up)); then
		echo "not ok - daemon_mounts_the_zones"
		sed 's/^/#   /' "$WORK/start.err"
		exit 1
	fi
	echo "ok - daemon_mounts_the_zones${note:+ ($note)}"
}

# reload_daemon CMD...: runs CMD (kill -HUP "$DAEMON_PID", shmfs -s reload
# ...) and waits for one "reloaded" line more in $DAEMON_LOG than there
# was before.
reload_daemon() {
	local before
	before=$(count_lines "$DAEMON_LOG" reloaded)
	"$@" || fail "$* failed" || return 1
	wait_for_count "$DAEMON_LOG" reloaded $((before + 1))
}

# The script's daemon (at $MNT, $DAEMON_PID) ends with 0 on fusermount3 -u.
unmount_stops_the_daemon_with_status_0() {
	stop_daemon "$MNT" "$DAEMON_PID"
}

# stop_daemon MNT PID: fusermount3 -u, then requires the daemon to exit 0
# within the deadline, leaving no mount and none of its workers.
stop_daemon() {
	local mnt=$1 pid=$2 workers
	workers=$(worker_pids "$pid")
	timeout "$DEADLINE" fusermount3 -u "$mnt" || {
		fail "fusermount3 -u $mnt failed"
		return 1
	}
	expect_daemon_exit "$pid" 0 "$workers" || return 1
	assert_not_mounted "$mnt"
}

# expect_daemon_exit PID STATUS "WORKERS": requires the daemon (a child of
# this shell) to exit with STATUS within the deadline, its workers with it.
expect_daemon_exit() {
	local pid=$1 want=$2 workers=$3 w
	if ! wait_child_exit "$pid"; then
		fail "shmfs (pid $pid) still running ${DEADLINE}s later"
		return 1
	fi
	if [[ $EXIT_STATUS != "$want" ]]; then
		fail "shmfs exited with $EXIT_STATUS, expected $want; log:" \
			"$(cat "$DAEMON_LOG" 2>/dev/null)"
		return 1
	fi
	for w in $workers; do
		# The master waits for its workers; give stragglers a moment.
		wait_gone "$w" 2 ||
			fail "worker $w ($(pid_comm "$w")) outlived its master" ||
			return 1
	done
}

# ---------------------------------------------------------------- SysV

# Shared memory segment ids, one a line.
shm_ids() {
	ipcs -m 2>/dev/null | awk '$2 ~ /^[0-9]+$/ { print $2 }' | sort
}

# Segments made since setup by one of our processes (a daemon or worker this
# script started), never another program's: "SHMID CPID" lines.
new_shm_segments() {
	local id cpid
	ipcs -m -p 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1, $3 }' |
		while read -r id cpid; do
			grep -qxF "$id" "$WORK/.shm-before" && continue
			if grep -qxF "$cpid" "$WORK/.pids"; then
				echo "$id $cpid"
			fi
		done
}

# The status column of segment ID ("dest" once IPC_RMID is done).
shm_status() {
	ipcs -m | awk -v id="$1" '$2 == id { print $7 }'
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? mnt pid id cpid
	trap - EXIT HUP INT TERM
	set +e
	# What a script made outside $WORK (posix objects, keyed segments).
	! declare -F extra_cleanup >/dev/null || extra_cleanup
	# A test interrupted half-way runs in its own process group.
	[[ -z $CURRENT_TEST ]] || kill -KILL -- "-$CURRENT_TEST" 2>/dev/null
	if [[ -n $WORK && -d $WORK ]]; then
		for mnt in $(mounts_under "$WORK"); do
			force_unmount "$mnt"
		done
		for pid in $(our_pids); do
			stop_pid "$pid"
		done
		new_shm_segments | while read -r id cpid; do
			ipcrm -m "$id" 2>/dev/null
		done
		for mnt in $(mounts_under "$WORK"); do
			umount -l "$mnt" 2>/dev/null
		done
		restore_uring
		rm -rf --one-file-system "$WORK"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- harness

# fail MESSAGE...: states why a check failed; returns 1.
fail() {
	echo "$*" >&2
	TEST_FAILED=1
	return 1
}

report() {
	local name=$1 rc=$2 out=$3
	if ((rc == 0)); then
		echo "ok - $name"
		TESTS_PASSED=$((TESTS_PASSED + 1))
	else
		echo "not ok - $name"
		sed 's/^/#   /' "$out"
		TESTS_FAILED=$((TESTS_FAILED + 1))
	fi
}

# run_test NAME: runs the function NAME in a subshell with errexit, in its
# own process group so that a test stuck past TEST_TIMEOUT can be killed with
# everything it started; reports ok / not ok with the reason. A mount or
# daemon process the test leaves behind fails it, and is cleaned up so that
# the next test starts clean.
run_test() {
	local name=$1 out="$WORK/.test.out" pid watchdog who rc
	local mounts_before pids_before
	mounts_before=$(mounts_under "$WORK")
	pids_before=$(our_pids)
	set +e
	set -m
	(
		set -eE -o pipefail
		trap 'rc=$?; [[ $BASH_COMMAND == return* ]] ||
			echo "failed (status $rc): $BASH_COMMAND" >&2' ERR
		cd "$WORK"
		"$name"
	) >"$out" 2>&1 </dev/null &
	pid=$!
	CURRENT_TEST=$pid
	set +m
	sleep "$TEST_TIMEOUT" &
	watchdog=$!
	wait -n -p who "$pid" "$watchdog"
	rc=$?
	if [[ $who != "$pid" ]]; then
		echo "timed out after ${TEST_TIMEOUT}s" >>"$out"
		kill -KILL -- "-$pid" 2>/dev/null
		if ! wait_gone "$pid" 2; then
			# Stuck in a request no worker answers: only the end of the
			# daemon (the FUSE connection) releases it.
			echo "stuck in the file system; killing the daemons" >>"$out"
			for who in $(our_pids); do
				kill -KILL "$who" 2>/dev/null
			done
		fi
		wait_gone "$pid" 5 && wait "$pid" 2>/dev/null
		rc=124
	else
		kill "$watchdog" 2>/dev/null
		wait "$watchdog" 2>/dev/null
	fi
	CURRENT_TEST=""
	set -e
	clean_up_after_test "$mounts_before" "$pids_before" >>"$out" 2>&1 ||
		{ ((rc != 0)) || rc=1; }
	report "$name" "$rc" "$out"
}

# clean_up_after_test "MOUNTS BEFORE" "PIDS BEFORE": unmounts and stops what
# a test left behind; returns 1 if there was anything.
clean_up_after_test() {
	local before_m=$1 before_p=$2 mnt pid left=0
	for mnt in $(mounts_under "$WORK"); do
		grep -qxF "$mnt" <<<"$before_m" && continue
		echo "left mounted: $mnt (unmounted now)"
		force_unmount "$mnt"
		left=1
	done
	for pid in $(our_pids); do
		grep -qxF "$pid" <<<"$before_p" && continue
		# Workers of an unmounted daemon may take a moment to go.
		wait_gone "$pid" 2 && continue
		echo "left running: $pid ($(pid_comm "$pid")) (stopped now)"
		stop_pid "$pid"
		left=1
	done
	return "$left"
}

# run_test_here NAME: like run_test but in this shell, for checks that wait
# on a daemon this shell started. NAME must return 1 on failure itself.
#
# Called as "$name" || rc=$?, NAME runs without errexit (bash ignores it in a
# function called from a || list), so a failed check must not rely on it:
# every check goes through fail (or an assert_*), which sets TEST_FAILED.
run_test_here() {
	local name=$1 out="$WORK/.test.out" rc=0
	TEST_FAILED=0
	"$name" >"$out" 2>&1 </dev/null || rc=$?
	((TEST_FAILED == 0)) || ((rc != 0)) || rc=1
	report "$name" "$rc" "$out"
}

# Nothing this script made is left: no mount under $WORK, no shmfs process,
# no SysV segment.
nothing_is_left_behind() {
	local left
	left=$(mounts_under "$WORK")
	[[ -z $left ]] || fail "still mounted: $left" || return 1
	left=$(our_pids | tr '\n' ' ')
	[[ -z $left ]] || fail "shmfs processes left: $left" || return 1
	left=$(new_shm_segments | tr '\n' ' ')
	[[ -z $left ]] || fail "SysV segments left (id cpid): $left" || return 1
}

# Prints the summary; the script's status is 1 if anything failed.
finish() {
	echo "# $TESTS_PASSED passed, $TESTS_FAILED failed"
	((TESTS_FAILED == 0)) || exit 1
	exit 0
}

# ---------------------------------------------------------------- assertions

assert_eq() {
	local want=$1 got=$2 what=${3:-value}
	[[ $want == "$got" ]] || fail "$what: expected '$want', got '$got'"
}

assert_match() {
	local regex=$1 got=$2 what=${3:-value}
	[[ $got =~ $regex ]] || fail "$what: '$got' does not match /$regex/"
}

assert_contains() {
	local text=$1 needle=$2 what=${3:-output}
	[[ $text == *"$needle"* ]] || fail "$what does not contain '$needle': $text"
}

assert_mounted() {
	is_mounted "$1" || fail "$1 is not mounted"
}

assert_not_mounted() {
	! is_mounted "$1" || fail "$1 is still mounted"
}

# assert_same_content FILE1 FILE2
assert_same_content() {
	cmp -s -- "$1" "$2" || fail "$1 and $2 differ: $(cmp -- "$1" "$2" 2>&1)"
}

# The strerror text of an errno name (EPERM -> "Operation not permitted").
errno_text() {
	python3 -c 'import errno, os, sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$1"
}

# assert_fails_with ERRNO CMD...: CMD must fail and say strerror(ERRNO).
assert_fails_with() {
	local name=$1 text out
	shift
	text=$(errno_text "$name") || return 1
	if out=$("$@" 2>&1); then
		fail "expected $name, but it succeeded: $*"
		return 1
	fi
	[[ $out == *"$text"* ]] ||
		fail "expected $name ($text) from: $*; got: $out"
}

# assert_one_of WORD "W1 W2..." [WHAT]
assert_one_of() {
	local got=$1 set=$2 what=${3:-value} w
	for w in $set; do
		[[ $got == "$w" ]] && return 0
	done
	fail "$what: '$got' is not one of: $set"
}

# assert_one_line TEXT [WHAT]: exactly one non-empty line.
assert_one_line() {
	local text=$1 what=${2:-stderr}
	[[ -n $text && $text != *$'\n'* ]] ||
		fail "$what should be exactly one line, got: '$text'"
}

# file_size FILE
file_size() {
	stat -c %s -- "$1"
}

# zeros N: N zero bytes on stdout.
zeros() {
	head -c "$1" /dev/zero
}

# fsop OP PATH ARG...: one system call from Python, where the shell cannot
# say what is wanted (pwrite at an offset, O_APPEND, fsync, exact errno).
# Prints the result (a count, "ok") or the errno name ("ENOSPC").
#   pwrite PATH OFFSET COUNT [CHAR]   writes COUNT CHARs (default x) at OFFSET
#   pread PATH OFFSET COUNT           prints how many bytes came back
#   read_at PATH OFFSET COUNT         the bytes themselves
#   append PATH TEXT                  O_WRONLY|O_APPEND write
#   truncate PATH LENGTH              truncate(2)
#   open_trunc PATH                   open(O_WRONLY|O_TRUNC)
#   fsync PATH                        fsync(2) and fdatasync(2)
#   seek_data PATH OFFSET             lseek(SEEK_DATA): the offset or ENXIO
#   seek_hole PATH OFFSET             lseek(SEEK_HOLE)
#   copy SRC DST OFF_IN OFF_OUT COUNT copy_file_range(2): bytes copied
fsop() {
	python3 -c '
import errno, os, sys
op, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    if op == "pwrite":
        ch = (args[2] if len(args) > 2 else "x").encode()
        fd = os.open(path, os.O_WRONLY)
        print(os.pwrite(fd, ch * int(args[1]), int(args[0])))
    elif op == "pread":
        fd = os.open(path, os.O_RDONLY)
        print(len(os.pread(fd, int(args[1]), int(args[0]))))
    elif op == "read_at":
        fd = os.open(path, os.O_RDONLY)
        sys.stdout.buffer.write(os.pread(fd, int(args[1]), int(args[0])))
    elif op == "append":
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        print(os.write(fd, args[0].encode()))
    elif op == "truncate":
        os.truncate(path, int(args[0]))
        print("ok")
    elif op == "open_trunc":
        os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
        print("ok")
    elif op in ("seek_data", "seek_hole"):
        fd = os.open(path, os.O_RDONLY)
        how = os.SEEK_DATA if op == "seek_data" else os.SEEK_HOLE
        print(os.lseek(fd, int(args[0]), how))
    elif op == "copy":
        src = os.open(path, os.O_RDONLY)
        dst = os.open(args[0], os.O_WRONLY)
        print(os.copy_file_range(src, dst, int(args[3]), int(args[1]),
                                 int(args[2])))
    elif op == "fsync":
        fd = os.open(path, os.O_RDWR)
        os.fsync(fd)
        os.fdatasync(fd)
        os.close(fd)
        print("ok")
    else:
        sys.exit("fsop: unknown op " + op)
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
' "$@"
}
