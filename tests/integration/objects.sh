#!/bin/bash
# SPDX-License-Identifier: MIT
#
# objects.sh -- zones other programs use: a posix object (shm_open), a SysV
# segment with a key, a regular file. Another program ($PEER) maps each
# object itself: what it stores is read through the mount at once (while a
# reader loops on the zone file), and what the mount stores it sees at
# once. shmfs creates, attaches, keeps and removes exactly what the
# configuration says, refuses what would be unsafe (page mode, an object in
# the way), and a file's bytes outlive a SIGKILL and a clean stop.
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
P=/shmfs-objects-$$ # posix names of this run
KEY=$(printf '0x5f30%04x' $(($$ & 0xffff)))
KEY2=$(printf '0x5f32%04x' $(($$ & 0xffff)))
FILE=$WORK/data.bin

extra_cleanup() {
	rm -f "/dev/shm$P" "/dev/shm$P-kept" "/dev/shm$P-theirs" "/dev/shm$P-renamed"
	ipcrm -M "$KEY" 2>/dev/null || true
	ipcrm -M "$KEY2" 2>/dev/null || true
}

cat >"$CONF" <<EOF
[shmfs]
workers = 2
mode    = 0666

[zone:posix]
backend = posix
name    = $P
size    = 5000

[zone:keyed]
backend = sysv
key     = $KEY
size    = 64K

[zone:file]
backend = file
path    = $FILE
size    = 100000
EOF

# peer_sees KIND OBJECT OFFSET TEXT: the peer reads TEXT there, at once.
peer_sees() {
	local got
	got=$("$PEER" "$1" "$2" read "$3" "${#4}")
	assert_eq "$4" "$got" "$1 $2 at $3, read by the peer"
}

# mount_sees_while_reading ZONE KIND OBJECT: a reader loops on the zone
# file through the mount while the peer stores a marker into its own
# mapping; the reader must meet it. The peer writes once the reader says
# it has read once: the marker comes while it reads.
mount_sees_while_reading() {
	local zone=$1 kind=$2 obj=$3 marker="peer-$RANDOM" reader
	/usr/bin/python3 - "$MNT/$zone" "$marker" >"$WORK/reader.out" 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
want = sys.argv[2].encode()
os.pread(fd, len(want), 300)
print("reading", flush=True)
end = time.monotonic() + 10
while time.monotonic() < end:
    if os.pread(fd, len(want), 300) == want:
        print("seen")
        sys.exit(0)
sys.exit("never saw %r" % want)
PY
	reader=$!
	wait_for_line "$WORK/reader.out" '^reading$'
	"$PEER" "$kind" "$obj" write 300 "$marker"
	wait "$reader" || fail "$zone: $(cat "$WORK/reader.out")"
	# And a plain read afterwards, with cat.
	assert_eq "$marker" "$(tail -c +301 "$MNT/$zone" | head -c ${#marker})" \
		"$zone: cat after the peer's write"
}

# mount_writes ZONE KIND OBJECT: a write through the mount is in the
# peer's mapping at once.
mount_writes() {
	local text="mount-$RANDOM"
	printf '%s' "$text" | dd of="$MNT/$1" bs=1 seek=700 conv=notrunc status=none
	peer_sees "$2" "$3" 700 "$text"
}

mount_or_bail -w 2 "$CONF" "$MNT"
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG

objects_exist_with_the_zones_size_owner_and_mode() {
	assert_eq "5000 666 root" "$(stat -c '%s %a %U' "/dev/shm$P")" "posix object"
	assert_eq 5000 "$(file_size "$MNT/posix")" "posix zone size (exact)"
	ipcs -m | grep -qi "^$KEY " || fail "ipcs -m does not show key $KEY"
	assert_eq 65536 "$(ipcs -m | awk -v k="$KEY" 'tolower($1) == k { print $5 }')" \
		"segment size"
	assert_eq 100000 "$(file_size "$FILE")" "file size"
	assert_eq 100000 "$(file_size "$MNT/file")" "file zone size"
}

another_program_and_the_mount_see_each_others_writes() {
	mount_sees_while_reading posix posix "$P"
	mount_writes posix posix "$P"
	mount_sees_while_reading keyed sysv "$KEY"
	mount_writes keyed sysv "$KEY"
	mount_sees_while_reading file file "$FILE"
	mount_writes file file "$FILE"
}

stats_and_metrics_name_each_object() {
	assert_eq "$P" "$(awk '$1 == "zone.posix.object" { print $2 }' "$MNT/.stats")"
	assert_eq "key $KEY" "$(awk '$1 == "zone.keyed.object" { print $2, $3 }' "$MNT/.stats")"
	assert_eq "$FILE" "$(awk '$1 == "zone.file.object" { print $2 }' "$MNT/.stats")"
	/usr/bin/python3 - "$MNT/.metrics" "$P" <<'PY' || fail "/.metrics: no object label"
import sys
from prometheus_client.parser import text_string_to_metric_families
objs = {s.labels["zone"]: s.labels["object"]
        for f in text_string_to_metric_families(open(sys.argv[1]).read())
        if f.name == "shmfs_zone_info" for s in f.samples}
assert objs["posix"] == sys.argv[2], objs
assert objs["keyed"].startswith("key 0x"), objs
PY
}

shared_zones_run_direct_and_page_mode_is_refused() {
	local out
	assert_eq direct "$(awk '$1 == "zone.posix.cache" { print $2 }' "$MNT/.stats")"
	printf '[zone:x]\nbackend = posix\nsize = 1\ncache = page\n' >"$WORK/page.ini"
	if out=$("$SHMFS" -t -c "$WORK/page.ini" 2>&1); then
		fail "cache = page on a posix zone was accepted"
	fi
	assert_contains "$out" "use cache = direct"
}

test_mode_names_each_object_and_what_would_fail() {
	local out
	out=$("$SHMFS" -t -c "$CONF" 2>&1) && fail "-t passed with the objects in the way"
	assert_match "posix +posix +direct +5000 .* $P\$" "$(grep '^posix ' <<<"$out")" "-t posix"
	assert_match "key $KEY" "$(grep '^keyed ' <<<"$out")" "-t keyed"
	# The running daemon's own: in use, never taken for leftovers.
	assert_contains "$out" "posix object $P (/dev/shm$P) is in use by a running shmfs"
	assert_contains "$out" "the segment with key $KEY is in use ("
	printf '[zone:a]\nbackend = posix\nname = %s\nattach = yes\n' "$P" >"$WORK/attach.ini"
	out=$("$SHMFS" -t -c "$WORK/attach.ini" 2>&1) || fail "-t of an attach: $out"
	assert_match "^a +posix +direct +5000 .* $P attach\$" "$(grep '^a ' <<<"$out")" \
		"-t shows the object's size"
}

fsync_of_a_file_zone_reaches_msync() {
	local workers trace=$WORK/msync.trace pids=()
	workers=$(worker_pids "$MAIN_PID")
	for w in $workers; do pids+=(-p "$w"); done
	timeout 10 strace -o "$trace" -e trace=msync "${pids[@]}" \
		2>"$WORK/strace.err" &
	local st=$!
	# strace says "Process PID attached" once it traces that worker.
	for w in $workers; do
		wait_for_line "$WORK/strace.err" "Process $w attached"
	done
	assert_eq ok "$(fsop fsync "$MNT/file")"
	wait_for_line "$trace" 'msync\(.*100000, MS_SYNC\) = 0' ||
		fail "no msync of the file: $(cat "$trace")"
	kill "$st" 2>/dev/null
	wait "$st" 2>/dev/null || true
}

truncate_clears_a_shared_object_and_keeps_its_size() {
	"$PEER" posix "$P" write 0 "still"
	: >"$MNT/posix" # O_TRUNC
	assert_eq 5000 "$(file_size "$MNT/posix")"
	peer_sees posix "$P" 0 "....."
	assert_fails_with EPERM truncate -s 100 "$MNT/posix"
}

a_reload_keeps_the_objects_and_their_bytes() {
	"$PEER" posix "$P" write 10 "survives"
	kill -HUP "$MAIN_PID"
	wait_for_line "$MAIN_LOG" "reloaded" || return 1
	peer_sees posix "$P" 10 "survives"
	assert_eq survives "$(tail -c +11 "$MNT/posix" | head -c 8)" "after reload"
}

an_object_cut_short_behind_the_daemon_is_eio_and_kills_no_worker() {
	local before
	before=$(worker_pids "$MAIN_PID" | sort | xargs)
	truncate -s 100 "/dev/shm$P"
	assert_fails_with EIO timeout 10 cat "$MNT/posix"
	assert_fails_with EIO timeout 10 dd if=/dev/zero of="$MNT/posix" bs=1 count=1 seek=4500 conv=notrunc status=none
	truncate -s 5000 "/dev/shm$P"
	assert_eq 5000 "$(timeout 10 cat "$MNT/posix" | wc -c)" "readable once restored"
	assert_eq "$before" "$(worker_pids "$MAIN_PID" | sort | xargs)" "no worker died"
	local said
	said=$(grep -c "cut to 100 bytes under the daemon" "$MAIN_LOG")
	((said >= 1 && said <= 2)) || fail "$said log lines, not one per worker"
}

stop_removes_what_shmfs_created_only() {
	local mnt=$WORK/mnt-own conf=$WORK/own.ini out
	# Another program's objects, attached; one shmfs creates and keeps.
	"$PEER" posix "$P-theirs" create 8192
	"$PEER" sysv "$KEY2" create 12288
	cat >"$conf" <<EOF
[zone:theirs]
backend = posix
name = $P-theirs
attach = yes
[zone:kept]
backend = posix
name = $P-kept
size = 4096
keep = yes
[zone:seg]
backend = sysv
key = $KEY2
attach = yes
EOF
	start_daemon "$conf" "$mnt"
	assert_eq 8192 "$(file_size "$mnt/theirs")" "attached size"
	assert_eq 12288 "$(file_size "$mnt/seg")" "segment's size"
	stop_daemon "$mnt" "$DAEMON_PID"
	[[ -e /dev/shm$P-theirs ]] || fail "an attached posix object was removed"
	[[ -e /dev/shm$P-kept ]] || fail "keep = yes did not keep $P-kept"
	ipcs -m | grep -qi "^$KEY2 " || fail "a segment shmfs did not create was removed"
	ipcrm -M "$KEY2"
	# The kept object is the daemon's own, adopted again (and kept again,
	# although the start fails: the segment to attach is gone).
	printf 'kept' | dd of="/dev/shm$P-kept" conv=notrunc status=none
	if out=$("$SHMFS" -f -c "$conf" "$mnt" 2>&1); then
		fail "attached a missing segment"
	fi
	assert_contains "$out" "posix object $P-kept left by a previous run: adopted with its bytes"
	assert_contains "$out" "no the segment with key $KEY2 (attach = yes)"
	assert_eq kept "$(head -c 4 "/dev/shm$P-kept")" "the kept object's bytes"
	rm -f "/dev/shm$P-theirs" "/dev/shm$P-kept"
	# attach = yes with nothing to attach to.
	if out=$("$SHMFS" -f -c "$conf" "$mnt" 2>&1); then
		fail "attached a missing object"
	fi
	assert_contains "$out" "shm_open(\"$P-theirs\") failed (attach = yes)"
	assert_not_mounted "$mnt"
}

a_file_zone_survives_sigkill_and_a_clean_stop() {
	local mnt=$WORK/mnt-file conf=$WORK/file.ini data=$WORK/persist.bin
	printf '[zone:f]\nbackend = file\npath = %s\nsize = 1M\n' "$data" >"$conf"
	head -c 300000 /dev/urandom >"$WORK/want"
	start_daemon "$conf" "$mnt"
	dd if="$WORK/want" of="$mnt/f" conv=notrunc status=none
	kill -KILL "$DAEMON_PID"
	wait_child_exit "$DAEMON_PID" || fail "master survived SIGKILL"
	force_unmount "$mnt"
	start_daemon "$conf" "$mnt"
	cmp -s "$WORK/want" <(head -c 300000 "$mnt/f") || fail "lost after SIGKILL"
	head -c 300000 /dev/urandom >"$WORK/want"
	dd if="$WORK/want" of="$mnt/f" bs=4096 seek=10 conv=notrunc status=none
	stop_daemon "$mnt" "$DAEMON_PID"
	cmp -s "$WORK/want" <(tail -c +40961 "$data" | head -c 300000) ||
		fail "the file does not hold what was written"
	start_daemon "$conf" "$mnt"
	cmp -s "$WORK/want" <(tail -c +40961 "$mnt/f" | head -c 300000) ||
		fail "lost after a clean stop"
	stop_daemon "$mnt" "$DAEMON_PID"
	# A size that is not the file's names both; without size, the file's.
	printf '[zone:f]\nbackend = file\npath = %s\nsize = 2M\n' "$data" >"$conf"
	local out
	out=$("$SHMFS" -f -c "$conf" "$mnt" 2>&1) && fail "started with a size mismatch"
	assert_contains "$out" "is 1048576 bytes, the zone's size is 2097152"
	printf '[zone:f]\nbackend = file\npath = %s\n' "$data" >"$conf"
	start_daemon "$conf" "$mnt"
	assert_eq 1048576 "$(file_size "$mnt/f")"
	stop_daemon "$mnt" "$DAEMON_PID"
	printf '[zone:f]\nbackend = file\npath = %s\n' "$WORK/none" >"$conf"
	out=$("$SHMFS" -f -c "$conf" "$mnt" 2>&1) && fail "started with no file and no size"
	assert_contains "$out" "(and no size to create it)"
	assert_not_mounted "$mnt"
}

a_reload_that_renames_an_object_moves_the_zone_to_a_new_one() {
	sed -i "s|^name    = $P\$|name    = $P-renamed|" "$CONF"
	reload_daemon kill -HUP "$DAEMON_PID" || fail "no reload logged" || return 1
	[[ ! -e /dev/shm$P ]] || fail "the old object $P is still there"
	[[ -e /dev/shm$P-renamed ]] || fail "no new object $P-renamed"
	assert_eq 5000 "$(file_size "$MNT/posix")" "size after the reload"
	# The new object's bytes are its own: nothing of the old one's.
	assert_eq 0 "$(tr -d '\0' <"$MNT/posix" | wc -c)" "bytes of the new object"
	assert_eq "$P-renamed" "$(awk '$1 == "zone.posix.object" { print $2 }' "$MNT/.stats")"
	P=$P-renamed
}

objects_removed_at_the_stop() {
	[[ ! -e /dev/shm$P ]] || fail "posix object $P left after the stop"
	! ipcs -m | grep -qi "^$KEY " || fail "segment $KEY left after the stop"
	assert_eq 100000 "$(file_size "$FILE")" "the file stays"
}

run_test objects_exist_with_the_zones_size_owner_and_mode
run_test another_program_and_the_mount_see_each_others_writes
run_test stats_and_metrics_name_each_object
run_test shared_zones_run_direct_and_page_mode_is_refused
run_test test_mode_names_each_object_and_what_would_fail
run_test fsync_of_a_file_zone_reaches_msync
run_test truncate_clears_a_shared_object_and_keeps_its_size
run_test_here a_reload_keeps_the_objects_and_their_bytes
run_test_here an_object_cut_short_behind_the_daemon_is_eio_and_kills_no_worker
run_test_here stop_removes_what_shmfs_created_only
run_test_here a_file_zone_survives_sigkill_and_a_clean_stop
DAEMON_PID=$MAIN_PID DAEMON_LOG=$MAIN_LOG
run_test_here a_reload_that_renames_an_object_moves_the_zone_to_a_new_one
run_test_here unmount_stops_the_daemon_with_status_0
run_test objects_removed_at_the_stop
run_test nothing_is_left_behind
finish
