#!/bin/bash
# SPDX-License-Identifier: MIT
#
# config.sh -- the ini file as the daemon reads it: "shmfs -t" prints the
# zone table; every mistake is exit 1 with one line "shmfs: FILE:LINE: ...",
# naming the right line, both with -t and when mounting (nothing mounted);
# a file without zones mounts an empty directory with a warning.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
mkdir -p "$MNT"

# run_shmfs (lib.sh) runs in $WORK, where run_test runs each test: so
# "-c bad.ini" is named as such.

# The table with runs of blanks squeezed to one space.
squeezed() {
	sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' <<<"$1"
}

# Every column of the table's lines starts, or ends, at the same place.
assert_aligned() {
	python3 - "$1" <<'PY' || fail "the table is not aligned: $1"
import re, sys
lines = [l for l in sys.argv[1].splitlines()[:-1] if l.strip()]
spans = [[m.span() for m in re.finditer(r"\S+", l)] for l in lines]
if len({len(s) for s in spans}) != 1:
    sys.exit(1)
for col in zip(*spans):
    if len({a for a, _ in col}) != 1 and len({b for _, b in col}) != 1:
        sys.exit(1)
PY
}

# ------------------------------------------------------------ good files

check_prints_the_zone_table() {
	cat >"$WORK/good.ini" <<'EOF'
; a comment
# another comment
[shmfs]
workers = 3   ; inline comment
backend = anon
mode    = 0600

[zone:cache]
size = 64M

[zone:ipc]
size    = 5000
backend = sysv
cache   = direct
mode    = 0640
uid     = daemon
gid     = nogroup

[zone:Big.zone-1]
size    = 1g
backend = devzero
uid     = 65534
EOF
	run_shmfs -t -c good.ini
	assert_eq 0 "$STATUS" "exit status ($ERR)"
	# Only the rounding of 5000 is worth a word (issue: silent rounding).
	assert_eq "shmfs: good.ini:12: size 5000 of zone \"ipc\" is rounded up to 8192 bytes (whole pages)" \
		"$ERR" "stderr"
	assert_eq "NAME BACKEND CACHE BYTES MODE UID GID
cache anon page 67108864 0600 0 0
ipc sysv direct 8192 0640 1 65534
Big.zone-1 devzero page 1073741824 0600 65534 0
3 zones, 1140858880 bytes, workers 3, transport /dev/fuse" \
		"$(squeezed "$OUT" | sed -E 's/(transport [^ ]+) .*/\1/')" "shmfs -t"
	assert_aligned "$OUT"
}

sizes_take_binary_suffixes_in_either_case_and_round_up_to_a_page() {
	local p=$PAGE_SIZE
	cat >"$WORK/sizes.ini" <<EOF
[shmfs]
workers = 1
[zone:one]
size = 1
[zone:page]
size = $p
[zone:page-and-one]
size = $((p + 1))
[zone:k]
size = 3k
[zone:K]
size = 8K
[zone:m]
size = 2m
[zone:G]
size = 1G
[zone:T]
size = 1T
EOF
	run_shmfs -t -c sizes.ini
	assert_eq 0 "$STATUS" "exit status ($ERR)"
	up() { echo $((($1 + p - 1) / p * p)); }
	assert_eq "one $p
page $p
page-and-one $((2 * p))
k $(up 3072)
K $(up 8192)
m 2097152
G 1073741824
T 1099511627776" "$(squeezed "$OUT" | sed '1d;$d' | cut -d" " -f1,4)" "sizes"
}

# Without -c the daemon reads the default file if it exists: here
# $SHMFS_CONFIG names it, so that the host's /etc is never read or written.
default_file_is_read_when_no_file_is_given() {
	export SHMFS_CONFIG=$WORK/etc/shmfs.ini
	mkdir -p "$WORK/etc"
	printf '[zone:from-etc]\nsize = 8K\n' >"$SHMFS_CONFIG"
	run_shmfs -t
	assert_eq 0 "$STATUS" "exit status ($ERR)"
	assert_contains "$(squeezed "$OUT")" "from-etc anon page 8192"
	assert_match '^1 zone, 8192 bytes' "$(squeezed "$OUT" | tail -n 1)" \
		"footer"
	# Unset, the default is SYSCONFDIR/shmfs/shmfs.ini, as meson configured
	# it (/etc/shmfs/shmfs.ini for a /usr build).
	unset SHMFS_CONFIG
	assert_contains "$("$SHMFS" --help)" \
		"${SHMFS_CONFIG_DEFAULT:-/etc/shmfs/shmfs.ini} if it exists" "--help"
}

built_in_default_is_the_repository_shmfs_ini() {
	local builtin
	export SHMFS_CONFIG=$WORK/no-such-file.ini
	run_shmfs -t
	assert_eq 0 "$STATUS" "exit status of shmfs -t ($ERR)"
	builtin=$OUT
	run_shmfs -t -c "$SHMFS_SRCDIR/shmfs.ini"
	assert_eq 0 "$STATUS" "exit status of shmfs -t -c shmfs.ini ($ERR)"
	assert_eq "$OUT" "$builtin" "built-in table vs shmfs.ini's"
	assert_contains "$(squeezed "$builtin")" "cache anon page 67108864 0600"
}

config_without_zones_mounts_an_empty_directory_with_a_warning() {
	printf '[shmfs]\nworkers = 1\n' >"$WORK/empty.ini"
	run_shmfs -t -c empty.ini
	assert_eq 0 "$STATUS" "exit status of -t ($ERR)"
	assert_match '^0 zones, 0 bytes' "$(squeezed "$OUT" | tail -n 1)" "footer"
	start_daemon "$WORK/empty.ini" "$WORK/mnt-empty"
	assert_eq "" "$(find "$WORK/mnt-empty" -mindepth 1 ! -name '.*')" "listing"
	assert_eq 0 "$(stat -f -c %c "$WORK/mnt-empty")" "statfs files"
	stop_daemon "$WORK/mnt-empty" "$DAEMON_PID"
	grep -qi 'zone' "$DAEMON_LOG" ||
		fail "no warning about the missing zones; log: $(cat "$DAEMON_LOG")"
}

config_can_be_named_with_o_config() {
	printf '[shmfs]\nworkers = 1\n[zone:via-o]\nsize = 4K\n' >"$WORK/o.ini"
	spawn_daemon "$WORK/mnt-o" -f -o "config=$WORK/o.ini"
	wait_mounted "$WORK/mnt-o" "$DAEMON_PID" "$DAEMON_LOG"
	assert_eq via-o "$(ls "$WORK/mnt-o")" "listing"
	stop_daemon "$WORK/mnt-o" "$DAEMON_PID"
}

log_key_sends_messages_to_a_file() {
	printf '[shmfs]\nworkers = 1\nlog_level = info\nlog = %s\n[zone:z]\nsize = 4K\n' \
		"$WORK/file.log" >"$WORK/log.ini"
	start_daemon "$WORK/log.ini" "$WORK/mnt-log"
	stop_daemon "$WORK/mnt-log" "$DAEMON_PID"
	grep -q 'exiting' "$WORK/file.log" ||
		fail "no worker exit line in the log file: $(cat "$WORK/file.log" 2>&1)"
	# -f keeps log =: stderr stays silent (and --help says so).
	assert_eq "" "$(cat "$DAEMON_LOG")" "stderr of -f with log = FILE"
	assert_contains "$("$SHMFS" --help)" "the log goes where log = says" \
		"--help on -f"
}

# An attached object's size left out is the object's, exact: -t fills it
# in and neither warns of a rounding nor names a line 0.
attached_object_without_size_is_not_said_to_be_rounded() {
	local name=shmfs-test-config-$$
	head -c 26976 /dev/zero >"/dev/shm/$name"
	printf '[zone:x]\nbackend = posix\nname = /%s\nattach = yes\n' "$name" \
		>"$WORK/attach.ini"
	run_shmfs -t -c attach.ini
	rm -f "/dev/shm/$name"
	assert_eq 0 "$STATUS" "exit status ($ERR)"
	assert_eq "" "$ERR" "stderr"
	assert_match "^x posix direct 26976 " "$(squeezed "$OUT" | sed -n 2p)" \
		"the object's size"
}

missing_config_file_exits_1() {
	run_shmfs -t -c missing.ini
	assert_eq 1 "$STATUS" "exit status of -t"
	assert_one_line "$ERR"
	assert_contains "$ERR" missing.ini "stderr"
	run_shmfs -f -c missing.ini "$MNT"
	assert_eq 1 "$STATUS" "exit status when mounting"
	assert_one_line "$ERR"
	assert_not_mounted "$MNT"
}

# ------------------------------------------------------------ bad files

# rejected_at LINE TEXT [REGEX]: TEXT as bad.ini is refused with exit 1 and
# one line "shmfs: bad.ini:LINE: ..." (LINE may be an alternation, "5|6"),
# matching REGEX if given, by -t and by the mount command, which mounts
# nothing.
rejected_at() {
	local line=$1 text=$2 regex=${3:-} how
	printf '%s\n' "$text" >"$WORK/bad.ini"
	for how in check mount; do
		if [[ $how == check ]]; then
			run_shmfs -t -c bad.ini
		else
			run_shmfs -f -c bad.ini "$MNT"
		fi
		assert_eq 1 "$STATUS" "exit status ($how; stderr: $ERR)"
		assert_one_line "$ERR" "stderr ($how)"
		assert_match "^shmfs: bad\\.ini:($line): " "$ERR" "stderr ($how)"
		[[ -z $regex ]] || assert_match "$regex" "$ERR" "stderr ($how)"
		assert_not_mounted "$MNT"
	done
}

unknown_key_is_rejected_at_its_line() {
	rejected_at 3 $'[shmfs]\nworkers = 2\ncolour = blue\n[zone:a]\nsize = 4K' colour
	rejected_at 5 $'[shmfs]\nworkers = 2\n[zone:a]\nsize = 4K\ncolour = blue' colour
}

key_outside_any_section_is_rejected() {
	rejected_at 1 $'size = 4K\n[zone:a]\nsize = 4K'
}

unknown_section_is_rejected_at_its_header() {
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\n[other]'
	rejected_at '4|5' $'[shmfs]\n[zone:a]\nsize = 4K\n[other]\nkey = 1'
}

duplicate_key_is_rejected_at_the_second() {
	rejected_at 3 $'[shmfs]\nworkers = 1\nworkers = 2\n[zone:a]\nsize = 4K'
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\nsize = 8K'
}

duplicate_zone_is_rejected_at_its_second_header() {
	rejected_at 5 $'[shmfs]\n[zone:a]\nsize = 4K\n\n[zone:a]\nsize = 8K'
}

missing_size_in_an_empty_zone_is_rejected_at_its_header() {
	rejected_at 3 $'[shmfs]\nworkers = 1\n[zone:empty]'
	rejected_at 1 $'[zone:empty]\n\n[zone:full]\nsize = 4K'
	rejected_at 2 $'[shmfs]\n[zone:nosize]\nmode = 0600\n[zone:b]\nsize = 4K'
}

size_that_is_not_a_size_is_rejected() {
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 12Q' '12Q'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = -1'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 1.5M'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 4K4'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize ='
}

zero_size_is_rejected() {
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 0'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 0K'
}

size_too_large_to_map_is_rejected() {
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 65T'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 99999999999999999999999'
	rejected_at 3 $'[shmfs]\n[zone:a]\nsize = 18014398509481984K'
}

bad_mode_is_rejected() {
	rejected_at 2 $'[shmfs]\nmode = 0999\n[zone:a]\nsize = 4K'
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\nmode = rw-r--r--'
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\nmode = 017777'
}

unknown_user_or_group_is_rejected() {
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\nuid = no-such-user-shmfs'
	rejected_at 2 $'[shmfs]\ngid = no-such-group-shmfs\n[zone:a]\nsize = 4K'
}

unknown_backend_is_rejected() {
	rejected_at 2 $'[shmfs]\nbackend = tmpfs\n[zone:a]\nsize = 4K' tmpfs
	rejected_at 4 $'[shmfs]\n[zone:a]\nsize = 4K\nbackend = shm' shm
}

bad_workers_or_log_level_is_rejected() {
	rejected_at 2 $'[shmfs]\nworkers = 0\n[zone:a]\nsize = 4K'
	rejected_at 2 $'[shmfs]\nworkers = 257\n[zone:a]\nsize = 4K'
	rejected_at 2 $'[shmfs]\nworkers = many\n[zone:a]\nsize = 4K'
	rejected_at 3 $'[shmfs]\nworkers = 1\nlog_level = loud\n[zone:a]\nsize = 4K'
	rejected_at 3 $'[shmfs]\nworkers = 1\nio_uring = yes\n[zone:a]\nsize = 4K' \
		'io_uring: "yes" is not auto, on or off'
}

# ------------------------------------------------------------ io_uring

# io_uring = on|off|auto (issue 17): this build serves /dev/fuse, and
# says so. What stands in the way of rings depends on the machine
# (enable_uring is the administrator's), so only its form is checked.
uring_ini() {
	printf '[shmfs]\nworkers = 1\nlog_level = info\n%s[zone:a]\nsize = 4K\n' \
		"${1:+io_uring = $1$'\n'}" >"$WORK/uring-${1:-default}.ini"
}

check_shows_the_transport_and_why_not_rings() {
	uring_ini ""
	run_shmfs -t -c uring-default.ini
	assert_eq 0 "$STATUS" "exit status of -t ($ERR)"
	assert_eq "" "$ERR" "stderr of -t"
	assert_match '^1 zone, 4096 bytes, workers 1, transport /dev/fuse \(io_uring: not used: .+\)$' \
		"$(tail -n 1 <<<"$OUT")" "summary of io_uring = auto"
	if grep -qx N /sys/module/fuse/parameters/enable_uring 2>/dev/null; then
		assert_contains "$OUT" "enable_uring is off" "-t with enable_uring N"
	fi
	uring_ini off
	run_shmfs -t -c uring-off.ini
	assert_eq 0 "$STATUS" "exit status of -t ($ERR)"
	assert_eq "1 zone, 4096 bytes, workers 1, transport /dev/fuse (io_uring = off)" \
		"$(tail -n 1 <<<"$OUT")" "summary of io_uring = off"
}

io_uring_on_is_refused_by_check_and_start_with_one_line() {
	uring_ini on
	run_shmfs -t -c uring-on.ini
	assert_eq 1 "$STATUS" "exit status of -t"
	assert_one_line "$ERR" "stderr of -t"
	assert_match '^shmfs: uring-on\.ini: io_uring = on: .+' "$ERR" "stderr of -t"
	run_shmfs -f -c uring-on.ini "$MNT"
	assert_eq 1 "$STATUS" "exit status of the start (stderr: $ERR)"
	assert_one_line "$ERR" "stderr of the start"
	assert_match '^shmfs: uring-on\.ini: io_uring = on: .+' "$ERR" "stderr of the start"
	assert_not_mounted "$MNT"
}

io_uring_auto_says_once_why_not_and_off_says_nothing() {
	uring_ini ""
	start_daemon "$WORK/uring-default.ini" "$WORK/mnt-auto"
	stop_daemon "$WORK/mnt-auto" "$DAEMON_PID"
	assert_eq 1 "$(count_lines "$DAEMON_LOG" '^shmfs: io_uring: not used: .+')" \
		"io_uring lines of auto: $(cat "$DAEMON_LOG")"
	uring_ini off
	start_daemon "$WORK/uring-off.ini" "$WORK/mnt-off"
	stop_daemon "$WORK/mnt-off" "$DAEMON_PID"
	assert_eq 0 "$(count_lines "$DAEMON_LOG" 'io_uring')" \
		"io_uring lines of off: $(cat "$DAEMON_LOG")"
}

bad_zone_name_is_rejected_at_its_header() {
	rejected_at 2 $'[shmfs]\n[zone:.hidden]\nsize = 4K'
	rejected_at 2 $'[shmfs]\n[zone:a/b]\nsize = 4K'
	rejected_at 2 $'[shmfs]\n[zone:]\nsize = 4K'
	rejected_at 2 $'[shmfs]\n[zone:sp ace]\nsize = 4K'
	rejected_at 2 "$(printf '[shmfs]\n[zone:%s]\nsize = 4K' "$(printf 'n%.0s' {1..256})")"
}

malformed_line_is_rejected() {
	rejected_at 3 $'[shmfs]\nworkers = 1\njust some words\n[zone:a]\nsize = 4K'
	rejected_at 2 $'[shmfs]\n[zone:a\nsize = 4K'
}

run_test check_prints_the_zone_table
run_test sizes_take_binary_suffixes_in_either_case_and_round_up_to_a_page
run_test built_in_default_is_the_repository_shmfs_ini
run_test default_file_is_read_when_no_file_is_given
run_test config_without_zones_mounts_an_empty_directory_with_a_warning
run_test config_can_be_named_with_o_config
run_test log_key_sends_messages_to_a_file
run_test attached_object_without_size_is_not_said_to_be_rounded
run_test missing_config_file_exits_1
run_test unknown_key_is_rejected_at_its_line
run_test key_outside_any_section_is_rejected
run_test unknown_section_is_rejected_at_its_header
run_test duplicate_key_is_rejected_at_the_second
run_test duplicate_zone_is_rejected_at_its_second_header
run_test missing_size_in_an_empty_zone_is_rejected_at_its_header
run_test size_that_is_not_a_size_is_rejected
run_test zero_size_is_rejected
run_test size_too_large_to_map_is_rejected
run_test bad_mode_is_rejected
run_test unknown_user_or_group_is_rejected
run_test unknown_backend_is_rejected
run_test bad_workers_or_log_level_is_rejected
run_test bad_zone_name_is_rejected_at_its_header
run_test malformed_line_is_rejected
run_test check_shows_the_transport_and_why_not_rings
run_test io_uring_on_is_refused_by_check_and_start_with_one_line
run_test io_uring_auto_says_once_why_not_and_off_says_nothing
run_test nothing_is_left_behind
finish
