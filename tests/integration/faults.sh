#!/bin/bash
# SPDX-License-Identifier: MIT
#
# faults.sh -- with a daemon built with -Dfault_injection=true: a worker
# that dies while it holds a request makes that request fail at once (never
# a hang), on its own /dev/fuse clone and on the shared descriptor alike; a
# worker that dies holding a zone's lock leaves nothing locked and no stray
# bytes past the length; a worker that makes a system call its seccomp
# filter denies dies, is logged with the call, and is replaced; the pool is
# whole again afterwards. A reply the kernel does not take (a bad buffer, a
# header it rejects) fails its caller with EIO at once and kills no worker.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

require_fault_build

CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = info

[zone:d]
size  = 64K
cache = direct
EOF

# The ring leg (SHMFS_TRANSPORT=uring): a dead worker's request is not
# resent (the kernel resends only /dev/fuse's) but served again by its
# replacement from the ring buffers, or failed with EIO where serving it
# twice is not safe (uring_worker.c, docs/io_uring.md).
RINGS=0
[[ ${SHMFS_TRANSPORT:-} != uring ]] || RINGS=1
if ((RINGS)); then
	RESENT="of the dead worker served again"
else
	RESENT="were resent"
fi

# with_fault SPEC NAME: mounts with SHMFS_FAULT=SPEC at $WORK/NAME.
with_fault() {
	MNT=$WORK/$2
	SHMFS_FAULT=$1 start_daemon "$CONF" "$MNT"
	wait_for_workers "$DAEMON_PID" 2
}

# succeeds_within_a_second CMD...: CMD succeeds, though the worker that
# read its request died: the request was resent to a new one.
succeeds_within_a_second() {
	local start=$SECONDS status=0
	timeout -s KILL 3 "$@" || status=$?
	((status != 124 && status != 137)) || fail "$* hung"
	((status == 0)) || fail "$* failed ($status) though it was resent"
	((SECONDS - start <= 1)) || fail "$* took $((SECONDS - start)) s"
}

pool_is_whole_and_serves() {
	wait_for_workers "$DAEMON_PID" 2
	track_pid $(worker_pids "$DAEMON_PID")
	wait_for_line "$DAEMON_LOG" "killed by signal 9"
}

a_read_held_by_a_dying_worker_is_resent_and_answered() {
	with_fault read:1 clone
	echo hello >"$MNT/d"
	assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "the read"
	pool_is_whole_and_serves
	wait_for_line "$DAEMON_LOG" "$RESENT"
	assert_eq hello "$(cat "$MNT/d")" "the next read"
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_read_held_on_the_shared_descriptor_is_resent_too() {
	with_fault no_clone,read:1 shared
	wait_for_line "$DAEMON_LOG" "share one descriptor"
	echo hello >"$MNT/d"
	assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "the read"
	pool_is_whole_and_serves
	wait_for_line "$DAEMON_LOG" "$RESENT"
	stop_daemon "$MNT" "$DAEMON_PID"
}

# Without a resend (a kernel before 6.9, as no_resend pretends), a dead
# worker's request fails at once (ECONNABORTED: its clone is closed), on
# the shared descriptor with EIO (the master answers it): never a hang.
a_read_held_by_a_dying_worker_fails_at_once_without_resend() {
	local start=$SECONDS status=0
	with_fault no_resend,read:1 noresend
	echo hello >"$MNT/d"
	if ((RINGS)); then # the ring buffers need no resend
		assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "the read"
		pool_is_whole_and_serves
		wait_for_line "$DAEMON_LOG" "$RESENT"
		stop_daemon "$MNT" "$DAEMON_PID"
		return
	fi
	timeout -s KILL 3 cat "$MNT/d" >/dev/null 2>"$WORK/noresend.err" ||
		status=$?
	((status != 137)) || fail "the read hung"
	((status != 0)) || fail "the read succeeded though its worker died"
	((SECONDS - start <= 2)) || fail "it took $((SECONDS - start)) s"
	grep -q "Software caused connection abort" "$WORK/noresend.err" ||
		fail "not ECONNABORTED: $(cat "$WORK/noresend.err")"
	pool_is_whole_and_serves
	assert_eq hello "$(cat "$MNT/d")" "the next read"
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_read_held_on_the_shared_descriptor_is_answered_without_resend() {
	local status=0
	with_fault no_resend,no_clone,read:1 sharednoresend
	wait_for_line "$DAEMON_LOG" "share one descriptor"
	echo hello >"$MNT/d"
	if ((RINGS)); then
		assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "the read"
		pool_is_whole_and_serves
		wait_for_line "$DAEMON_LOG" "$RESENT"
		stop_daemon "$MNT" "$DAEMON_PID"
		return
	fi
	timeout -s KILL 3 cat "$MNT/d" >/dev/null 2>&1 || status=$?
	((status != 137)) || fail "the read hung"
	((status != 0)) || fail "the read succeeded though its worker died"
	wait_for_line "$DAEMON_LOG" "answered with EIO"
	pool_is_whole_and_serves
	stop_daemon "$MNT" "$DAEMON_PID"
}

# A request that kills whoever serves it must not loop for ever: once a
# slot's workers crashed twice right after their start, what they held
# fails with ECONNABORTED.
a_request_that_keeps_crashing_workers_fails_in_the_end() {
	local start=$SECONDS status=0
	with_fault read_crash:50 poison
	echo hello >"$MNT/d"
	timeout -s KILL 10 cat "$MNT/d" >/dev/null 2>"$WORK/poison.err" ||
		status=$?
	((status != 137)) || fail "the read hung"
	((status != 0)) || fail "the read succeeded though it kills workers"
	if ((RINGS)); then # served again once, then failed
		grep -q "$(errno_text EIO)" "$WORK/poison.err" ||
			fail "not EIO: $(cat "$WORK/poison.err")"
		wait_for_line "$DAEMON_LOG" "of the dead worker answered with EIO"
		assert_eq 2 "$(grep -c 'killed by signal 6' "$DAEMON_LOG")" \
			"workers it killed"
	else
		grep -q "Software caused connection abort" "$WORK/poison.err" ||
			fail "not ECONNABORTED: $(cat "$WORK/poison.err")"
		wait_for_line "$DAEMON_LOG" "kept dying right after their start"
	fi
	echo "failed after $((SECONDS - start)) s:" \
		"$(grep -c 'killed by signal 6' "$DAEMON_LOG") workers died"
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_worker_dying_in_a_write_with_the_lock_held_leaves_it_usable() {
	with_fault write_locked:1 write
	# The first write dies with half its bytes copied, the lock held; it
	# is resent, and the next locker zeroes the half-copied bytes first.
	succeeds_within_a_second python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
assert os.pwrite(fd, b"x" * 8192, 4) == 8192' "$MNT/d"
	pool_is_whole_and_serves
	wait_for_line "$DAEMON_LOG" "lock recovered"
	assert_eq 8196 "$(file_size "$MNT/d")" "length after the resent write"
	timeout 5 truncate -s 64K "$MNT/d" || fail "truncate after the death"
	python3 - "$MNT/d" <<'PY' || fail "stray bytes"
import sys
data = open(sys.argv[1], "rb").read()
want = bytes(4) + b"x" * 8192
assert data == want + bytes(65536 - len(want)), "stray bytes"
PY
	printf 'keep' | timeout 5 dd of="$MNT/d" conv=notrunc status=none ||
		fail "a write after the death failed"
	assert_eq keep "$(head -c 4 "$MNT/d")" "the next write"
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_worker_dying_in_a_shrink_leaves_the_tail_zero() {
	with_fault truncate_locked:1 shrink
	head -c 65536 /dev/urandom >"$MNT/d" || true
	if ((RINGS)); then # a setattr is not served twice: EIO, at once
		assert_fails_with EIO timeout -s KILL 3 truncate -s 100 "$MNT/d"
		pool_is_whole_and_serves
		timeout 5 truncate -s 100 "$MNT/d" || fail "the next shrink"
	else
		succeeds_within_a_second truncate -s 100 "$MNT/d"
		pool_is_whole_and_serves
	fi
	assert_eq 100 "$(file_size "$MNT/d")" "length after the resent shrink"
	timeout 5 truncate -s 64K "$MNT/d" || fail "truncate after the death"
	python3 - "$MNT/d" <<'PY' || fail "the tail past 100 is not zero"
import sys
data = open(sys.argv[1], "rb").read()
assert len(data) == 65536 and data[100:] == bytes(65436), "tail not zero"
PY
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_worker_making_a_denied_system_call_is_logged_and_replaced() {
	with_fault forbidden_syscall:1 seccomp
	wait_for_line "$DAEMON_LOG" "seccomp filter denies"
	assert_match "worker [01] \(pid [0-9]+\) made system call [0-9]+ \(getpgrp\), which the seccomp filter denies: replaced" \
		"$(grep "seccomp" "$DAEMON_LOG")" "the master's line"
	wait_for_workers "$DAEMON_PID" 2
	echo after >"$MNT/d"
	assert_eq after "$(cat "$MNT/d")" "the pool serves again"
	stop_daemon "$MNT" "$DAEMON_PID"
}

# a_failed_reply FAULT NAME: a READ whose reply the kernel does not take
# (SHMFS_FAULT=FAULT) fails with EIO at once, and no worker dies of it.
a_failed_reply() {
	local before after err reader
	with_fault "$1:1" "$2"
	echo hello >"$MNT/d"
	before=$(worker_pids "$DAEMON_PID" | sort)
	# In the background: a reader whose request the kernel keeps waits
	# in D state, deaf even to SIGKILL, until the connection ends.
	cat "$MNT/d" >/dev/null 2>"$WORK/$2.err" &
	reader=$!
	if ! wait_child_exit "$reader" 3; then
		fail "the read hung"
		kill -KILL "$DAEMON_PID" # the connection ends: the reader too
		wait_child_exit "$reader"
		force_unmount "$MNT"
		return 1
	fi
	err=$(cat "$WORK/$2.err")
	((EXIT_STATUS != 0)) || fail "the read succeeded"
	assert_contains "$err" "$(errno_text EIO)" "cat's error"
	wait_for_line "$DAEMON_LOG" "the reply to request [0-9]+ "
	assert_eq hello "$(cat "$MNT/d")" "the next read"
	after=$(worker_pids "$DAEMON_PID" | sort)
	assert_eq "$before" "$after" "worker pids"
	! grep -E "seccomp filter denies|killed by signal|exited with" \
		"$DAEMON_LOG" || fail "a worker died"
	stop_daemon "$MNT" "$DAEMON_PID"
}

# EFAULT in the payload: the kernel ends the request with EIO itself.
a_reply_from_an_unmapped_buffer_fails_with_eio_and_kills_no_worker() {
	if ((RINGS)); then
		# The reply is copied into the entry by the worker, not by the
		# kernel: the worker dies of the bad buffer mid-reply, and its
		# replacement answers EIO (the request is half overwritten).
		with_fault reply_unmapped:1 unmapped
		echo hello >"$MNT/d"
		assert_fails_with EIO timeout -s KILL 3 cat "$MNT/d"
		wait_for_line "$DAEMON_LOG" "killed by signal 11"
		wait_for_line "$DAEMON_LOG" "of the dead worker answered with EIO"
		wait_for_workers "$DAEMON_PID" 2
		assert_eq hello "$(cat "$MNT/d")" "the next read"
		stop_daemon "$MNT" "$DAEMON_PID"
		return
	fi
	a_failed_reply reply_unmapped unmapped || return 1
	assert_match "the reply to request [0-9]+ failed; the kernel answered it with EIO \(14: Bad address\)" \
		"$(grep "the reply to request" "$DAEMON_LOG")" "the worker's line"
}

# EINVAL for the header: the kernel keeps the request; the worker ends it.
a_reply_the_kernel_rejects_is_answered_with_eio_by_the_worker() {
	a_failed_reply reply_rejected rejected || return 1
	assert_match "the reply to request [0-9]+ was refused; answered with EIO \(22: Invalid argument\)" \
		"$(grep "the reply to request" "$DAEMON_LOG")" "the worker's line"
}

a_forced_passthrough_failure_falls_back_to_page_mode_once() {
	local conf=$WORK/pt.ini
	printf '[shmfs]\nworkers = 2\n[zone:p]\nsize = 64K\ncache = passthrough\n' >"$conf"
	MNT=$WORK/pt
	SHMFS_FAULT=no_passthrough start_daemon "$conf" "$MNT"
	assert_eq 1 "$(grep -c "passthrough unavailable" "$DAEMON_LOG")" \
		"fallback lines"
	assert_eq page "$(awk '$1 == "zone.p.cache" { print $2 }' "$MNT/.stats")"
	echo hello >"$MNT/p"
	assert_eq hello "$(head -n 1 "$MNT/p")" "the zone serves"
	assert_eq 65536 "$(file_size "$MNT/p")" "fixed size in page mode"
	stop_daemon "$MNT" "$DAEMON_PID"
}

# Ring workers die at every point of their life (issue 17): before they
# registered an entry, holding a request, with the reply half written.
# No caller hangs, and only a half-overwritten request fails (EIO).
a_ring_worker_dying_before_it_registered_is_replaced() {
	with_fault uring_setup:1 setup
	wait_for_line "$DAEMON_LOG" "killed by signal 9"
	echo hello >"$MNT/d"
	assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "a read after"
	wait_for_workers "$DAEMON_PID" 2
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_ring_worker_crashing_on_a_request_is_replaced_and_it_is_served() {
	with_fault uring_serve_crash:1 servecrash
	echo hello >"$MNT/d" || true # one of these requests dies once
	assert_eq hello "$(succeeds_within_a_second cat "$MNT/d")" "the read"
	wait_for_line "$DAEMON_LOG" "killed by signal 6"
	wait_for_line "$DAEMON_LOG" "$RESENT"
	wait_for_workers "$DAEMON_PID" 2
	stop_daemon "$MNT" "$DAEMON_PID"
}

a_ring_worker_dying_mid_reply_fails_that_request_with_eio() {
	local status=0
	with_fault uring_reply_crash:1 replycrash
	timeout -s KILL 3 stat "$MNT/d" >/dev/null 2>"$WORK/reply.err" ||
		status=$?
	((status != 137)) || fail "the request hung"
	if ((status != 0)); then
		grep -q "$(errno_text EIO)" "$WORK/reply.err" ||
			fail "not EIO: $(cat "$WORK/reply.err")"
	fi
	wait_for_line "$DAEMON_LOG" "of the dead worker answered with EIO"
	wait_for_workers "$DAEMON_PID" 2
	echo after >"$MNT/d"
	assert_eq after "$(cat "$MNT/d")" "the pool serves again"
	stop_daemon "$MNT" "$DAEMON_PID"
}

# A ring queue nobody can serve would hold its CPU's callers for ever:
# the master aborts the connection, and they get ENOTCONN.
a_ring_slot_no_worker_can_fill_aborts_the_mount() {
	local caller
	MNT=$WORK/abort
	mkdir -p "$MNT"
	# A caller that is there as soon as the mount is: its request waits
	# for rings that never get an entry (or the mount is gone already).
	(
		for ((i = 0; i < 20000; i++)); do
			mapfile -t lines </proc/self/mountinfo # no fork
			[[ " ${lines[*]} " != *" $MNT "* ]] || exec stat "$MNT/d"
		done
		exit 99 # it came and went unseen
	) >/dev/null 2>"$WORK/abort.err" &
	caller=$!
	SHMFS_FAULT=uring_start_crash:1000 spawn_daemon "$MNT" -f -c "$CONF"
	wait_for_line "$DAEMON_LOG" "the mount is aborted: worker of CPU [0-9]+ cannot be replaced"
	wait_child_exit "$DAEMON_PID" || fail "the daemon did not exit"
	assert_eq 2 "$EXIT_STATUS" "the daemon's exit status"
	# Never a hang: ENOTCONN if it waited on the mount (busy, the abort
	# kept it), ENOENT if the forced unmount came first.
	wait_child_exit "$caller" 5 || {
		fail "the caller still waits"
		kill -KILL "$caller"
	}
	((EXIT_STATUS != 0)) || fail "the caller's stat succeeded"
	((EXIT_STATUS == 99)) ||
		grep -qE "$(errno_text ENOTCONN)|$(errno_text ENOENT)" "$WORK/abort.err" ||
		fail "neither ENOTCONN nor ENOENT: $(cat "$WORK/abort.err")"
	force_unmount "$MNT"
}

if ((RINGS)); then
	run_test_here a_ring_worker_dying_before_it_registered_is_replaced
	run_test_here a_ring_worker_crashing_on_a_request_is_replaced_and_it_is_served
	run_test_here a_ring_worker_dying_mid_reply_fails_that_request_with_eio
	run_test_here a_ring_slot_no_worker_can_fill_aborts_the_mount
fi
run_test_here a_read_held_by_a_dying_worker_is_resent_and_answered
run_test_here a_read_held_on_the_shared_descriptor_is_resent_too
run_test_here a_request_that_keeps_crashing_workers_fails_in_the_end
run_test_here a_read_held_by_a_dying_worker_fails_at_once_without_resend
run_test_here a_read_held_on_the_shared_descriptor_is_answered_without_resend
run_test_here a_worker_dying_in_a_write_with_the_lock_held_leaves_it_usable
run_test_here a_worker_dying_in_a_shrink_leaves_the_tail_zero
run_test_here a_worker_making_a_denied_system_call_is_logged_and_replaced
run_test_here a_reply_from_an_unmapped_buffer_fails_with_eio_and_kills_no_worker
run_test_here a_reply_the_kernel_rejects_is_answered_with_eio_by_the_worker
run_test_here a_forced_passthrough_failure_falls_back_to_page_mode_once
run_test nothing_is_left_behind
finish
