# SPDX-License-Identifier: MIT
# What the package tests share (sourced): the TAP-like counters, and for
# the three that debootstrap a clean bookworm (chroot.sh, deps.sh,
# nspawn.sh) the mirror, the bootstrap itself and a cleanup that never
# removes a tree while anything is still mounted in it.

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

# deb_or_build [DEB]: the package to test, in $deb: DEB, or one that
# build.sh makes in $work/deb (its output shown if it fails).
deb_or_build() {
	deb=$1
	[[ -n $deb ]] && return 0
	"$src/tests/package/build.sh" "$work/deb" >"$work/build.log" ||
		{ cat "$work/build.log"; exit 1; }
	deb=$(ls "$work"/deb/shmfs_*.deb) || exit 1
}


# The host's Debian mirror (deb822 sources), or Debian's own; MIRROR wins.
package_mirror() {
	local m=${MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
	echo "${m:-http://deb.debian.org/debian}"
}

# remove_root WORK ROOT NAME: unmounts what is mounted under ROOT, innermost
# first (a bind mount of /dev is there), then removes WORK, unless something
# is still mounted (NAME says who refused).
remove_root() {
	local work=$1 root=$2 name=$3 m
	for m in $(awk -v r="$root" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if awk -v r="$root" 'index($5, r) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "$name: something is still mounted under $root; not removing $work" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}

# bootstrap WORK ROOT MIRROR [PACKAGES]: a minimal bookworm in ROOT (log in
# WORK), with PACKAGES (comma-separated, debootstrap's --include) on top;
# SHMFS_CHROOT_CACHE=DIR keeps debootstrap's tarball for the next run (one
# per package list). Exits (with the log's tail) if debootstrap fails.
bootstrap() {
	local work=$1 root=$2 mirror=$3 include=${4:-} cache tarball=() extra=()
	[[ -z $include ]] || extra=(--include="$include")
	if [[ -n ${SHMFS_CHROOT_CACHE:-} ]]; then
		mkdir -p "$SHMFS_CHROOT_CACHE"
		cache=$(realpath "$SHMFS_CHROOT_CACHE")/bookworm-minbase${include:+-${include//,/-}}.tgz
		[[ -s $cache ]] || debootstrap --variant=minbase "${extra[@]}" --make-tarball="$cache" \
			bookworm "$work/tarball" "$mirror" >"$work/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$work/debootstrap.log"; exit 1; }
		tarball=(--unpack-tarball="$cache")
	fi
	debootstrap --variant=minbase "${extra[@]}" "${tarball[@]}" bookworm "$root" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log"; exit 1; }
}
