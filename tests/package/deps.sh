#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's two commands in a clean Debian 12: debootstrap a minimal
# bookworm (as tests/package/chroot.sh does; SHMFS_CHROOT_CACHE=DIR keeps
# its tarball), copy the tree in, run command 1's packages and build
# (scripts/build.sh), mount and unmount the default configuration, then
# command 2's (scripts/build.sh --test) and the unit and install suites on
# that same build/. Prints the packages each profile added and their count.
#
#   tests/package/deps.sh [--all]   (root, the mirror, /dev/fuse; minutes)
#
# --all then adds scripts/deps.sh --all and counts what it brings.
#
# Not run by .ci/run: it downloads every build and test dependency (about
# 300 MB), which CI installs on the host anyway (scripts/deps.sh --all).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"
mirror=$(package_mirror)

((EUID == 0)) || { echo "deps.sh: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ echo "deps.sh: needs debootstrap (scripts/deps.sh --all)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-deps.XXXXXX")
root=$work/root
cleanup() {
	local st=$?
	set +e
	remove_root "$work" "$root" deps.sh
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }
installed() { in_root dpkg-query -W -f='${Package}\n' | sort; }

bootstrap "$work" "$root" "$mirror"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir "$root/src"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./debs -cf - . |
	tar -C "$root/src" -xf -

added() { # BEFORE-FILE AFTER-FILE LABEL
	local n
	n=$(comm -13 "$1" "$2" | wc -l)
	echo "# $3 added $n packages:"
	comm -13 "$1" "$2" | xargs | fold -s -w 76 | sed 's/^/#   /'
}

installed >"$work/base"
echo "# clean bookworm minbase: $(wc -l <"$work/base") packages"

# Command 1: build, then mount as the README does (detached), unmount.
if in_root bash -c 'cd /src && scripts/build.sh' >"$work/build1.log" 2>&1; then
	ok "scripts/build.sh in a clean bookworm"
else
	not_ok "scripts/build.sh in a clean bookworm"
	tail -n 30 "$work/build1.log" | sed 's/^/#   /'
fi
installed >"$work/build"
in_root bash -c 'cd /src && scripts/deps.sh' && ok "scripts/deps.sh is then a no-op" ||
	not_ok "scripts/deps.sh is then a no-op"
added "$work/base" "$work/build" "scripts/deps.sh (build and run)"
if in_root bash -c 'mkdir -p /mnt/shm && /src/build/src/shmfs /mnt/shm &&
		echo hello >/mnt/shm/cache && grep -qx hello /mnt/shm/cache &&
		fusermount3 -u /mnt/shm' >"$work/mount.log" 2>&1; then
	ok "build/src/shmfs /mnt/shm mounts; a zone reads back; fusermount3 -u"
else
	not_ok "build/src/shmfs /mnt/shm mounts; a zone reads back; fusermount3 -u"
	sed 's/^/#   /' "$work/mount.log"
	umount -l "$root/mnt/shm" 2>/dev/null || true
fi
meson_unit() { in_root bash -c 'cd /src && meson test -C build --list 2>/dev/null' | grep -c '^shmfs:unit' || true; }
echo "# unit tests in build/ after command 1: $(meson_unit)"

# Command 2 on the same build/: the unit tests must appear.
if in_root bash -c 'cd /src && scripts/build.sh --test' >"$work/build2.log" 2>&1; then
	ok "scripts/build.sh --test on command 1's build/"
else
	not_ok "scripts/build.sh --test on command 1's build/"
	tail -n 30 "$work/build2.log" | sed 's/^/#   /'
fi
installed >"$work/test"
added "$work/build" "$work/test" "scripts/deps.sh --test (on top)"
n=$(meson_unit)
if ((n > 0)) && in_root bash -c 'cd /src && meson test -C build --suite unit --suite install --print-errorlogs' >"$work/test.log" 2>&1; then
	ok "meson test --suite unit --suite install ($n unit tests built)"
else
	not_ok "meson test --suite unit --suite install ($n unit tests built)"
	tail -n 40 "$work/test.log" | sed 's/^/#   /'
fi
if [[ ${1:-} == --all ]]; then
	if in_root bash -c 'cd /src && scripts/deps.sh --all' >"$work/all.log" 2>&1; then
		ok "scripts/deps.sh --all"
	else
		not_ok "scripts/deps.sh --all"
		tail -n 20 "$work/all.log" | sed 's/^/#   /'
	fi
	installed >"$work/all"
	added "$work/test" "$work/all" "scripts/deps.sh --all (on top)"
fi
echo "# $passed passed, $failed failed"
((failed == 0))
