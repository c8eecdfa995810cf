#!/bin/bash
# SPDX-License-Identifier: MIT
#
# planted.sh -- objects nobody can plant. A root daemon's zones over shared
# objects that another user ($NB: nobody) could create first, or point
# elsewhere: a SysV segment with the zone's key, a posix object in
# /dev/shm, a symbolic link, a file or a directory in a sticky public
# directory. Each is refused at start and by -t with a line that names the
# object, its owner and what to do; object_owner = names the one user
# whose objects a zone accepts.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

id nobody >/dev/null 2>&1 || skip_or_fail "no user nobody"
NB=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
NOBODY=$(id -u nobody)
KEY=$(printf '0x5157%04x' $(($$ & 0xffff)))  # keys no other test uses
KEY2=$(printf '0x5158%04x' $(($$ & 0xffff)))
P=/shmfs-planted-$$
PUB=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-pub.XXXXXX") # a public sticky dir
chmod 1777 "$PUB"
MNT=$WORK/mnt
CONF=$WORK/zone.ini

extra_cleanup() {
	ipcrm -M "$KEY" 2>/dev/null || true
	ipcrm -M "$KEY2" 2>/dev/null || true
	rm -f "/dev/shm$P"
	rm -rf --one-file-system "$PUB"
}

# plant_segment KEY: nobody makes the segment (the issue's command) and
# prints its own pid.
plant_segment() {
	"${NB[@]}" /usr/bin/python3 -c 'import ctypes, os, sys
assert ctypes.CDLL(None).shmget(int(sys.argv[1], 0), 1 << 20, 0o1000 | 0o600) >= 0
print(os.getpid())' "$1"
}

# refused CONF TEXT: -t and the start both fail, saying TEXT, and nothing
# is mounted.
refused() {
	local conf=$1 text=$2 out
	out=$("$SHMFS" -t -c "$conf" 2>&1) && fail "-t accepted $conf: $out"
	assert_contains "$out" "$text"
	out=$(timeout "$DEADLINE" "$SHMFS" -f -c "$conf" "$MNT" 2>&1) &&
		fail "the daemon started with $conf: $out"
	assert_contains "$out" "$text"
	assert_not_mounted "$MNT"
}

# accepted CONF: -t passes and the daemon mounts and stops cleanly.
accepted() {
	local out
	out=$("$SHMFS" -t -c "$1" 2>&1) || fail "-t refused $1: $out"
	start_daemon "$1" "$MNT" || return 1
	stop_daemon "$MNT" "$DAEMON_PID"
}

mkdir -p "$MNT"

a_segment_nobody_made_with_the_zones_key_is_refused() {
	local pid
	pid=$(plant_segment "$KEY")
	printf '[zone:legacy]\nbackend = sysv\nkey = %s\nsize = 1M\n' "$KEY" >"$CONF"
	refused "$CONF" "zone \"legacy\": the segment with key $KEY exists (owner uid $NOBODY, creator uid $NOBODY, pid $pid): set attach = yes to use it, or remove it (ipcrm -M $KEY)"
	ipcs -m | grep -qi "^$KEY " || fail "the planted segment was removed"
}

an_attached_segment_must_be_owned_and_created_by_a_trusted_user() {
	local out
	printf '[zone:legacy]\nbackend = sysv\nkey = %s\nattach = yes\n' "$KEY" >"$CONF"
	refused "$CONF" "owner uid $NOBODY is not root, the daemon's user, the zone's uid or object_owner: refused (object_owner = $NOBODY would trust it)"
	# Handed to root, the segment is still its creator's: refused still.
	"${NB[@]}" /usr/bin/python3 - "$KEY" <<'PY'
import ctypes, sys
class Perm(ctypes.Structure):
    _fields_ = [("key", ctypes.c_int), ("uid", ctypes.c_uint), ("gid", ctypes.c_uint),
                ("cuid", ctypes.c_uint), ("cgid", ctypes.c_uint), ("mode", ctypes.c_ushort),
                ("pad", ctypes.c_ushort), ("seq", ctypes.c_ushort), ("pad2", ctypes.c_ushort),
                ("pad3", ctypes.c_uint), ("unused", ctypes.c_ulong * 2)]
class Ds(ctypes.Structure):
    _fields_ = [("perm", Perm), ("rest", ctypes.c_char * 256)]
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget(int(sys.argv[1], 0), 0, 0)
ds = Ds()
assert libc.shmctl(shmid, 2, ctypes.byref(ds)) == 0  # IPC_STAT
ds.perm.uid = ds.perm.gid = 0
assert libc.shmctl(shmid, 1, ctypes.byref(ds)) == 0, ctypes.get_errno()  # IPC_SET
PY
	assert_eq 0 "$(ipcs -m | awk -v k="$KEY" 'tolower($1) == k { print $3 }' | xargs id -u)" \
		"the segment's owner after IPC_SET"
	refused "$CONF" "(owner uid 0, creator uid $NOBODY, pid "
	out=$("$SHMFS" -t -c "$CONF" 2>&1) || true
	assert_contains "$out" "creator uid $NOBODY is not root"
	# Named with object_owner, the same segment is used.
	printf 'object_owner = nobody\n' >>"$CONF"
	out=$("$SHMFS" -t -c "$CONF" 2>&1) || fail "-t: $out"
	assert_match "^legacy +sysv .* key $KEY attach object_owner $NOBODY\$" \
		"$(grep '^legacy ' <<<"$out")" "-t shows object_owner"
	accepted "$CONF"
	ipcs -m | grep -qi "^$KEY " || fail "an attached segment was removed"
	ipcrm -M "$KEY"
}

a_segment_kept_by_the_daemon_is_adopted_or_attached_the_next_time() {
	local out
	printf '[zone:k]\nbackend = sysv\nkey = %s\nsize = 64K\nkeep = yes\nuid = nobody\n' \
		"$KEY2" >"$CONF"
	accepted "$CONF"
	assert_eq nobody "$(ipcs -m | awk -v k="$KEY2" 'tolower($1) == k { print $3 }')" \
		"the kept segment's owner (the zone's uid)"
	# Created by the daemon's user (root), as it left it: its own again.
	out=$("$SHMFS" -t -c "$CONF" 2>&1) || fail "-t refused the kept segment: $out"
	assert_contains "$out" "the segment with key $KEY2 left by a previous run: the start adopts it"
	accepted "$CONF"
	assert_eq nobody "$(ipcs -m | awk -v k="$KEY2" 'tolower($1) == k { print $3 }')" \
		"kept again (keep = yes)"
	# Its mode changed behind the daemon: not as shmfs leaves one, refused.
	printf '[zone:k]\nbackend = sysv\nkey = %s\nsize = 64K\nmode = 0640\nuid = nobody\n' \
		"$KEY2" >"$CONF"
	refused "$CONF" "the segment with key $KEY2 exists (owner uid $NOBODY, creator uid 0,"
	printf '[zone:k]\nbackend = sysv\nkey = %s\nattach = yes\nuid = nobody\n' \
		"$KEY2" >"$CONF"
	accepted "$CONF" # owned by the zone's uid, created by root
	ipcrm -M "$KEY2"
}

a_posix_object_nobody_made_is_refused_even_with_attach() {
	"${NB[@]}" /usr/bin/python3 -c 'import os, sys
fd = os.open("/dev/shm" + sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
os.ftruncate(fd, 8192)' "$P"
	printf '[zone:app]\nbackend = posix\nname = %s\nsize = 8192\n' "$P" >"$CONF"
	refused "$CONF" "posix object $P exists (/dev/shm$P): set attach = yes"
	printf '[zone:app]\nbackend = posix\nname = %s\nattach = yes\n' "$P" >"$CONF"
	refused "$CONF" "zone \"app\": posix object $P is owned by uid $NOBODY: not root, the daemon's user, the zone's uid or object_owner: refused (object_owner = $NOBODY would trust it)"
	printf 'object_owner = %s\n' "$NOBODY" >>"$CONF"
	accepted "$CONF"
	[[ -e /dev/shm$P ]] || fail "an attached posix object was removed"
	rm -f "/dev/shm$P"
}

a_link_nobody_planted_in_a_sticky_directory_is_refused() {
	local secret=$WORK/secret
	printf 'root only\n' >"$secret"
	chmod 600 "$secret"
	"${NB[@]}" ln -s "$secret" "$PUB/state.bin"
	printf '[zone:s]\nbackend = file\npath = %s\nmode = 0666\n' "$PUB/state.bin" >"$CONF"
	refused "$CONF" "zone \"s\": file $PUB/state.bin is a symbolic link (refused)"
	rm -f "$PUB/state.bin"
	# A link on the way: resolved, it leads into a directory root owns.
	"${NB[@]}" ln -s "$WORK" "$PUB/dir"
	printf '[zone:s]\nbackend = file\npath = %s\nmode = 0666\n' "$PUB/dir/secret" >"$CONF"
	refused "$CONF" "zone \"s\": file $PUB/dir/secret: symbolic link $PUB/dir is owned by uid $NOBODY, not root or the daemon's user (refused)"
	rm -f "$PUB/dir"
	# root's own link on the way is followed.
	ln -s "$WORK" "$PUB/dir"
	accepted "$CONF"
	rm -f "$PUB/dir"
	assert_eq "root only" "$(cat "$secret")" "the file behind the link"
}

a_file_nobody_owns_is_refused_unless_object_owner_names_nobody() {
	"${NB[@]}" sh -c "head -c 8192 /dev/zero >'$PUB/state.bin'"
	printf '[zone:s]\nbackend = file\npath = %s\n' "$PUB/state.bin" >"$CONF"
	refused "$CONF" "zone \"s\": file $PUB/state.bin is owned by uid $NOBODY: not root, the daemon's user, the zone's uid or object_owner: refused (object_owner = $NOBODY would trust it)"
	printf 'object_owner = nobody\n' >>"$CONF"
	accepted "$CONF"
	rm -f "$PUB/state.bin"
}

a_directory_nobody_controls_on_the_way_is_refused() {
	"${NB[@]}" mkdir "$PUB/theirs"
	printf '[zone:s]\nbackend = file\npath = %s\nsize = 4096\n' "$PUB/theirs/state.bin" >"$CONF"
	refused "$CONF" "zone \"s\": file $PUB/theirs/state.bin: directory $PUB/theirs is owned by uid $NOBODY, not root or the daemon's user (refused)"
	[[ ! -e $PUB/theirs/state.bin ]] || fail "created in nobody's directory"
	mkdir -m 0777 "$WORK/open"
	chmod 0777 "$WORK/open"
	printf '[zone:s]\nbackend = file\npath = %s\nsize = 4096\n' "$WORK/open/state.bin" >"$CONF"
	refused "$CONF" "directory $WORK/open (mode 0777) is writable by group or others and not sticky (refused)"
	# Sticky and root's, as /tmp: a file the daemon creates there is fine.
	printf '[zone:s]\nbackend = file\npath = %s\nsize = 4096\n' "$PUB/ours.bin" >"$CONF"
	accepted "$CONF"
	assert_eq "root 4096" "$(stat -c '%U %s' "$PUB/ours.bin")" "the file created"
	rm -f "$PUB/ours.bin"
}

run_test a_segment_nobody_made_with_the_zones_key_is_refused
run_test an_attached_segment_must_be_owned_and_created_by_a_trusted_user
run_test a_segment_kept_by_the_daemon_is_adopted_or_attached_the_next_time
run_test a_posix_object_nobody_made_is_refused_even_with_attach
run_test a_link_nobody_planted_in_a_sticky_directory_is_refused
run_test a_file_nobody_owns_is_refused_unless_object_owner_names_nobody
run_test a_directory_nobody_controls_on_the_way_is_refused
run_test nothing_is_left_behind
finish
