#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, then configures (once) and builds into build/.
# Extra arguments go to "meson setup", e.g. -Dwerror=true.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
if [[ ! -f build/build.ninja ]]; then
	meson setup build "$@"
fi
ninja -C build
