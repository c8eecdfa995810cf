#!/bin/bash
# SPDX-License-Identifier: MIT
#
# hugefaults.sh -- with a daemon built with -Dfault_injection=true, a kernel
# that refuses every MADV_COLLAPSE (the fault point no_collapse, as a
# kernel that forbade collapse under shmem_enabled = never would):
# huge_pages = try starts the zone in 4 KiB pages with one warning line
# that says why, still resident from the start, and /.stats and shmfs
# status show the fallback; huge_pages = on refuses the zone with the
# line of its key, and nothing is mounted or left. Tests are functions
# that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

require_fault_build

MiB=$((1 << 20))

# conf MODE: a passthrough zone of 8M asking huge_pages = MODE (line 7).
conf() {
	printf '[shmfs]\nworkers = 1\n\n[zone:p]\nsize       = 8M\n' >"$WORK/$1.ini"
	printf 'cache      = passthrough\nhuge_pages = %s\n' "$1" >>"$WORK/$1.ini"
}

try_runs_in_4_kib_pages_with_one_line_when_collapse_is_refused() {
	local mnt=$WORK/try line
	conf try
	SHMFS_FAULT=no_collapse start_daemon "$WORK/try.ini" "$mnt"
	assert_eq 1 "$(count_lines "$DAEMON_LOG" 'huge_pages = try')" \
		"warning lines"
	line=$(grep 'huge_pages = try' "$DAEMON_LOG")
	assert_match "try.ini:7: zone \"p\": huge_pages = try: 4 of 4 extents not collapsed \(the first at offset 0: madvise\(MADV_COLLAPSE\) failed: Invalid argument\): running in 4 KiB pages there" \
		"$line"
	assert_eq 0 "$(awk '$1 == "zone.p.huge_bytes" { print $2 }' "$mnt/.stats")" \
		"huge_bytes"
	assert_eq $((8 * MiB)) "$(awk '$1 == "zone.p.huge_wanted" { print $2 }' \
		"$mnt/.stats")" "huge_wanted"
	assert_match "memfd +0! +-$" "$("$SHMFS" status "$mnt" | grep '^p ')" \
		"status shows the fallback"
	# Still populated (resident from the start), and a working zone.
	assert_eq $((8 * MiB)) $(($(stat -c %b "$mnt/p") * 512)) "st_blocks"
	echo hello | dd of="$mnt/p" conv=notrunc status=none
	assert_eq hello "$(head -c 5 "$mnt/p")" "bytes written"
	stop_daemon "$mnt" "$DAEMON_PID"
}

on_refuses_the_zone_when_collapse_is_refused() {
	local mnt=$WORK/on
	conf on
	SHMFS_FAULT=no_collapse spawn_daemon "$mnt" -f -c "$WORK/on.ini"
	expect_daemon_exit "$DAEMON_PID" 2 ""
	assert_match "on.ini:7: zone \"p\": huge_pages = on: 1 of 4 extents not collapsed \(the first at offset 0: madvise\(MADV_COLLAPSE\) failed: Invalid argument\): refused \(huge_pages = try runs it in 4 KiB pages\)" \
		"$(cat "$DAEMON_LOG")"
	assert_not_mounted "$mnt"
}

run_test_here try_runs_in_4_kib_pages_with_one_line_when_collapse_is_refused
run_test_here on_refuses_the_zone_when_collapse_is_refused
run_test_here nothing_is_left_behind
finish
