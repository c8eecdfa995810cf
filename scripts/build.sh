#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing for a profile (scripts/deps.sh), creates the
# workers' system user _shmfs (as root, if missing: shmfs.ini says
# user = _shmfs), then configures and builds into build/:
#
#   scripts/build.sh [--test | --all] [MESON-OPTION...]
#
# No profile: what building and mounting need. --test (or --all) also the
# test tools, and then the unit tests and man pages are required
# (-Dunit_tests=enabled -Dman=enabled): "auto" looks for cmocka and scdoc
# only when meson configures, so a build/ made before the test packages
# came is configured again rather than left without its unit tests.
# MESON-OPTIONs (e.g. -Dwerror=true) go to "meson setup", or to "meson
# configure" for a build/ that exists.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
case ${1:-} in
--test | --all)
	profile=("$1")
	shift
	;;
esac
scripts/deps.sh "${profile[@]}"

opts=("$@")
if ((${#profile[@]})); then
	opts=(-Dunit_tests=enabled -Dman=enabled "${opts[@]}")
fi
# As the Debian package makes it (debian/shmfs.postinst): no home, no login.
if ! getent passwd _shmfs >/dev/null; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "build.sh: no user _shmfs (shmfs.ini's user =): run me as root once to create it" >&2
	elif command -v adduser >/dev/null; then
		adduser --system --group --no-create-home --home /nonexistent \
			--shell /usr/sbin/nologin --quiet _shmfs
		echo "build.sh: created the system user _shmfs, which the workers run as"
	else
		useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin _shmfs
		echo "build.sh: created the system user _shmfs, which the workers run as"
	fi
fi
if [[ ! -f build/build.ninja ]]; then
	meson setup build "${opts[@]}"
elif ((${#opts[@]})); then
	meson configure build "${opts[@]}"
fi
ninja -C build
