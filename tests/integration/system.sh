#!/bin/bash
# SPDX-License-Identifier: MIT
#
# system.sh -- shmfs fitted into the system as tmpfs and sshfs are: the
# systemd unit passes systemd-analyze verify, its capability set and
# no_new_privs are enough for a full run, and the daemon tells a service
# manager (a socket of the test's own as $NOTIFY_SOCKET) when it is ready,
# reloading and stopping; mount(8) and an fstab line mount it through
# mount.fuse3; and a user who is not root mounts, uses and unmounts it
# with fusermount3. Whatever touches /dev/fuse, a bindir or /usr/local/sbin
# does so in a private mount namespace (unshare --mount), never on the
# machine itself.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

for tool in systemd-analyze systemd-escape mount.fuse3 unshare nsenter \
	setpriv mknod; do
	command -v "$tool" >/dev/null || skip_or_fail "no $tool"
done
# The unit meson made from systemd/shmfs@.service.in for this build.
: "${SHMFS_UNIT:=$(dirname "$SHMFS")/../systemd/shmfs@.service}"
: "${SHMFS_BINDIR:=/usr/local/bin}"
UNIT=$SHMFS_UNIT
[[ -f $UNIT ]] || {
	echo "FAIL: $UNIT is missing (meson makes it)" >&2
	exit 1
}
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
chmod 0711 "$WORK" # nobody must reach its own directory below

CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = info

[zone:a]
size = 1M
EOF

# listen ADDRESS OUT: records each datagram that reaches ADDRESS (a path, or
# @name) in OUT as "PID MESSAGE" (the sender's pid from SCM_CREDENTIALS, the
# message's lines joined by |). On READY=1 it also records what the mount
# point held at that moment ("ls: NAME..."). Prints the listener's pid once
# it listens. It leaves by itself after TEST_TIMEOUT seconds.
listen() {
	timeout "$TEST_TIMEOUT" python3 - "$@" <<'PY' >/dev/null 2>>"$2.err" &
import os, socket, struct, sys
addr, out, mnt = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
f = open(out, "a")
print("listening", file=f, flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = "?"
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    text = msg.decode()
    print(pid, text.replace("\n", "|"), file=f, flush=True)
    if "READY=1" in text.split("\n"):
        try:
            print("ls:", " ".join(sorted(os.listdir(mnt))), file=f, flush=True)
        except OSError as e:
            print("ls: failed:", e, file=f, flush=True)
PY
	local pid=$!
	track_pid "$pid"
	wait_for_line "$2" '^listening$' >&2 || return 1
	echo "$pid"
}

# ---------------------------------------------------------------- systemd

# systemd-analyze verify checks that ExecStart's program exists: the built
# daemon is laid over the unit's bindir (an overlay, in a private mount
# namespace). It also runs man(1) for each Documentation= page: the built
# ones are found through MANPATH.
the_unit_passes_systemd_analyze_verify() {
	local units=$WORK/units bin=$WORK/bin out instance man
	man=$(dirname "$SHMFS")/../man
	grep -qx "ExecStart=$SHMFS_BINDIR/shmfs -f -p /run/shmfs/%i/shmfs.pid %f" "$UNIT" ||
		fail "ExecStart does not run $SHMFS_BINDIR/shmfs -f ... %f: $(grep ExecStart= "$UNIT")"
	[[ -d $SHMFS_BINDIR ]] || fail "no $SHMFS_BINDIR to lay the daemon over" ||
		return 1
	mkdir -p "$units" "$bin" "$WORK/man/man8" "$WORK/man/man5"
	cp "$UNIT" "$units/"
	cp "$SHMFS" "$bin/shmfs"
	if ! cp "$man/shmfs.8" "$WORK/man/man8/" ||
		! cp "$man/shmfs.ini.5" "$WORK/man/man5/"; then
		fail "the man pages are not built (meson setup -Dman=enabled)"
	fi
	instance=$(systemd-escape --path /mnt/shm)
	assert_eq mnt-shm "$instance" "escaped mount point"
	ln -s 'shmfs@.service' "$units/shmfs@$instance.service"
	out=$(MANPATH=$WORK/man unshare --mount --propagation private -- sh -c '
		mount -t overlay shmfs-test -o "lowerdir=$1:$4" "$4" &&
		systemd-analyze verify "$2/shmfs@.service" \
			"$2/shmfs@$3.service"' _ "$bin" "$units" "$instance" \
		"$SHMFS_BINDIR" 2>&1) ||
		fail "systemd-analyze verify failed: $out"
	# It warns of unknown keys and bad values yet exits 0: no output, then.
	assert_eq "" "$out" "systemd-analyze verify output"
	grep -qx 'Type=notify' "$UNIT" || fail "the unit is not Type=notify"
}

# The unit's CapabilityBoundingSet= as setpriv's list: -all,+sys_admin,...
unit_caps() {
	sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr ' ' '\n' |
		sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd, | sed 's/^/-all,/'
}

# The unit's own ExecStart= and ExecReload= lines, run as systemd would
# (its specifiers filled in, /run/shmfs/%i made as RuntimeDirectory= makes
# it, the configuration named by SHMFS_CONFIG as a drop-in would): a
# reload of a file that does not parse fails, exit 1 with the FILE:LINE
# error, and signals nothing; a good file reloads, exit 0.
the_units_reload_fails_on_a_broken_file_and_signals_nothing() {
	local mnt=$WORK/unitreload conf=$WORK/unitreload.ini run=$WORK/run
	local start reload out status
	grep -qx 'RuntimeDirectory=shmfs/%i' "$UNIT" ||
		fail "the unit has no RuntimeDirectory=shmfs/%i"
	start=$(sed -n 's/^ExecStart=//p' "$UNIT")
	reload=$(sed -n 's/^ExecReload=//p' "$UNIT")
	unit_line() { # a unit's command line, as run here
		local l=${1//"$SHMFS_BINDIR/shmfs"/$SHMFS}
		l=${l//"/run/shmfs/%i"/$run/mnt}
		printf '%s' "${l//%f/$mnt}"
	}
	start=$(unit_line "$start")
	reload=$(unit_line "$reload")
	printf '[shmfs]\nworkers = 1\n[zone:a]\nsize = 1M\n' >"$conf"
	mkdir -p "$mnt" "$run/mnt"
	DAEMON_LOG=$mnt.log
	# shellcheck disable=SC2086 # the unit's words, split as systemd does
	SHMFS_CONFIG=$conf $start >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
	wait_mounted "$mnt" "$DAEMON_PID" "$DAEMON_LOG"
	printf 'abc' >"$mnt/a"
	printf '[shmfs]\nworkers = 1\n[zone:a]\nsize = 12Q\n' >"$conf"
	status=0
	# shellcheck disable=SC2086
	out=$(SHMFS_CONFIG=$conf $reload 2>&1) || status=$?
	assert_eq 1 "$status" "exit status of ExecReload on a broken file"
	assert_contains "$out" "$conf:4: size" "ExecReload's message"
	printf '[shmfs]\nworkers = 1\n[zone:a]\nsize = 1M\n[zone:b]\nsize = 1M\n' >"$conf"
	# shellcheck disable=SC2086
	out=$(SHMFS_CONFIG=$conf $reload 2>&1) ||
		fail "ExecReload of a good file failed: $out"
	wait_for_line "$DAEMON_LOG" 'reloaded'
	# One reload only: the broken file never reached the daemon.
	assert_eq 1 "$(grep -c 'reloaded' "$DAEMON_LOG")" "reloads logged"
	[[ -e $mnt/b ]] || fail "zone b missing after the reload"
	assert_eq abc "$(cat "$mnt/a")" "zone a after the reload"
	kill -TERM "$DAEMON_PID"
	expect_daemon_exit "$DAEMON_PID" 0 ""
	assert_not_mounted "$mnt"
}

# As systemd would start it: only the unit's capabilities, no_new_privs.
# With user = nobody, a log file (the workers' lines reach it through the
# master), a SysV zone and a passthrough zone, it mounts, serves, reloads,
# reopens its log and stops.
the_units_capabilities_are_enough_for_a_full_run() {
	local mnt=$WORK/caps conf=$WORK/caps.ini log=$WORK/caps.file.log caps w
	caps=$(unit_caps)
	assert_match '^-all,\+sys_admin' "$caps" "the unit's capabilities"
	cat >"$conf" <<EOF
[shmfs]
workers = 2
user    = nobody
log     = $log
[zone:a]
size = 1M
[zone:s]
size    = 1M
backend = sysv
[zone:p]
size  = 1M
cache = passthrough
EOF
	mkdir -p "$mnt"
	DAEMON_LOG=$mnt.log
	setpriv --bounding-set="$caps" --inh-caps=-all --no-new-privs -- \
		"$SHMFS" -f -c "$conf" "$mnt" >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
	wait_mounted "$mnt" "$DAEMON_PID" "$log"
	wait_for_workers "$DAEMON_PID" 2
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_eq "$NOBODY" "$(awk '/^Uid:/ { print $2 }' "/proc/$w/status")" \
			"uid of worker $w"
	done
	printf 'abc' >"$mnt/a"
	printf 'def' >"$mnt/s"
	printf 'ghi' | dd of="$mnt/p" conv=notrunc status=none
	kill -HUP "$DAEMON_PID"
	wait_for_line "$log" 'reloaded'
	kill -USR1 "$DAEMON_PID"
	wait_for_line "$log" 'log reopened'
	assert_eq abc "$(cat "$mnt/a")" "zone a after the reload"
	assert_eq def "$(cat "$mnt/s")" "zone s after the reload"
	assert_eq ghi "$(head -c 3 "$mnt/p")" "zone p after the reload"
	# Passthrough may be missing from the kernel itself (shmfs -t, with
	# every capability, marks such zones page*): only then may it fail.
	local ignore='^$'
	if "$SHMFS" -t -c "$conf" | grep -q 'page\*'; then
		ignore='passthrough unavailable'
	fi
	if grep -vE "$ignore" "$log" | grep -E 'error|failed|unavailable'; then
		fail "the log reports a failure under the unit's capabilities"
	fi
	kill -TERM "$DAEMON_PID"
	expect_daemon_exit "$DAEMON_PID" 0 ""
	assert_not_mounted "$mnt"
}

# notified_lines OUT: the messages recorded, without pids.
notified_lines() {
	sed -n 's/^[0-9?]* //p' "$1" | grep -v '^listening$' || true
}

the_daemon_notifies_ready_reloading_and_stopping() {
	local mnt=$WORK/notify sock=$WORK/notify.sock out=$WORK/notify.out
	local listener msgs
	listener=$(listen "$sock" "$out" "$mnt")
	# shellcheck disable=SC2064 # the pid now: the local is gone at EXIT
	trap "kill $listener 2>/dev/null" EXIT # run_test's subshell, failed
	NOTIFY_SOCKET=$sock start_daemon "$CONF" "$mnt"
	wait_for_line "$out" 'READY=1'
	# The zones were there when READY=1 arrived: the mount was live.
	wait_for_line "$out" '^ls: '
	grep -qx 'ls: .metrics .stats a' "$out" || fail "at READY=1 the mount held: $(grep '^ls:' "$out")"
	kill -HUP "$DAEMON_PID"
	wait_for_line "$DAEMON_LOG" 'reloaded'
	wait_for_count "$out" 'READY=1' 2
	kill -TERM "$DAEMON_PID"
	expect_daemon_exit "$DAEMON_PID" 0 ""
	wait_for_line "$out" 'STOPPING=1'
	msgs=$(notified_lines "$out" | cut -d'|' -f1)
	assert_eq "READY=1
RELOADING=1
READY=1
STOPPING=1" "$(grep -v '^FDSTORE' <<<"$msgs")" "notifications, in order"
	# What a restart needs is in the store before READY=1, and gone
	# after the stop (the mount is).
	assert_eq FDSTORE=1 "$(head -n1 <<<"$msgs")" "the first message"
	assert_eq "" "$(sed '1,/^STOPPING=1$/d' <<<"$msgs" |
		grep -v '^FDSTOREREMOVE=1$')" "after STOPPING=1, removals only"
	assert_match 'FDSTOREREMOVE=1' "$(tail -n1 <<<"$msgs")" "the last message"
	assert_match "MAINPID=$DAEMON_PID(\||$)" "$(grep -m1 READY=1 "$out")" \
		"READY message"
	assert_match 'RELOADING=1\|MONOTONIC_USEC=[0-9]+' \
		"$(grep RELOADING "$out")" "RELOADING message"
	# Every message came from the master, none from a worker.
	if awk -v m="$DAEMON_PID" '$1 ~ /^[0-9?]+$/ && $1 != m' "$out" | grep .; then
		fail "a notification came from a process other than the master"
	fi
	kill "$listener"
}

# An abstract socket (@name), and the stop that an unmount from outside is.
notifications_reach_an_abstract_socket_and_an_unmount_stops() {
	local mnt=$WORK/abstract out=$WORK/abstract.out listener
	local name="@shmfs-test-$$-$RANDOM"
	listener=$(listen "$name" "$out" "$mnt")
	# shellcheck disable=SC2064 # the pid now: the local is gone at EXIT
	trap "kill $listener 2>/dev/null" EXIT # run_test's subshell, failed
	NOTIFY_SOCKET=$name start_daemon "$CONF" "$mnt"
	wait_for_line "$out" 'READY=1'
	stop_daemon "$mnt" "$DAEMON_PID"
	wait_for_line "$out" 'STOPPING=1\|STATUS=Unmounted'
	kill "$listener"
}

# ---------------------------------------------------------------- mount(8)

# in_mount_ns SCRIPT ARG...: runs the bash SCRIPT in a private mount
# namespace where mount(8)'s helper path finds the built daemon as
# "shmfs" (an overlay on /usr/local/sbin, first in that path).
in_mount_ns() {
	local script=$1 sbin=$WORK/sbin
	shift
	mkdir -p "$sbin"
	ln -sf "$SHMFS" "$sbin/shmfs"
	unshare --mount --propagation private -- bash -euo pipefail -c '
		sbin=$1
		shift
		mount -t overlay shmfs-test -o "lowerdir=$sbin:/usr/local/sbin" \
			/usr/local/sbin
		eval "$1"' _ "$sbin" "$script" "$@"
}

# mount(8) -> mount.fuse3 -> "shmfs SOURCE MOUNTPOINT -o rw,...,dev,suid":
# the mount is live, still nosuid,nodev, serves, and umount ends the daemon.
mount_and_umount_script='
	mnt=$2
	mount "${@:3}"
	findmnt -n -o FSTYPE,OPTIONS "$mnt"
	printf hello >"$mnt/a"
	cat "$mnt/a"; echo
	umount "$mnt"
'

# check_mount_output OUTPUT WANTED-OPTION...: findmnt's line says
# fuse.shmfs, nosuid, nodev and each option wanted; zone a read back hello.
check_mount_output() {
	local out=$1 line opt
	shift
	line=$(grep '^fuse\.shmfs ' <<<"$out") ||
		fail "not mounted as fuse.shmfs: $out" || return 1
	for opt in nosuid nodev "$@"; do
		assert_match "[ ,]$opt(,|\$)" "$line" "options"
	done
	grep -qx hello <<<"$out" || fail "zone a did not read back: $out"
}

# Waits for the detached daemon of MNT (found by its command line) to go.
wait_detached_gone() {
	local pid
	for pid in $(pgrep -f -- "shmfs .* $1 -o" || true); do
		wait_gone "$pid" || fail "shmfs (pid $pid) still runs after umount"
	done
}

mount_t_fuse_shmfs_with_the_ini_file_as_source() {
	local mnt=$WORK/mount-t out
	mkdir -p "$mnt"
	out=$(in_mount_ns "$mount_and_umount_script" "$mnt" \
		-t fuse.shmfs "$CONF" "$mnt" 2>&1) || fail "mount failed: $out"
	check_mount_output "$out"
	wait_detached_gone "$mnt"
}

an_fstab_line_with_defaults_and_allow_other_mounts() {
	local mnt=$WORK/fstab fstab=$WORK/fstab.txt out
	mkdir -p "$mnt"
	echo "$CONF $mnt fuse.shmfs defaults,allow_other 0 0" >"$fstab"
	out=$(in_mount_ns "$mount_and_umount_script" "$mnt" \
		--fstab "$fstab" "$mnt" 2>&1) || fail "mount failed: $out"
	check_mount_output "$out" allow_other
	# mount.fuse3 turned "defaults" into rw,dev,suid: dev,suid dropped.
	assert_contains "$out" "mount options dev,suid (mount.fuse3 adds them) ignored"
	wait_detached_gone "$mnt"
}

# "shmfs" as the source is the default configuration, unless config= names
# one; fstab words for mount(8) and systemd do not reach the daemon.
an_fstab_line_naming_config_and_mount_policy_mounts() {
	local mnt=$WORK/fstab2 fstab=$WORK/fstab2.txt out
	mkdir -p "$mnt"
	echo "shmfs $mnt fuse.shmfs config=$CONF,noauto,nofail,_netdev,relatime,noexec,x-systemd.requires=x 0 0" >"$fstab"
	out=$(in_mount_ns "$mount_and_umount_script" "$mnt" \
		--fstab "$fstab" "$mnt" 2>&1) || fail "mount failed: $out"
	check_mount_output "$out" noexec
	wait_detached_gone "$mnt"
}

# ---------------------------------------------------------------- non-root

# as_nobody_in NS-PID CMD...: runs CMD as nobody in the mount namespace of
# NS-PID.
as_nobody_in() {
	local pid=$1
	shift
	nsenter --mount="/proc/$pid/ns/mnt" -- setpriv --reuid="$NOBODY" \
		--regid="$NOGROUP" --clear-groups -- "$@"
}

# ns_mounted PID MNT: MNT is a shmfs mount in PID's mount namespace.
ns_mounted() {
	awk -v m="$2" '$5 == m && / - fuse\.shmfs / { f = 1 } END { exit !f }' \
		"/proc/$1/mountinfo" 2>/dev/null
}

# mounted_or_dead PID MNT: what wait_ns_mounted waits for.
mounted_or_dead() {
	ns_mounted "$1" "$2" || ! pid_alive "$1"
}

# wait_ns_mounted MNT: waits for the daemon ($DAEMON_PID, as nobody in its
# own namespace) to mount MNT there; fails early if it died.
wait_ns_mounted() {
	wait_until "$DEADLINE" mounted_or_dead "$DAEMON_PID" "$1"
	ns_mounted "$DAEMON_PID" "$1" ||
		fail "not mounted as nobody; log: $(cat "$DAEMON_LOG")"
}

# start_as_nobody HOME [ARG...]: in a private mount namespace whose
# /dev/fuse is a 0666 node (a tmpfs of its own holds it: /tmp may be
# nodev), starts shmfs -f as nobody on HOME/mnt with HOME/shmfs.ini. Sets
# DAEMON_PID and DAEMON_LOG; does not wait.
start_as_nobody() {
	local home=$1
	shift
	DAEMON_LOG=$home/daemon.log
	unshare --mount --propagation private -- bash -euo pipefail -c '
		dev=$1 shmfs=$2 home=$3
		shift 3
		mount -t tmpfs -o mode=0755,size=16k shmfs-test-dev "$dev"
		mknod -m 0666 "$dev/fuse" c 10 229
		mount --bind "$dev/fuse" /dev/fuse
		cd /
		exec setpriv --reuid=nobody --regid="$(id -g nobody)" \
			--clear-groups -- "$shmfs" -f -c "$home/shmfs.ini" \
			"$@" "$home/mnt"' _ "$home/dev" "$SHMFS" "$home" "$@" \
		>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
}

# make_home NAME: a directory of nobody's with a mount point and a
# configuration holding a page zone and a passthrough zone.
make_home() {
	local home=$WORK/$1
	install -d -o nobody -g "$NOGROUP" -m 0755 "$home" "$home/mnt"
	mkdir -p "$home/dev"
	cat >"$home/shmfs.ini" <<'EOF'
[shmfs]
workers   = 2
log_level = debug
user      = nobody
[zone:a]
size = 1M
[zone:p]
size  = 1M
cache = passthrough
EOF
	chmod 0644 "$home/shmfs.ini"
	echo "$home"
}

a_user_mounts_uses_and_unmounts_with_fusermount3() {
	local home mnt w out
	home=$(make_home user)
	mnt=$home/mnt
	start_as_nobody "$home"
	wait_ns_mounted "$mnt" || return 1
	assert_eq "$NOBODY" "$(stat -c %u "/proc/$DAEMON_PID")" "master's uid"
	wait_for_workers "$DAEMON_PID" 2
	for w in $(worker_pids "$DAEMON_PID"); do
		assert_eq "$NOBODY" "$(stat -c %u "/proc/$w")" "uid of worker $w"
	done
	# The mount, by and for nobody: fusermount3 made it.
	assert_match "user_id=$NOBODY" \
		"$(awk -v m="$mnt" '$5 == m' "/proc/$DAEMON_PID/mountinfo")" \
		"mount options"
	out=$(as_nobody_in "$DAEMON_PID" sh -c '
		printf "written by nobody" >"$1/a" && cat "$1/a" && echo &&
		printf xyz | dd of="$1/p" conv=notrunc status=none &&
		head -c 3 "$1/p" && echo && stat -c "%U %s" "$1/a"' _ "$mnt" 2>&1) ||
		fail "using the mount as nobody failed: $out"
	assert_eq "written by nobody
xyz
nobody 17" "$out" "what nobody read back"
	# Where the user may clone /dev/fuse (0666 here), workers do.
	wait_for_count "$DAEMON_LOG" 'serving on its own clone' 2
	! grep -q 'serving on the shared descriptor' "$DAEMON_LOG" ||
		fail "a worker shares the descriptor: $(cat "$DAEMON_LOG")"
	# What a non-root daemon cannot do is said once each, and it goes on.
	assert_eq 1 "$(grep -c 'passthrough unavailable' "$DAEMON_LOG")" \
		"passthrough warnings"
	assert_eq 1 "$(grep -c 'user = is ignored' "$DAEMON_LOG")" \
		"user = warnings"
	out=$(as_nobody_in "$DAEMON_PID" fusermount3 -u "$mnt" 2>&1) ||
		fail "fusermount3 -u as nobody failed: $out"
	expect_daemon_exit "$DAEMON_PID" 0 ""
}

# fusermount3 grants allow_other only where /etc/fuse.conf says
# user_allow_other: here an empty one, laid over it in the namespace.
a_user_gets_allow_other_only_if_fuse_conf_allows_it() {
	local home
	home=$(make_home user2)
	: >"$home/fuse.conf"
	DAEMON_LOG=$home/daemon.log
	unshare --mount --propagation private -- bash -euo pipefail -c '
		home=$1 shmfs=$2
		mount -t tmpfs -o mode=0755,size=16k shmfs-test-dev "$home/dev"
		mknod -m 0666 "$home/dev/fuse" c 10 229
		mount --bind "$home/dev/fuse" /dev/fuse
		mount --bind "$home/fuse.conf" /etc/fuse.conf
		cd /
		exec setpriv --reuid=nobody --regid="$(id -g nobody)" \
			--clear-groups -- "$shmfs" -f -c "$home/shmfs.ini" \
			-o allow_other "$home/mnt"' _ "$home" "$SHMFS" \
		>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
	expect_daemon_exit "$DAEMON_PID" 2 ""
	grep -q "user_allow_other" "$DAEMON_LOG" ||
		fail "no word of user_allow_other: $(cat "$DAEMON_LOG")"
}

# Where a user's workers cannot clone /dev/fuse (made so by the
# fault-injection build's no_clone: libfuse cannot mount at all where the
# user cannot open /dev/fuse, and a refused clone is not otherwise
# reachable), they share the master's descriptor: one line says so, and
# the mount serves as before.
a_users_workers_fall_back_to_the_shared_descriptor() {
	local home mnt out
	home=$(make_home fallback)
	mnt=$home/mnt
	SHMFS_FAULT=no_clone start_as_nobody "$home"
	wait_ns_mounted "$mnt" || return 1
	wait_for_workers "$DAEMON_PID" 2
	wait_for_count "$DAEMON_LOG" 'serving on the shared descriptor' 2
	assert_eq 1 "$(grep -c 'workers share one descriptor' "$DAEMON_LOG")" \
		"lines about the shared descriptor"
	out=$(as_nobody_in "$DAEMON_PID" sh -c '
		printf shared >"$1/a" && cat "$1/a"' _ "$mnt" 2>&1) ||
		fail "using the mount as nobody failed: $out"
	assert_eq shared "$out" "what nobody read back"
	out=$(as_nobody_in "$DAEMON_PID" fusermount3 -u "$mnt" 2>&1) ||
		fail "fusermount3 -u as nobody failed: $out"
	expect_daemon_exit "$DAEMON_PID" 0 ""
}

# system.sh faults: only what needs the fault-injection build.
if [[ ${1:-} == faults ]]; then
	require_fault_build
	run_test a_users_workers_fall_back_to_the_shared_descriptor
	run_test_here nothing_is_left_behind
	finish
fi

run_test the_unit_passes_systemd_analyze_verify
run_test the_units_capabilities_are_enough_for_a_full_run
run_test the_units_reload_fails_on_a_broken_file_and_signals_nothing
run_test the_daemon_notifies_ready_reloading_and_stopping
run_test notifications_reach_an_abstract_socket_and_an_unmount_stops
run_test mount_t_fuse_shmfs_with_the_ini_file_as_source
run_test an_fstab_line_with_defaults_and_allow_other_mounts
run_test an_fstab_line_naming_config_and_mount_policy_mounts
run_test a_user_mounts_uses_and_unmounts_with_fusermount3
run_test a_user_gets_allow_other_only_if_fuse_conf_allows_it
run_test_here nothing_is_left_behind
finish
