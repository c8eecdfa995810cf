#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages shmfs needs to build, run and test, if any is
# missing (all of them, after an apt-get update, when --all is given: CI).
set -euo pipefail

packages=(
	build-essential pkg-config meson ninja-build python3
	libfuse3-dev fuse3 libinih-dev libcmocka-dev libseccomp-dev
	clang libclang-rt-14-dev clang-format procps psmisc util-linux mount
	systemd python3-prometheus-client strace
	scdoc man-db bash-completion
	dpkg-dev debhelper fakeroot lintian debootstrap
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [[ ${1:-} != --all && ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
