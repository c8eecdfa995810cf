#!/bin/bash
# SPDX-License-Identifier: MIT
#
# example.sh -- runs examples/walkthrough.sh against the built daemon: the
# walkthrough in the README must keep working.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

walkthrough_runs_to_the_end() {
	local status=0
	# TMPDIR puts its mount under $WORK, where cleanup and the checks look.
	TMPDIR=$WORK timeout -k 5 60 bash "$SHMFS_SRCDIR/examples/walkthrough.sh" \
		>"$WORK/walkthrough.out" 2>&1 || status=$?
	assert_eq 0 "$status" "exit status of walkthrough.sh; its output:
$(cat "$WORK/walkthrough.out")"
	assert_contains "$(cat "$WORK/walkthrough.out")" "hello from shared memory"
}

# The detached daemon exits on its own after the walkthrough's unmount.
the_walkthrough_daemon_exits_after_unmount() {
	local pid
	for pid in $(our_pids); do
		wait_gone "$pid" || fail "shmfs pid $pid still running after the walkthrough"
	done
}

run_test walkthrough_runs_to_the_end
run_test the_walkthrough_daemon_exits_after_unmount
run_test nothing_is_left_behind
finish
