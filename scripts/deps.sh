#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages of a profile that are missing (apt-get
# update first, only then):
#
#   scripts/deps.sh          build shmfs and mount it (the README's first command)
#   scripts/deps.sh --test   also what "meson test -C build" calls
#   scripts/deps.sh --all    also the checks only .ci/run makes: clang builds
#                            (ASan, UBSan, libFuzzer), clang-format, the
#                            Debian package, lintian, the clean chroot and
#                            the booted one (systemd-nspawn)
set -euo pipefail

# meson.build: compiler, pkg-config for the dependencies, meson (whose
# python3 also runs scripts/embed.py), libfuse3, libinih, libseccomp; fuse3
# for fusermount3 (unmounting, non-root mounts).
build=(
	build-essential pkg-config meson ninja-build python3
	libfuse3-dev fuse3 libinih-dev libseccomp-dev
)
# What the tests call: cmocka (unit), scdoc and man-db (man pages, rendered
# by the install test), bash-completion (its pkg-config file and helpers),
# strace (objects.sh, fileio.sh), procps (pgrep, ps), util-linux and mount
# (setpriv, unshare, nsenter, ipcs, findmnt; Debian's base has them),
# systemd (systemd-analyze, systemd-escape: system.sh),
# python3-prometheus-client (a real parser of /.metrics), fio (the
# io_uring kill test: uring.sh), nginx-light and curl (nginx.sh: backend
# = process on a real nginx).
test=(
	libcmocka-dev scdoc man-db bash-completion strace procps util-linux
	mount systemd python3-prometheus-client fio nginx-light curl
)
# .ci/run only.
all=(
	clang libclang-rt-14-dev clang-format
	dpkg-dev debhelper fakeroot lintian debootstrap systemd-container
)

packages=("${build[@]}")
case ${1:-} in
"") ;;
--test) packages+=("${test[@]}") ;;
--all) packages+=("${test[@]}" "${all[@]}") ;;
*)
	echo "usage: scripts/deps.sh [--test | --all]" >&2
	exit 1
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
((${#missing[@]})) || exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
