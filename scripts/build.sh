#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, creates the workers' system user _shmfs (as
# root, if missing: shmfs.ini says user = _shmfs), then configures (once)
# and builds into build/. Extra arguments go to "meson setup", e.g.
# -Dwerror=true.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
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
	meson setup build "$@"
fi
ninja -C build
