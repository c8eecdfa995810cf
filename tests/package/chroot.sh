#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The package in a clean Debian 12: debootstrap a minimal bookworm into a
# temporary directory from the host's Debian mirror, install the .deb there
# with apt (which pulls fuse3 and the libraries from the mirror), mount the
# default configuration with the installed /usr/bin/shmfs, check that the
# package made the workers' user _shmfs and that the workers run as it,
# write and read a zone, unmount (the daemon must exit 0), then purge the
# package and check that nothing of it is left (binary, /etc/shmfs, dpkg's
# record) but the user, which Debian leaves on purge.
#
#   tests/package/chroot.sh [DEB]   (default: builds one with build.sh)
#
# Root, network access to the mirror, /dev/fuse; any of them missing is a
# failure. About 45 s on the 2-vCPU VM, 42 of them debootstrap's (~40 MB
# downloaded); .ci/run runs it. Set SHMFS_CHROOT_CACHE=DIR to keep
# debootstrap's tarball between runs.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"
mirror=$(package_mirror)

((EUID == 0)) || { echo "chroot.sh: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ echo "chroot.sh: needs debootstrap (scripts/deps.sh)" >&2; exit 1; }
[[ -c /dev/fuse ]] || { echo "chroot.sh: needs /dev/fuse" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-chroot.XXXXXX")
root=$work/root
daemon=""
# Unmounts what we mounted under $root, innermost first; never removes the
# tree while anything is still mounted in it (a bind mount of /dev is there).
cleanup() {
	local st=$?
	set +e
	if [[ -n $daemon ]] && kill -0 "$daemon" 2>/dev/null; then
		umount -l "$root/mnt/shm" 2>/dev/null
		kill "$daemon"
		wait "$daemon"
	fi
	remove_root "$work" "$root" chroot.sh
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deb_or_build "${1:-}"

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

t0=$(date +%s)
bootstrap "$work" "$root" "$mirror"
echo "# debootstrap bookworm minbase from $mirror: $(($(date +%s) - t0)) s"

mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
cp "$deb" "$root/tmp/shmfs.deb"

if in_root apt-get update -qq >"$work/apt.log" 2>&1 &&
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		/tmp/shmfs.deb >>"$work/apt.log" 2>&1 &&
	[[ -x $root/usr/bin/shmfs && -f $root/etc/shmfs/shmfs.ini ]] &&
	in_root dpkg-query -W -f='${Status}\n' shmfs | grep -q "install ok installed"; then
	fuse=$(in_root dpkg-query -W -f='${Version}' fuse3)
	ok "apt-get install ./shmfs.deb in a clean bookworm (pulled fuse3 $fuse)"
else
	not_ok "apt-get install ./shmfs.deb in a clean bookworm"
	tail -n 20 "$work/apt.log" | sed 's/^/#   /'
fi

mkdir -p "$root/mnt/shm"
chroot "$root" /usr/bin/shmfs -f /mnt/shm 2>"$work/shmfs.log" &
daemon=$!
for _ in $(seq 100); do
	awk -v m="$root/mnt/shm" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo && break
	sleep 0.1
done
# The workers: children of the daemon (chroot execs it) named shmfs-worker.
shmfs_uid=$(in_root id -u _shmfs 2>/dev/null || true)
workers=()
for _ in $(seq 100); do
	workers=()
	for w in $(pgrep -P "$daemon" 2>/dev/null); do
		[[ $(cat "/proc/$w/comm" 2>/dev/null) == shmfs-worker ]] && workers+=("$w")
	done
	((${#workers[@]} > 0)) && break
	sleep 0.1
done
uids=$(for w in "${workers[@]}"; do awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$w/status"; done | sort -u)
if [[ -n $shmfs_uid ]] && in_root getent passwd _shmfs | grep -q ':/nonexistent:/usr/sbin/nologin$' &&
	((${#workers[@]} > 0)) && [[ $uids == "$shmfs_uid $shmfs_uid $shmfs_uid" ]]; then
	ok "the package made the system user _shmfs (uid $shmfs_uid); ${#workers[@]} workers run as it"
else
	not_ok "the package made the system user _shmfs; the workers run as it (uid '${shmfs_uid}', workers ${workers[*]:-none}: '$uids')"
	in_root getent passwd _shmfs | sed 's/^/#   /'
	sed 's/^/#   /' "$work/shmfs.log"
fi
if in_root sh -c 'head -c 1048576 /dev/urandom >/tmp/r && dd if=/tmp/r of=/mnt/shm/cache bs=64k status=none && cmp /tmp/r /mnt/shm/cache && grep -q "^zone.cache.length 1048576$" /mnt/shm/.stats'; then
	ok "the installed /usr/bin/shmfs mounts /etc/shmfs/shmfs.ini's zones; 1 MiB written reads back"
else
	not_ok "the installed /usr/bin/shmfs mounts /etc/shmfs/shmfs.ini's zones; 1 MiB written reads back"
	sed 's/^/#   /' "$work/shmfs.log"
fi
in_root fusermount3 -u /mnt/shm || umount "$root/mnt/shm"
st=0
wait "$daemon" || st=$?
daemon=""
if ((st == 0)); then
	ok "fusermount3 -u in the chroot; the daemon exits 0"
else
	not_ok "fusermount3 -u in the chroot; the daemon exits $st"
	sed 's/^/#   /' "$work/shmfs.log"
fi

if in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq shmfs >"$work/purge.log" 2>&1 &&
	[[ ! -e $root/usr/bin/shmfs && ! -e $root/etc/shmfs ]] &&
	! in_root dpkg-query -W shmfs >/dev/null 2>&1; then
	ok "apt-get purge shmfs leaves no binary, no /etc/shmfs and no dpkg record"
	if in_root getent passwd _shmfs >/dev/null; then
		ok "the user _shmfs stays after the purge (Debian removes no system user)"
	else
		not_ok "the user _shmfs stays after the purge"
	fi
else
	not_ok "apt-get purge shmfs leaves no binary, no /etc/shmfs and no dpkg record"
	tail -n 20 "$work/purge.log" | sed 's/^/#   /'
fi

echo "# $passed passed, $failed failed ($(($(date +%s) - t0)) s)"
((failed == 0))
