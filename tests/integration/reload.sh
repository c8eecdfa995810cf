#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload.sh -- SIGHUP and "shmfs -s reload": unchanged zones keep their
# bytes and metadata, new zones appear, removed ones disappear, resized ones
# keep their bytes up to the smaller size, the pool follows "workers", the
# kernel's caches are dropped so ls and stat show the new state at once, an
# invalid file changes nothing, and no request fails during a reload under
# load. Also /.stats, whose figures a reload carries over.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini

write_conf() { # WORKERS, then zone lines "name size [cache]"
	local workers=$1 name size cache
	shift
	{
		printf '[shmfs]\nworkers = %s\nlog_level = info\npid = %s\n' \
			"$workers" "$WORK/shmfs.pid"
		for z in "$@"; do
			read -r name size cache <<<"$z"
			printf '[zone:%s]\nsize = %s\ncache = %s\n' "$name" "$size" \
				"${cache:-page}"
		done
	} >"$CONF.new"
	mv "$CONF.new" "$CONF"
}

# reload_and_wait: -s reload, then waits (5 s) for the log to say it is done.
reload_and_wait() {
	DEADLINE=5 reload_daemon "$SHMFS" -s reload -c "$CONF"
}

stat_value() { # NAME: its value in a fresh /.stats
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.stats"
}

a_reload_keeps_adds_drops_and_resizes_zones() {
	local master=$DAEMON_PID
	head -c 8192 /dev/urandom >"$WORK/keep.bin"
	cp "$WORK/keep.bin" "$MNT/keep"
	chmod 0604 "$MNT/keep"
	printf 'abcdefghij%.0s' {1..819} >"$MNT/shrink" # 8190 bytes
	echo grown >"$MNT/grow"
	echo bye >"$MNT/gone"
	stat "$MNT/gone" >/dev/null # the kernel now caches its name

	write_conf 3 "keep 8K" "grow 64K direct" "shrink 4K" "fresh 4K"
	reload_and_wait
	assert_eq "$master" "$DAEMON_PID" "the master"
	assert_mounted "$MNT"
	assert_eq ".metrics .stats fresh grow keep shrink" "$(ls -A "$MNT" | xargs)" "ls"
	cmp "$WORK/keep.bin" "$MNT/keep" || fail "keep changed"
	assert_eq 604 "$(stat -c %a "$MNT/keep")" "keep's run-time mode"
	assert_eq grown "$(cat "$MNT/grow")" "grow's bytes"
	assert_eq 4096 "$(file_size "$MNT/shrink")" "shrink's length"
	assert_eq "$(printf 'abcdefghij%.0s' {1..819} | head -c 4096)" \
		"$(cat "$MNT/shrink")" "shrink's bytes up to 4K"
	assert_eq 0 "$(file_size "$MNT/fresh")" "fresh zone"
	assert_fails_with ENOENT cat "$MNT/gone"
	# Rings keep one worker per CPU, whatever workers = says (logged).
	local workers=3
	if [[ ${SHMFS_TRANSPORT:-} == uring ]]; then
		workers=$(($(cut -d- -f2 /sys/devices/system/cpu/possible) + 1))
		wait_for_line "$DAEMON_LOG" "workers = 3 is not applied"
	fi
	wait_for_workers "$DAEMON_PID" "$workers"
	wait_for_idle_master "$DAEMON_PID" # the reload forked all it will
	assert_eq "$workers" "$(worker_pids "$DAEMON_PID" | wc -l)" "workers after"
	assert_eq 1 "$(stat_value reloads)" "reloads in /.stats"
	assert_eq 4 "$(stat_value zones)" "zones in /.stats"
	assert_eq 65536 "$(stat_value zone.grow.capacity)" "grow's capacity"
}

an_invalid_file_is_reported_and_changes_nothing() {
	local before
	before=$(ls -A "$MNT" | xargs)
	printf '[shmfs]\nworkers = 2\npid = %s\n[zone:x]\nsize = 12Q\n' \
		"$WORK/shmfs.pid" >"$CONF"
	"$SHMFS" -s reload -c "$CONF" 2>/dev/null || true
	kill -HUP "$DAEMON_PID"
	wait_for_line "$DAEMON_LOG" 'reload: .*shmfs.ini:5: size: "12Q" is not a size'
	assert_contains "$(cat "$DAEMON_LOG")" \
		'shmfs.ini:5: size: "12Q" is not a size; keeping the running configuration'
	assert_eq "$before" "$(ls -A "$MNT" | xargs)" "zones after"
	cmp "$WORK/keep.bin" "$MNT/keep" || fail "keep changed"
}

# -s reload checks the file first, as -t does: a file that would not load
# is exit 1 with its line on stderr, and the master is not signalled (the
# SIGUSR1 sent after it is the barrier: a SIGHUP sent before it would have
# been handled first). Fixed, the same command reloads.
signal_reload_of_a_broken_file_exits_1_and_signals_nothing() {
	local before reloads reopened status=0 err
	before=$(count_lines "$DAEMON_LOG" reload)
	reopened=$(count_lines "$DAEMON_LOG" "log reopened")
	reloads=$(stat_value reloads)
	printf '[shmfs]\nworkers = 2\npid = %s\n[zone:x]\nsize = 12Q\n' \
		"$WORK/shmfs.pid" >"$CONF"
	err=$("$SHMFS" -s reload -c "$CONF" 2>&1) || status=$?
	assert_eq 1 "$status" "-s reload of a broken file"
	assert_one_line "$err"
	assert_contains "$err" "$CONF:5: size: \"12Q\" is not a size"
	kill -USR1 "$DAEMON_PID"
	wait_for_count "$DAEMON_LOG" "log reopened" $((reopened + 1)) ||
		fail "SIGUSR1 was not handled: $(tail -n 3 "$DAEMON_LOG")"
	assert_eq "$before" "$(count_lines "$DAEMON_LOG" reload)" \
		"reload lines in the log: $(grep reload "$DAEMON_LOG" | tail -n 2)"
	assert_eq "$reloads" "$(stat_value reloads)" "reloads in /.stats"
	cmp "$WORK/keep.bin" "$MNT/keep" || fail "keep changed"
	write_conf 2 "keep 8K" "grow 64K direct" "shrink 4K" "fresh 4K"
	reload_and_wait
	assert_eq $((reloads + 1)) "$(stat_value reloads)" \
		"reloads in /.stats once fixed"
}

# The load runs until told to stop, with a line every 100 rounds; after
# each reload it does 100 more before the next, so requests run before,
# during and after every one of them.
no_request_fails_during_reloads_under_load() {
	write_conf 2 "keep 8K" "grow 64K direct" "shrink 4K" "fresh 4K"
	python3 - "$MNT" "$WORK/load.out" "$WORK/load.stop" \
		>"$WORK/load.rounds" <<'PY' &
import os, sys, time
mnt, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
keep = open(mnt + "/keep", "rb").read()
errors, ops, rounds, end = [], 0, 0, time.monotonic() + 60
fd = os.open(mnt + "/grow", os.O_RDWR)
while time.monotonic() < end and not os.path.exists(stop):
    try:
        if open(mnt + "/keep", "rb").read() != keep:
            errors.append("keep changed")
        os.pwrite(fd, b"%08d" % ops, (ops % 1000) * 8)
        if os.pread(fd, 8, (ops % 1000) * 8) != b"%08d" % ops:
            errors.append("grow read back wrong at op %d" % ops)
        os.stat(mnt + "/fresh")
        ops += 3
    except OSError as e:
        errors.append("op %d: %s" % (ops, e))
    rounds += 1
    if rounds % 100 == 0:
        print(rounds, flush=True)
open(out, "w").write("%d ops\n%s" % (ops, "\n".join(errors[:10])))
sys.exit(1 if errors else 0)
PY
	local load=$! status=0 n said
	wait_for_count "$WORK/load.rounds" . 1
	for n in 1 2 3 4 5; do
		reload_and_wait
		said=$(count_lines "$WORK/load.rounds" .)
		wait_for_count "$WORK/load.rounds" . $((said + 1)) || break
	done
	: >"$WORK/load.stop"
	wait "$load" || status=$?
	cat "$WORK/load.out"
	assert_eq 0 "$status" "requests failed during reloads: $(cat "$WORK/load.out")"
	track_pid $(worker_pids "$DAEMON_PID")
}

stats_is_a_read_only_snapshot_anyone_can_parse() {
	local snap
	assert_eq 0 "$(file_size "$MNT/.stats")" "st_size of /.stats"
	assert_eq 444 "$(stat -c %a "$MNT/.stats")" "mode of /.stats"
	assert_fails_with EACCES sh -c "echo x >'$MNT/.stats'"
	assert_fails_with EPERM rm "$MNT/.stats"
	# Every line is "name value"; figures a script needs are there.
	snap=$(cat "$MNT/.stats")
	awk 'NF != 2 { print "bad line: " $0; bad = 1 } END { exit bad }' \
		<<<"$snap" || fail "not name value lines"
	for k in uptime reloads respawns generation restarts upgrades workers \
		zones zone.keep.backend zone.keep.cache zone.keep.capacity \
		zone.keep.length zone.keep.reads zone.keep.writes \
		zone.keep.bytes_in zone.keep.bytes_out worker.0.pid \
		worker.0.requests worker.0.errors worker.0.bytes_in \
		worker.0.bytes_out; do
		grep -q "^$k " <<<"$snap" || fail "no $k in /.stats"
	done
	# Counters follow direct I/O exactly.
	local w0 r0
	w0=$(stat_value zone.grow.bytes_in)
	r0=$(stat_value zone.grow.bytes_out)
	head -c 5000 /dev/zero | dd of="$MNT/grow" bs=5000 conv=notrunc status=none
	dd if="$MNT/grow" of=/dev/null bs=1000 count=3 status=none
	assert_eq $((w0 + 5000)) "$(stat_value zone.grow.bytes_in)" "bytes_in"
	assert_eq $((r0 + 3000)) "$(stat_value zone.grow.bytes_out)" "bytes_out"
	# One open is one snapshot, whichever worker serves each read.
	python3 - "$MNT" <<'PY'
import os, sys
mnt = sys.argv[1]
fd = os.open(mnt + "/.stats", os.O_RDONLY)
first = os.read(fd, 64)
for i in range(50):
    with open(mnt + "/grow", "r+b") as f:
        f.write(b"x" * 100)
rest = b""
while True:
    chunk = os.read(fd, 64)
    if not chunk:
        break
    rest += chunk
os.lseek(fd, 0, os.SEEK_SET)
again = b""
while True:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    again += chunk
assert first + rest == again, "the snapshot changed under one open"
os.close(fd)
PY
}

write_conf 2 "keep 8K" "grow 4K direct" "shrink 8K" "gone 4K"
mount_or_bail "$CONF" "$MNT"


run_test_here a_reload_keeps_adds_drops_and_resizes_zones
run_test_here an_invalid_file_is_reported_and_changes_nothing
run_test_here signal_reload_of_a_broken_file_exits_1_and_signals_nothing
run_test_here no_request_fails_during_reloads_under_load
run_test stats_is_a_read_only_snapshot_anyone_can_parse
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
