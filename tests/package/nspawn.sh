#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The package under a real systemd: debootstrap a bookworm with systemd
# (tests/package/lib.sh), boot it with systemd-nspawn -b, install the .deb
# there, start shmfs@mnt-test.service on six zones (anon, devzero, sysv,
# memfd, memfd passthrough, posix) and check, under a verifying load:
#   - kill -KILL of the unit's MainPID: systemd restarts it (Restart=), the
#     new master adopts the mount from the fd store: 0 client errors, 0
#     wrong bytes, inode numbers unchanged, bytes written before intact;
#   - an upgrade of the package (the same .deb, version +nspawn1): the
#     postinst upgrades the master in place (same pid, new binary, no
#     restart), 0 client errors;
#   - systemctl stop unmounts and empties the fd store;
# then power the container off and leave nothing behind (processes,
# mounts, /run/systemd/nspawn entries, the tree).
#
#   tests/package/nspawn.sh [DEB]   (default: builds one with build.sh)
#
# The load runs in the container as LOAD -s STOPFILE FILE... and prints one
# "ops=N errors=N ... wrong=N max_pause_ms=X" line (exit 0 when clean):
# tests/package/load.sh (dd, in shell), or SHMFS_NSPAWN_LOAD=FILE (an
# executable for bookworm, e.g. the built tests/integration/verify).
# Root, the mirror, /dev/fuse, systemd-nspawn (systemd-container),
# debootstrap; any missing is a failure. SHMFS_CHROOT_CACHE=DIR keeps
# debootstrap's tarball. .ci/run runs it.
#
# No set -e: a check that fails (the commands in the container included)
# is counted and the next one runs; what the rest cannot do without exits.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"
mirror=$(package_mirror)

((EUID == 0)) || { echo "nspawn.sh: needs root" >&2; exit 1; }
for c in debootstrap systemd-nspawn nsenter pgrep dpkg-deb; do
	command -v "$c" >/dev/null ||
		{ echo "nspawn.sh: needs $c (scripts/deps.sh --all)" >&2; exit 1; }
done
[[ -c /dev/fuse ]] || { echo "nspawn.sh: needs /dev/fuse" >&2; exit 1; }
load=${SHMFS_NSPAWN_LOAD:-$src/tests/package/load.sh}
[[ -x $load ]] || { echo "nspawn.sh: $load is not executable" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-nspawn.XXXXXX")
root=$work/root
machine=shmfs-nspawn-$$
unit=shmfs@mnt-test.service
mnt=/mnt/test
files=(a z s m p x) # the zones under load; "keep" is written once
stopfile=/run/shmfs-load.stop
nspawn="" init="" loadpid=""

# A command in the container (its namespaces; a clean environment).
ct() {
	nsenter -t "$init" -m -u -i -n -p \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
# until_true SECONDS CMD...: polls CMD every 0.1 s; 1 at the deadline.
until_true() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}
now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }
# The unit's properties NAME... into the array u (u[NRestarts]=0, ...).
declare -A u
show() {
	local k v args=()
	u=()
	for k; do args+=(-p "$k") u[$k]=""; done # set, even if systemctl fails
	while IFS='=' read -r k v; do u[$k]=$v; done < <(ct systemctl show "${args[@]}" "$unit")
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# Poweroff (or, failing that, SIGTERM then SIGKILL to nspawn: the container
# and the mount in its namespace end with it), then the tree and what nspawn
# leaves in /run/systemd/nspawn (empty directories; others' are kept).
stop_container() {
	[[ -n $nspawn ]] && kill -0 "$nspawn" 2>/dev/null || return 0
	[[ -z $init ]] || ct systemctl poweroff >/dev/null 2>&1 || true
	until_true 30 gone "$nspawn" || { kill "$nspawn"; until_true 10 gone "$nspawn"; } ||
		kill -KILL "$nspawn"
	wait "$nspawn"
}
cleanup() {
	local st=$?
	set +e
	[[ -z $loadpid ]] || { kill "$loadpid" 2>/dev/null; wait "$loadpid"; }
	stop_container
	# nspawn's lock on the tree stays if nspawn was killed.
	rm -f "/run/systemd/nspawn/locks/inode-$(stat -c %d:%i "$root" 2>/dev/null)"
	remove_root "$work" "$root" nspawn.sh
	rmdir /run/systemd/nspawn/propagate/"$machine" /run/systemd/nspawn/propagate \
		/run/systemd/nspawn/locks /run/systemd/nspawn 2>/dev/null
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deb_or_build "${1:-}"

t0=$(date +%s)
bootstrap "$work" "$root" "$mirror" systemd,systemd-sysv,dbus,libfuse3-3,fuse3,adduser,libinih1
echo "# debootstrap bookworm minbase + systemd from $mirror: $(($(date +%s) - t0)) s"

# The same package, one version later: what an upgrade installs. Both in
# /root: the booted container mounts a tmpfs on /tmp.
{
	dpkg-deb -R "$deb" "$work/repack" &&
		sed -i 's/^Version: .*/&+nspawn1/' "$work/repack/DEBIAN/control" &&
		dpkg-deb -Zgzip -b "$work/repack" "$root/root/shmfs-new.deb" >/dev/null &&
		cp "$deb" "$root/root/shmfs.deb" && cp "$load" "$root/usr/local/bin/shmfs-load"
} || exit 1
echo "$machine" >"$root/etc/hostname"
mkdir -p "$root$mnt" "$root/etc/systemd/system/$unit.d" "$root/etc/shmfs"
cat >"$root/etc/systemd/system/$unit.d/test.conf" <<EOF
[Service]
Environment=SHMFS_CONFIG=/etc/shmfs/test.ini
EOF
cat >"$root/etc/shmfs/test.ini" <<'EOF'
[shmfs]
workers = 2
user = _shmfs
[zone:keep]
size = 1M
[zone:a]
size = 1M
[zone:z]
size = 1M
backend = devzero
[zone:s]
size = 1M
backend = sysv
[zone:m]
size = 1M
backend = memfd
[zone:p]
size = 1M
cache = passthrough
[zone:x]
size = 1M
backend = posix
name = /shmfs-nspawn
EOF

# --register=no --keep-unit: no machined, no scope (the host's PID 1 need
# not be systemd); commands go in with nsenter.
t1=$(now_ms)
systemd-nspawn -q -D "$root" -M "$machine" --register=no --keep-unit \
	--console=pipe -b --bind=/dev/fuse </dev/null >"$work/nspawn.log" 2>&1 &
nspawn=$!
find_init() { init=$(pgrep -P "$nspawn" | head -n 1) && [[ -n $init ]]; }
booted() { ct systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
if until_true 20 find_init && until_true 60 booted; then
	ok "systemd-nspawn -b boots it: $(ct systemctl --version | head -n 1), $(($(now_ms) - t1)) ms"
else
	not_ok "systemd-nspawn -b boots it (state: $( [[ -n $init ]] && ct systemctl is-system-running 2>&1))"
	sed 's/^/#   /' "$work/nspawn.log" | tail -n 20
	exit 1
fi

if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/shmfs.deb \
	>"$work/apt.log" 2>&1; then
	ok "apt-get install ./shmfs.deb under systemd"
else
	not_ok "apt-get install ./shmfs.deb under systemd"
	tail -n 20 "$work/apt.log" | sed 's/^/#   /'
fi

journal() { ct journalctl -q -n "${1:-20}" -u "$unit" | sed 's/^/#   /'; }
# A fresh start: whatever a failed check left, a clean unit and mount.
# (The posix object a killed master left: without attach = yes, the next
# start refuses it.)
fresh_start() {
	ct systemctl stop "$unit" 2>/dev/null
	ct umount -l "$mnt" 2>/dev/null
	ct rm -f /dev/shm/shmfs-nspawn
	ct systemctl reset-failed "$unit" 2>/dev/null
	if ! ct systemctl start "$unit" || ! ct mountpoint -q "$mnt"; then
		journal 4
		return 1
	fi
}
if fresh_start; then
	show FileDescriptorStoreMax Restart RestartUSec StartLimitBurst StartLimitIntervalUSec
	ok "systemctl start $unit mounts $mnt (FileDescriptorStoreMax=${u[FileDescriptorStoreMax]} Restart=${u[Restart]} RestartSec=${u[RestartUSec]} StartLimit=${u[StartLimitBurst]}/${u[StartLimitIntervalUSec]})"
else
	not_ok "systemctl start $unit mounts $mnt"
	journal
fi

# Bytes written before the kill, read back after; the inode numbers.
ct bash -c "head -c 1048576 /dev/urandom >/root/keep && dd if=/root/keep of=$mnt/keep bs=64k status=none"
# (stat alone may answer from the kernel's attribute cache; readdir asks.)
inodes() { ct ls -i1 "$mnt" && ct stat -c '%n %i' "$mnt"/keep "${files[@]/#/$mnt/}"; }
inodes >"$work/ino.before"

# The zones' writes so far (not the workers' requests: reading .stats is
# some, and this polls it).
writes() { ct awk '/^zone\..*\.writes / { n += $2 } END { print n + 0 }' "$mnt/.stats"; }
# until_busy SECONDS: the load has made 50 writes more than now.
until_busy() {
	local base
	base=$(writes) || return 1
	busy() { local n; n=$(writes) && ((n > base + 50)); }
	until_true "$1" busy
}
start_load() { # NAME
	ct rm -f "$stopfile"
	ct /usr/local/bin/shmfs-load -s "$stopfile" "${files[@]/#/$mnt/}" >"$work/$1.out" 2>"$work/$1.err" &
	loadpid=$!
}
# end_load NAME WHAT: stops the load, checks its line.
end_load() {
	local line
	ct touch "$stopfile"
	until_true 60 gone "$loadpid" || kill "$loadpid"
	wait "$loadpid"
	loadpid=""
	line=$(tail -n 1 "$work/$1.out")
	if [[ $line =~ errors=0\  && $line =~ wrong=0\  ]]; then
		ok "$2: $line"
	else
		not_ok "$2: ${line:-no summary}"
		head -n 5 "$work/$1.err" | sed 's/^/#   /'
	fi
}

# 1. kill -KILL of the main pid under load.
start_load kill
until_busy 30 || not_ok "the load runs before the kill"
show MainPID NRestarts
main=${u[MainPID]:-0} restarts=${u[NRestarts]:-0}
tk=$(now_ms)
# Never kill -KILL 0 (this process group, the test with it).
((main > 0)) && ct bash -c 'kill -KILL "$1"' _ "$main"
restarted() {
	show MainPID NRestarts ActiveState SubState
	[[ ${u[NRestarts]} -gt $restarts && ${u[ActiveState]} == active &&
		${u[SubState]} == running && ${u[MainPID]} != "$main" ]]
}
if until_true 20 restarted; then
	ok "kill -KILL $main: systemd restarted it in $(($(now_ms) - tk)) ms (NRestarts=${u[NRestarts]}, MainPID ${u[MainPID]})"
else
	not_ok "kill -KILL $main: systemd restarts it within 20 s (NRestarts=${u[NRestarts]} ${u[ActiveState]}/${u[SubState]})"
	journal 12
fi
if until_busy 20; then
	ok "the load goes on after the restart"
else
	not_ok "the load goes on after the restart"
fi
end_load kill "0 client errors, 0 wrong reads through the kill"
if ct cmp -s /root/keep "$mnt/keep"; then
	ok "the 1 MiB written before the kill reads back"
else
	not_ok "the 1 MiB written before the kill reads back"
fi
inodes >"$work/ino.after" 2>&1
if cmp -s "$work/ino.before" "$work/ino.after"; then
	ok "the inode numbers did not change"
else
	not_ok "the inode numbers did not change"
	diff "$work/ino.before" "$work/ino.after" | sed 's/^/#   /'
fi
show NFileDescriptorStore
if ((${u[NFileDescriptorStore]:-0} > 0)); then
	ok "the restarted master's fd store holds ${u[NFileDescriptorStore]} descriptors"
else
	not_ok "the restarted master's fd store holds descriptors (NFileDescriptorStore=${u[NFileDescriptorStore]:-})"
fi

# 2. A package upgrade upgrades the live master in place.
show ActiveState
[[ ${u[ActiveState]} == active ]] && ct mountpoint -q "$mnt" && ct ls "$mnt" >/dev/null 2>&1 ||
	fresh_start || not_ok "a fresh start before the upgrade"
start_load upgrade
until_busy 30 || not_ok "the load runs before the upgrade"
show MainPID NRestarts
main=${u[MainPID]:-0} restarts=${u[NRestarts]:-0}
tu=$(now_ms)
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/shmfs-new.deb \
	>"$work/upgrade.log" 2>&1 || not_ok "apt-get install ./shmfs-new.deb (the upgrade)"
du=$(($(now_ms) - tu))
show MainPID NRestarts
exe=$(ct readlink "/proc/$main/exe" 2>&1)
if [[ ${u[MainPID]} == "$main" && ${u[NRestarts]} == "$restarts" && $exe == /usr/bin/shmfs ]]; then
	ok "the upgrade ($du ms) re-executed the master in place: pid $main runs the new /usr/bin/shmfs"
else
	not_ok "the upgrade re-executes the master in place (MainPID $main -> ${u[MainPID]}, NRestarts $restarts -> ${u[NRestarts]}, exe '$exe')"
	grep -i shmfs "$work/upgrade.log" | sed 's/^/#   /'
fi
until_busy 20 || not_ok "the load goes on after the upgrade"
end_load upgrade "0 client errors, 0 wrong reads through the upgrade"

# 3. systemctl stop unmounts and empties the store.
ct systemctl stop "$unit"
show ActiveState Result NFileDescriptorStore
if [[ ${u[ActiveState]} == inactive && ${u[Result]} == success &&
	${u[NFileDescriptorStore]} == 0 ]] && ! ct mountpoint -q "$mnt"; then
	ok "systemctl stop unmounts $mnt; NFileDescriptorStore=0"
else
	not_ok "systemctl stop unmounts $mnt (${u[ActiveState]}, ${u[Result]}, NFileDescriptorStore=${u[NFileDescriptorStore]}, $(ct findmnt -n "$mnt"))"
	journal 8
fi

# 4. Poweroff, and nothing left.
st=0
ct systemctl poweroff >/dev/null 2>&1
until_true 30 gone "$nspawn" || not_ok "the container powers off within 30 s"
wait "$nspawn" || st=$?
nspawn=""
left=()
for p in /proc/[0-9]*; do
	[[ $(readlink "$p/root" 2>/dev/null) == "$root"* ]] && left+=("${p#/proc/}")
done
if ((st == 0 && ${#left[@]} == 0)) && ! grep -qF "$root" /proc/self/mountinfo; then
	ok "poweroff: nspawn exits 0, no process or mount of the container is left"
else
	not_ok "poweroff: nspawn exits $st, processes left: ${left[*]:-none}"
fi
echo "# $passed passed, $failed failed ($(($(date +%s) - t0)) s)"
((failed == 0))
