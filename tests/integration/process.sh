#!/bin/bash
# SPDX-License-Identifier: MIT
#
# process.sh -- backend = process with a program of our own ($MAPPINGS)
# that has several anonymous shared mappings: each selector (match =,
# address =, size =) picks its one, none or several is an error listing
# the candidates, the zones are read-only unless writable = yes and never
# cut, a non-root start is refused, and a zone follows its program's life:
# detached (ENXIO, its memory let go) when it exits, attached again when a
# new one writes the pid file. nginx.sh does the same with a real nginx.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

: "${MAPPINGS:=$SHMFS_SRCDIR/build/tests/integration/mappings}"
require_helper "$MAPPINGS"

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
HELPERS=$WORK/.helpers # pids of the helpers, for the cleanup

extra_cleanup() {
	local pid
	[[ -f $HELPERS ]] || return 0
	while read -r pid; do
		kill -KILL "$pid" 2>/dev/null
	done <"$HELPERS"
}

# start_helper OUT ARG...: runs $MAPPINGS ARG... in the background, its
# output in OUT, and waits for its "ready". Sets HELPER.
start_helper() {
	local out=$1
	shift
	"$MAPPINGS" "$@" >"$out" 2>&1 &
	HELPER=$!
	echo "$HELPER" >>"$HELPERS"
	wait_for_line "$out" '^ready$'
}

# The helper of the whole script: 1 MiB named alpha, two of 2 MiB (beta,
# gamma), 64 KiB without a name.
start_helper "$WORK/h1.out" $((1 << 20)):'zone "alpha"' \
	$((2 << 20)):'zone "beta"' $((2 << 20)):gamma-text $((64 << 10))
H1=$HELPER
mapfile -t H1_MAPS < <(grep -- - "$WORK/h1.out")

# check_config TEXT: shmfs -t on a file of [zone:z] with TEXT after the
# process lines; STATUS, OUT, ERR as run_shmfs sets them.
check_config() {
	printf '[zone:z]\nbackend = process\nprocess = %s\n%s\n' "$H1" "$1" \
		>"$WORK/check.ini"
	run_shmfs -t -c "$WORK/check.ini"
}

match_picks_the_mapping_that_holds_the_text() {
	check_config 'match = zone "alpha"'
	assert_eq 0 "$STATUS" "shmfs -t status ($ERR)"
	assert_contains "$ERR" "would attach to process $H1's mapping ${H1_MAPS[0]} (1048576 bytes, named \"alpha\")"
	assert_match "z +process +direct +1048576 +0400" "$OUT" "-t row"
}

address_picks_that_mapping() {
	check_config "address = ${H1_MAPS[1]}"
	assert_eq 0 "$STATUS" "shmfs -t status ($ERR)"
	assert_contains "$ERR" "mapping ${H1_MAPS[1]} (2097152 bytes, named \"beta\")"
}

a_unique_size_picks_that_mapping() {
	check_config "size = 1M"
	assert_eq 0 "$STATUS" "shmfs -t status ($ERR)"
	assert_contains "$ERR" "mapping ${H1_MAPS[0]} "
}

several_matches_are_an_error_listing_the_candidates() {
	check_config "size = 2M"
	assert_eq 1 "$STATUS" "shmfs -t status"
	assert_contains "$ERR" "more than one of its 4 shared mappings has size 2097152"
	assert_contains "$ERR" "${H1_MAPS[0]} 1048576 bytes \"alpha\""
	assert_contains "$ERR" "${H1_MAPS[1]} 2097152 bytes \"beta\""
	assert_contains "$ERR" "${H1_MAPS[2]} 2097152 bytes \"gamma-text\""
	assert_contains "$ERR" "${H1_MAPS[3]} 65536 bytes"
}

no_match_is_an_error_listing_the_candidates() {
	check_config 'match = zone "delta"'
	assert_eq 1 "$STATUS" "shmfs -t status"
	assert_contains "$ERR" 'none of its 4 shared mappings has match "zone "delta""'
	assert_contains "$ERR" "${H1_MAPS[1]} 2097152 bytes \"beta\""
}

# SysV segments and memfds a program maps are its shared memory too.
sysv_and_memfd_mappings_are_candidates() {
	start_helper "$WORK/h6.out" sysv:$((1 << 20)):'zone "sv"' \
		memfd:$((1 << 20)):'zone "mf"'
	local pid=$HELPER maps
	mapfile -t maps < <(grep -- - "$WORK/h6.out")
	printf '[zone:sv]\nbackend = process\nprocess = %s\nmatch = zone "sv"\n' \
		"$pid" >"$WORK/check.ini"
	printf '[zone:mf]\nbackend = process\nprocess = %s\nmatch = zone "mf"\n' \
		"$pid" >>"$WORK/check.ini"
	run_shmfs -t -c "$WORK/check.ini"
	kill -KILL "$pid"
	assert_eq 0 "$STATUS" "shmfs -t status ($ERR)"
	assert_contains "$ERR" "mapping ${maps[0]} (1048576 bytes, named \"sv\")"
	assert_contains "$ERR" "mapping ${maps[1]} (1048576 bytes, named \"mf\")"
}

selectors_and_page_mode_are_checked_with_file_and_line() {
	check_config ""
	assert_eq 1 "$STATUS" "no selector"
	assert_contains "$ERR" "check.ini:1: [zone:z]: backend = process needs match =, address = or size ="
	check_config "cache = page"$'\n'"size = 1M"
	assert_eq 1 "$STATUS" "cache = page"
	assert_contains "$ERR" "check.ini:4: [zone:z]: cache = page cannot show"
	printf '[zone:z]\nsize = 1M\nmatch = x\n' >"$WORK/check.ini"
	run_shmfs -t -c "$WORK/check.ini"
	assert_contains "$ERR" "check.ini:3: match: only for backend = process"
}

a_start_that_is_not_root_is_refused() {
	check_config 'match = zone "alpha"'
	chmod 0755 "$WORK"
	chmod 0644 "$WORK/check.ini"
	local err
	err=$(as_user nobody "$SHMFS" -t -c "$WORK/check.ini" 2>&1) &&
		fail "-t as nobody succeeded: $err"
	assert_contains "$err" "check.ini:1: [zone:z]: backend = process needs root: /proc/PID/map_files"
	assert_contains "$err" "CAP_SYS_ADMIN"
}

cat >"$CONF" <<EOF
[shmfs]
workers = 2

[zone:alpha]
backend = process
process = $H1
match   = zone "alpha"

[zone:beta]
backend = process
process = $H1
address = ${H1_MAPS[1]}

[zone:gamma]
backend = process
process = $H1
match   = gamma-text
size    = 2M

[zone:w]
backend  = process
process  = $H1
size     = 64K
writable = yes
mode     = 0600
EOF

mount_or_bail -w 2 "$CONF" "$MNT"

zones_are_the_mappings_with_their_sizes_and_bytes() {
	assert_eq "1048576 400" "$(stat -c '%s %a' "$MNT/alpha")" "alpha"
	assert_eq "2097152 400" "$(stat -c '%s %a' "$MNT/beta")" "beta"
	assert_eq "2097152 400" "$(stat -c '%s %a' "$MNT/gamma")" "gamma"
	assert_eq "65536 600" "$(stat -c '%s %a' "$MNT/w")" "w"
	assert_eq 'zone "beta"' "$(tail -c +4097 "$MNT/beta" | head -c 11)" "beta's text"
	cmp "$MNT/gamma" "/proc/$H1/map_files/${H1_MAPS[2]}" ||
		fail "gamma differs from what map_files reads"
}

read_only_zones_refuse_writes() {
	local err
	err=$(printf x | dd of="$MNT/alpha" conv=notrunc status=none 2>&1) &&
		fail "a write into alpha succeeded"
	assert_contains "$err" "Read-only file system" "dd into alpha"
	err=$( (: >"$MNT/alpha") 2>&1) && fail "O_TRUNC of alpha succeeded"
	assert_contains "$err" "Operation not permitted" ": > alpha"
	assert_eq 'zone "alpha"' "$(tail -c +4097 "$MNT/alpha" | head -c 12)" "alpha kept"
}

a_writable_zone_writes_the_programs_memory_but_never_cuts_it() {
	printf 'through-the-mount' | dd of="$MNT/w" bs=1 seek=100 conv=notrunc status=none
	assert_eq through-the-mount \
		"$(tail -c +101 "/proc/$H1/map_files/${H1_MAPS[3]}" | head -c 17)" \
		"the program's memory"
	truncate -s 0 "$MNT/w" 2>/dev/null && fail "truncate of w succeeded"
	fallocate -p -o 0 -l 4096 "$MNT/w" 2>/dev/null && fail "punching w succeeded"
	fallocate -z -o 0 -l 4096 "$MNT/w" 2>/dev/null && fail "zeroing w succeeded"
	assert_eq 65536 "$(file_size "$MNT/w")" "w's size"
	assert_eq through-the-mount "$(tail -c +101 "$MNT/w" | head -c 17)" "w kept"
}

stats_show_the_process_and_the_mapping() {
	local stats
	stats=$(cat "$MNT/.stats")
	assert_contains "$stats" "zone.alpha.object $H1 pid $H1 ${H1_MAPS[0]} attached"
	assert_contains "$stats" "zone.w.object $H1 pid $H1 ${H1_MAPS[3]} attached writable"
	assert_contains "$(cat "$MNT/.metrics")" "object=\"$H1 pid $H1 ${H1_MAPS[1]} attached\""
	assert_contains "$stats" "zone.alpha.attached 1"
	assert_match 'shmfs_zone_attached\{zone="beta"\} 1' "$(cat "$MNT/.metrics")" "metric"
	assert_contains "$("$SHMFS" status "$MNT")" "$H1 pid $H1 ${H1_MAPS[2]} attached"
}

run_test match_picks_the_mapping_that_holds_the_text
run_test address_picks_that_mapping
run_test a_unique_size_picks_that_mapping
run_test several_matches_are_an_error_listing_the_candidates
run_test no_match_is_an_error_listing_the_candidates
run_test sysv_and_memfd_mappings_are_candidates
run_test selectors_and_page_mode_are_checked_with_file_and_line
run_test a_start_that_is_not_root_is_refused
run_test zones_are_the_mappings_with_their_sizes_and_bytes
run_test read_only_zones_refuse_writes
run_test a_writable_zone_writes_the_programs_memory_but_never_cuts_it
run_test stats_show_the_process_and_the_mapping
run_test_here unmount_stops_the_daemon_with_status_0

# The program's life: a pid file, 64 MiB of touched memory.
LIFE_MNT=$WORK/life
PIDFILE=$WORK/h2.pid
cat >"$WORK/life.ini" <<EOF
[shmfs]
workers = 2

[zone:big]
backend = process
process = $PIDFILE
match   = zone "big"
EOF

shmem_kib() {
	awk '/^Shmem:/ { print $2 }' /proc/meminfo
}

# Whether any of the daemon's processes still maps the inode or holds a
# descriptor of it (a shmem inode: device 00:01).
daemon_holds_inode() {
	local pid fd
	for pid in $DAEMON_PID $(worker_pids "$DAEMON_PID"); do
		awk -v ino="$1" '$5 == ino' "/proc/$pid/maps" | grep -q . && return 0
		for fd in "/proc/$pid/fd/"*; do
			[[ $(stat -L -c '%d %i' "$fd" 2>/dev/null) == "1 $1" ]] && return 0
		done
	done
	return 1
}

# Shmem (a machine-wide figure other tests move too) is at least 48 MiB
# below $1 kB.
shmem_dropped_from() {
	(($1 - $(shmem_kib) > 48 * 1024))
}

is_detached() {
	grep -q "^zone.big.object $PIDFILE detached" "$LIFE_MNT/.stats" &&
		grep -q "^zone.big.attached 0" "$LIFE_MNT/.stats"
}

is_attached_to() {
	grep -q "^zone.big.object $PIDFILE pid $1 .* attached" "$LIFE_MNT/.stats"
}

a_zone_follows_its_programs_life() {
	local ino before err
	start_helper "$WORK/h2.out" -t -p "$PIDFILE" $((64 << 20)):'zone "big"'
	local first=$HELPER
	start_daemon "$WORK/life.ini" "$LIFE_MNT"
	wait_for_workers "$DAEMON_PID" 2
	is_attached_to "$first" || fail "not attached: $(cat "$LIFE_MNT/.stats")"
	assert_eq 67108864 "$(file_size "$LIFE_MNT/big")" "big's size"
	ino=$(awk '/rw-s/ && /dev\/zero/ { print $5 }' "/proc/$first/maps")
	daemon_holds_inode "$ino" || fail "the daemon does not map inode $ino"

	# The program exits: the zone is detached and its memory let go.
	before=$(shmem_kib)
	kill -TERM "$first"
	wait "$first" 2>/dev/null || true
	rm -f "$PIDFILE"
	wait_until "$DEADLINE" is_detached ||
		fail "not detached: $(cat "$LIFE_MNT/.stats")"
	wait_until "$DEADLINE" eval '! daemon_holds_inode "$ino"' ||
		fail "the daemon still maps inode $ino"
	wait_until "$DEADLINE" shmem_dropped_from "$before" ||
		fail "Shmem went from $before to $(shmem_kib) kB: not 64 MiB less"
	assert_eq 0 "$(file_size "$LIFE_MNT/big")" "a detached zone's size"
	err=$(cat "$LIFE_MNT/big" 2>&1) && fail "reading a detached zone succeeded"
	assert_contains "$err" "No such device or address" "cat of a detached zone"
	assert_contains "$("$SHMFS" status "$LIFE_MNT")" "$PIDFILE detached"

	# A new program writes the pid file: attached again, no remount.
	start_helper "$WORK/h3.out" -p "$PIDFILE" $((64 << 20)):'zone "big"'
	wait_until "$DEADLINE" is_attached_to "$HELPER" ||
		fail "not attached again: $(cat "$LIFE_MNT/.stats")"
	assert_eq 'zone "big"' "$(tail -c +4097 "$LIFE_MNT/big" | head -c 10)" \
		"the new program's bytes"
	kill -TERM "$HELPER"
	stop_daemon "$LIFE_MNT" "$DAEMON_PID"
}

a_zone_whose_program_is_not_running_starts_detached() {
	rm -f "$PIDFILE"
	start_daemon "$WORK/life.ini" "$LIFE_MNT"
	wait_until "$DEADLINE" is_detached || fail "not detached"
	assert_contains "$(cat "$DAEMON_LOG")" "detached: pid file $PIDFILE"
	start_helper "$WORK/h4.out" -p "$PIDFILE" $((1 << 20)):'zone "big"'
	wait_until "$DEADLINE" is_attached_to "$HELPER" || fail "not attached"
	kill -TERM "$HELPER"
	stop_daemon "$LIFE_MNT" "$DAEMON_PID"
}

# A pid file anyone else owns could point the zone at any process.
a_pid_file_of_another_user_is_refused() {
	echo "$H1" >"$WORK/theirs.pid"
	chown nobody "$WORK/theirs.pid"
	printf '[zone:z]\nbackend = process\nprocess = %s\nsize = 1M\n' \
		"$WORK/theirs.pid" >"$WORK/check.ini"
	run_shmfs -t -c "$WORK/check.ini"
	assert_eq 1 "$STATUS" "shmfs -t status"
	assert_contains "$ERR" "pid file $WORK/theirs.pid is owned by uid $(id -u nobody), not root, the daemon's user, the zone's uid or object_owner: refused (object_owner = $(id -u nobody) would trust it)"
}

# After the first start, a mapping not found leaves the zone detached
# (logged with the candidates) rather than failing the reload.
a_reload_that_finds_no_mapping_detaches_the_zone() {
	start_helper "$WORK/h5.out" -p "$PIDFILE" $((1 << 20)):'zone "big"'
	local pid=$HELPER
	start_daemon "$WORK/life.ini" "$LIFE_MNT"
	wait_until "$DEADLINE" is_attached_to "$pid" || fail "not attached"
	sed -i 's/zone "big"/zone "gone"/' "$WORK/life.ini"
	reload_daemon kill -HUP "$DAEMON_PID"
	wait_until "$DEADLINE" is_detached || fail "not detached"
	assert_contains "$(cat "$DAEMON_LOG")" 'none of its 1 shared mapping has match "zone "gone""'
	sed -i 's/zone "gone"/zone "big"/' "$WORK/life.ini"
	reload_daemon kill -HUP "$DAEMON_PID"
	wait_until "$DEADLINE" is_attached_to "$pid" || fail "not attached again"
	kill -TERM "$pid"
	stop_daemon "$LIFE_MNT" "$DAEMON_PID"
}

run_test a_pid_file_of_another_user_is_refused
run_test_here a_zone_follows_its_programs_life
run_test_here a_zone_whose_program_is_not_running_starts_detached
run_test_here a_reload_that_finds_no_mapping_detaches_the_zone
kill -KILL "$H1" 2>/dev/null || true
run_test nothing_is_left_behind
finish
