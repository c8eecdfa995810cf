#!/bin/bash
# SPDX-License-Identifier: MIT
#
# filezone.sh -- file zones that fail cleanly. A 4M zone on a 1M tmpfs: a
# write the filesystem cannot hold is ENOSPC and kills no worker, reads of
# the holes left are zeros, zeroing part of a hole allocates nothing. A
# zone's file deleted behind the daemon is written back at its path at the
# next reload or at the stop, and the zone serves the new file; one
# replaced by another file is logged with both inodes and mapped at the
# reload, and left alone at the stop.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

SMALL=$WORK/small # a 1M tmpfs, unmounted by the cleanup (under $WORK)
MNT=$WORK/mnt
CONF=$WORK/full.ini
mkdir -p "$SMALL"
mount -t tmpfs -o size=1M,mode=0755 tmpfs "$SMALL" ||
	skip_or_fail "cannot mount a tmpfs"

cat >"$CONF" <<EOF
[shmfs]
workers = 2
mode    = 0666

[zone:f]
backend = file
path    = $SMALL/zone.bin
size    = 4M
EOF

mount_or_bail -w 2 "$CONF" "$MNT"
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG
WORKERS=$(worker_pids "$MAIN_PID" | sort | xargs)

no_worker_died() {
	assert_eq "$WORKERS" "$(worker_pids "$MAIN_PID" | sort | xargs)" "workers"
	! grep -q "killed by signal" "$MAIN_LOG" ||
		fail "a worker died: $(grep "killed by signal" "$MAIN_LOG")"
}

a_write_the_filesystem_cannot_hold_is_enospc_and_kills_no_worker() {
	head -c 2M /dev/urandom >"$WORK/want"
	assert_fails_with ENOSPC dd if="$WORK/want" of="$MNT/f" bs=64K conv=notrunc status=none
	no_worker_died
	# What was stored is there; the rest of the zone reads as zeros.
	local stored
	stored=$(du -B1 "$SMALL/zone.bin" | cut -f1)
	((stored > 0 && stored <= 1048576)) || fail "$stored bytes stored"
	cmp -s <(head -c "$stored" "$WORK/want") <(head -c "$stored" "$MNT/f") ||
		fail "the bytes that fit are not the ones written"
	assert_eq 0 "$(tail -c +$((stored + 1)) "$MNT/f" | tr -d '\0' | wc -c)" \
		"bytes past what fit"
	assert_fails_with ENOSPC dd if=/dev/zero of="$MNT/f" bs=1 count=1 seek=3M conv=notrunc status=none
	no_worker_died
}

reads_of_holes_and_zeroing_on_a_full_filesystem_kill_no_worker() {
	local out
	assert_eq 4194304 "$(timeout 10 cat "$MNT/f" | wc -c)" "a read of every hole"
	assert_eq 4194304 "$(timeout 10 dd if="$MNT/f" bs=1M iflag=direct status=none | wc -c)"
	# Zeroing part of a hole must not fault the page in to clear it.
	out=$(timeout 10 fallocate -p -o 3000000 -l 10 "$MNT/f" 2>&1) ||
		fail "punching part of a hole: $out"
	no_worker_died
	# Once space is given back, writes work again.
	: >"$MNT/f"
	head -c 512K /dev/urandom >"$WORK/want"
	dd if="$WORK/want" of="$MNT/f" bs=64K conv=notrunc status=none
	cmp -s "$WORK/want" <(head -c 512K "$MNT/f") || fail "the write after freeing space"
	no_worker_died
}

run_test a_write_the_filesystem_cannot_hold_is_enospc_and_kills_no_worker
run_test reads_of_holes_and_zeroing_on_a_full_filesystem_kill_no_worker
run_test_here unmount_stops_the_daemon_with_status_0
umount "$SMALL"

# ---------------------------------------------------------------- item 6
DIR=$WORK/state
FILE=$DIR/state.bin
CONF=$WORK/state.ini
mkdir -p "$DIR"
printf '[shmfs]\nworkers = 1\nmode = 0666\n[zone:s]\nbackend = file\npath = %s\nsize = 1M\n' \
	"$FILE" >"$CONF"

a_file_deleted_behind_the_daemon_is_written_back_at_reload() {
	local ino
	start_daemon "$CONF" "$MNT"
	printf 'before' | dd of="$MNT/s" conv=notrunc status=none
	ino=$(stat -c %i "$FILE")
	rm "$FILE"
	reload_daemon kill -HUP "$DAEMON_PID" || return 1
	wait_for_line "$DAEMON_LOG" "zone \"s\": file $FILE was deleted behind the daemon \\(inode $ino\\): its bytes are back at its path"
	assert_contains "$(grep reloaded "$DAEMON_LOG")" "1 zones, 0 removed, 1 file written back"
	assert_eq before "$(head -c 6 "$FILE")" "the file at its path"
	assert_eq "666 1048576" "$(stat -c '%a %s' "$FILE")" "its mode and size"
	# The zone serves the file at the path now: writes land there.
	printf 'after' | dd of="$MNT/s" bs=1 seek=100 conv=notrunc status=none
	assert_eq after "$(tail -c +101 "$FILE" | head -c 5)" "a write after the reload"
	stop_daemon "$MNT" "$DAEMON_PID"
	assert_eq after "$(tail -c +101 "$FILE" | head -c 5)" "after the stop"
}

a_file_deleted_behind_the_daemon_is_written_back_at_the_stop() {
	start_daemon "$CONF" "$MNT"
	printf 'last words' | dd of="$MNT/s" bs=1 seek=200 conv=notrunc status=none
	rm "$FILE"
	stop_daemon "$MNT" "$DAEMON_PID"
	assert_contains "$(cat "$DAEMON_LOG")" "file $FILE was deleted behind the daemon"
	assert_eq "last words" "$(tail -c +201 "$FILE" | head -c 10)" "bytes after the stop"
	assert_eq 0 "$(find "$DIR" -name '.*shmfs-restore' | wc -l)" "temporary files left"
}

a_replaced_file_is_mapped_at_reload_and_left_alone_at_the_stop() {
	local old new
	start_daemon "$CONF" "$MNT"
	printf 'old' | dd of="$MNT/s" conv=notrunc status=none
	old=$(stat -c %i "$FILE")
	head -c 1M /dev/zero >"$DIR/new"
	printf 'new' | dd of="$DIR/new" conv=notrunc status=none
	mv "$DIR/new" "$FILE"
	new=$(stat -c %i "$FILE")
	reload_daemon kill -HUP "$DAEMON_PID" || return 1
	wait_for_line "$DAEMON_LOG" "file $FILE was replaced behind the daemon \\(inode $old, now $new\\): the reload maps the new file"
	assert_eq new "$(head -c 3 "$MNT/s")" "the zone after the reload"
	# Replaced again, then stopped: the new file is not overwritten.
	printf 'x' | dd of="$MNT/s" bs=1 seek=10 conv=notrunc status=none
	head -c 1M /dev/zero >"$DIR/other"
	mv "$DIR/other" "$FILE"
	stop_daemon "$MNT" "$DAEMON_PID"
	assert_contains "$(cat "$DAEMON_LOG")" "left as it is; the zone's bytes go with the old inode, deleted"
	assert_eq 0 "$(tr -d '\0' <"$FILE" | wc -c)" "the file in place after the stop"
}

run_test_here a_file_deleted_behind_the_daemon_is_written_back_at_reload
run_test_here a_file_deleted_behind_the_daemon_is_written_back_at_the_stop
run_test_here a_replaced_file_is_mapped_at_reload_and_left_alone_at_the_stop
run_test nothing_is_left_behind
finish
