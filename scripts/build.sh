#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing for a profile (scripts/deps.sh), then configures
# and builds into build/:
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
if [[ ! -f build/build.ninja ]]; then
	meson setup build "${opts[@]}"
elif ((${#opts[@]})); then
	meson configure build "${opts[@]}"
fi
ninja -C build
