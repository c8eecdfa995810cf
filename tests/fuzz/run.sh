#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a libFuzzer target for a bounded time over a fresh copy of its seed
# corpus, so that what it learns never lands in the source tree.
# Usage: run.sh FUZZER SEED_DIR DICT WORK_DIR [SECONDS]
# SECONDS defaults to $FUZZ_SECONDS, else 30. A crash, leak or broken
# invariant fails the test; its input is saved in WORK_DIR as crash-* or
# leak-*, to be replayed with "FUZZER WORK_DIR/crash-...".
set -euo pipefail

fuzzer=$1 seeds=$2 dict=$3 work=$4
seconds=${5:-${FUZZ_SECONDS:-30}}

rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
# libFuzzer's own exit code for a finding, 77, is meson's "skipped": use 1.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 -dict="$dict" \
	-artifact_prefix="$work/" -print_final_stats=1 "$work/corpus"
