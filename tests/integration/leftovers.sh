#!/bin/bash
# SPDX-License-Identifier: MIT
#
# leftovers.sh -- a crash never blocks the next start: after kill -9 of
# the master and its workers, the posix object and keyed SysV segment the
# daemon created are still there (nobody removed them); a plain start
# adopts them with their bytes (one log line each), and the next clean
# stop removes them, unless keep = yes, which keeps them for the start
# after. Another program's object of the same user is still refused.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

: "${PEER:=$SHMFS_SRCDIR/build/tests/integration/peer}"
require_helper "$PEER"

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
P=/shmfs-leftovers-$$ # posix names of this run
KEY=$(printf '0x5f34%04x' $(($$ & 0xffff)))

extra_cleanup() {
	rm -f "/dev/shm$P" "/dev/shm$P-theirs"
	ipcrm -M "$KEY" 2>/dev/null || true
}

# conf KEEP: a posix and a keyed sysv zone, kept or not.
conf() {
	cat >"$CONF" <<EOF
[shmfs]
workers = 2
[zone:posix]
backend = posix
name    = $P
size    = 64K
keep    = $1
[zone:keyed]
backend = sysv
key     = $KEY
size    = 64K
keep    = $1
EOF
}

# crash: kill -9 of the master and of its workers (they would die with
# it anyway: PDEATHSIG), waiting until every one is gone; then the dead
# mount, which answers ENOTCONN, is unmounted.
crash() {
	local pids pid
	pids="$DAEMON_PID $(worker_pids "$DAEMON_PID")"
	# shellcheck disable=SC2086
	kill -KILL $pids
	for pid in $pids; do
		wait_gone "$pid" || fail "pid $pid survived SIGKILL" || return 1
	done
	wait "$DAEMON_PID" 2>/dev/null || true
	assert_fails_with ENOTCONN stat "$MNT/posix"
	timeout "$DEADLINE" fusermount3 -u "$MNT" || fail "fusermount3 -u of the dead mount"
	assert_not_mounted "$MNT"
}

# bytes FILE OFFSET LEN
bytes() {
	dd if="$1" bs=1 skip="$2" count="$3" status=none
}

segment_exists() {
	ipcs -m | awk -v k="$KEY" 'tolower($1) == k { found = 1 } END { exit !found }'
}

a_restart_after_kill_9_adopts_the_objects_with_their_bytes() {
	extra_cleanup # what a failed test before left
	conf no
	start_daemon "$CONF" "$MNT" || return 1
	wait_for_workers "$DAEMON_PID" 2
	printf 'posix bytes' | dd of="$MNT/posix" bs=1 seek=100 conv=notrunc status=none
	printf 'sysv bytes' | dd of="$MNT/keyed" bs=1 seek=200 conv=notrunc status=none
	crash || return 1
	[[ -e /dev/shm$P ]] || fail "the posix object went with the crash"
	segment_exists || fail "the segment went with the crash"
	local out
	out=$("$SHMFS" -t -c "$CONF" 2>&1) || fail "-t refused the leftovers: $out"
	assert_contains "$out" "posix object $P left by a previous run: the start adopts it with its bytes"
	assert_contains "$out" "the segment with key $KEY left by a previous run: the start adopts it"
	start_daemon "$CONF" "$MNT" || return 1
	assert_eq "posix bytes" "$(bytes "$MNT/posix" 100 11)" "posix zone after the crash"
	assert_eq "sysv bytes" "$(bytes "$MNT/keyed" 200 10)" "sysv zone after the crash"
	"$PEER" posix "$P" read 100 11 | grep -qx "posix bytes" || fail "the peer does not see them"
	assert_one_line "$(grep "posix object $P left by a previous run: adopted with its bytes" "$DAEMON_LOG")"
	assert_one_line "$(grep "the segment with key $KEY left by a previous run: adopted with its bytes" "$DAEMON_LOG")"
	# A second start while this one runs: in use, not taken over.
	mkdir -p "$WORK/mnt2"
	out=$(timeout "$DEADLINE" "$SHMFS" -f -c "$CONF" "$WORK/mnt2" 2>&1) &&
		fail "a second daemon started on the objects in use: $out"
	assert_contains "$out" "is in use by a running shmfs"
	stop_daemon "$MNT" "$DAEMON_PID"
	[[ ! -e /dev/shm$P ]] || fail "the adopted posix object outlived a clean stop"
	! segment_exists || fail "the adopted segment outlived a clean stop"
}

with_keep_the_adopted_objects_outlive_the_stop() {
	extra_cleanup # what a failed test before left
	conf yes
	start_daemon "$CONF" "$MNT" || return 1
	printf 'kept' | dd of="$MNT/posix" conv=notrunc status=none
	printf 'kept' | dd of="$MNT/keyed" conv=notrunc status=none
	crash || return 1
	start_daemon "$CONF" "$MNT" || return 1
	assert_eq kept "$(bytes "$MNT/posix" 0 4)" "posix zone after the crash"
	assert_eq kept "$(bytes "$MNT/keyed" 0 4)" "sysv zone after the crash"
	stop_daemon "$MNT" "$DAEMON_PID"
	[[ -e /dev/shm$P ]] || fail "keep = yes: the posix object was removed"
	segment_exists || fail "keep = yes: the segment was removed"
	# And the start after a clean stop finds them as its own again.
	start_daemon "$CONF" "$MNT" || return 1
	assert_eq kept "$(bytes "$MNT/keyed" 0 4)" "sysv zone after a stop"
	stop_daemon "$MNT" "$DAEMON_PID"
	rm -f "/dev/shm$P"
	ipcrm -M "$KEY"
}

another_programs_object_of_the_same_user_is_refused() {
	local out
	extra_cleanup
	conf no
	"$PEER" posix "$P" create 65536
	out=$(timeout "$DEADLINE" "$SHMFS" -f -c "$CONF" "$MNT" 2>&1) &&
		fail "started on another program's object: $out"
	assert_contains "$out" "posix object $P exists (/dev/shm$P): set attach = yes"
	[[ -e /dev/shm$P ]] || fail "another program's object was removed"
	assert_not_mounted "$MNT"
	rm -f "/dev/shm$P"
}

run_test a_restart_after_kill_9_adopts_the_objects_with_their_bytes
run_test with_keep_the_adopted_objects_outlive_the_stop
run_test another_programs_object_of_the_same_user_is_refused
run_test nothing_is_left_behind
finish
