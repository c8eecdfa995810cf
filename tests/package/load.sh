#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A verifying load on zone files, in shell (dd and bash's builtins): the
# stand-in for tests/integration/verify.c where only a base system is (the
# nspawn test's container), with the same interface and summary line:
#
#   load.sh -s STOPFILE [-p PROCS] [-b BLOCKS] FILE...
#
# PROCS processes (default 2) run until STOPFILE exists: process p owns the
# 4 KiB blocks b with b % PROCS == p of every FILE (BLOCKS of them, default
# 32), gives each version 0, then writes (half the ops) and reads random
# ones, checking every read against the version it last wrote (a write that
# failed leaves either version; the next read settles which). One line on
# exit, and exit 0 only if errors and wrong are 0:
#   ops=N errors=N enotconn=N econnaborted=N wrong=N max_pause_ms=X.X
# max_pause_ms is the slowest op (a dd: fork and exec included, a few ms).
# The first error and the first wrong read are described on stderr.
set -uo pipefail
stop="" procs=2 blocks=32
while getopts s:p:b: o; do
	case $o in
	s) stop=$OPTARG ;;
	p) procs=$OPTARG ;;
	b) blocks=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ -n $stop && $# -gt 0 ]] || { echo "usage: load.sh -s STOPFILE [-p N] [-b N] FILE..." >&2; exit 2; }
files=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }

# worker P: its counters in $tmp/P when STOPFILE appears
worker() {
	local p=$1 ops=0 errors=0 enotconn=0 econnaborted=0 wrong=0 max=0
	local -A ver unsure
	local b fx key want got t0 dt err=$tmp/err.$p told=""
	block() { printf -v want '%-4095s' "shmfs-load f=$1 b=$2 v=$3"; }
	failed() { # what dd said: counted, the first one described
		errors=$((errors + 1))
		grep -q 'not connected' "$err" && enotconn=$((enotconn + 1))
		grep -q 'aborted' "$err" && econnaborted=$((econnaborted + 1))
		[[ -n $told ]] || { told=1; echo "load.sh: $1 ${files[fx]} block $b: $(head -n 1 "$err")" >&2; }
	}
	put() { # write version ver[key] of block b of file fx
		block "$fx" "$b" "${ver[$key]}"
		printf '%s\n' "$want" | dd of="${files[fx]}" bs=4096 seek="$b" count=1 \
			conv=notrunc iflag=fullblock status=none 2>"$err" ||
			{ unsure[$key]=1; failed write; }
	}
	for ((fx = 0; fx < ${#files[@]}; fx++)); do
		for ((b = p; b < blocks; b += procs)); do
			key=$fx.$b ver[$key]=0
			put
		done
	done
	while [[ ! -e $stop ]]; do
		fx=$((RANDOM % ${#files[@]}))
		b=$(((RANDOM % ((blocks - 1 - p) / procs + 1)) * procs + p))
		key=$fx.$b
		t0=$(now_us)
		if ((RANDOM % 2)); then
			ver[$key]=$((ver[$key] + 1))
			put
		elif { got=$(dd if="${files[fx]}" bs=4096 skip="$b" count=1 status=none 2>"$err"); } 2>/dev/null; then
			block "$fx" "$b" "${ver[$key]}"
			if [[ $got != "$want" ]]; then
				block "$fx" "$b" $((ver[$key] - 1))
				if [[ -n ${unsure[$key]:-} && $got == "$want" ]]; then
					ver[$key]=$((ver[$key] - 1))
				else
					wrong=$((wrong + 1))
					((wrong > 1)) || echo "load.sh: ${files[fx]} block $b: wanted version ${ver[$key]}, read '${got:0:40}...'" >&2
				fi
			fi
			unset "unsure[$key]"
		else
			failed read
		fi
		dt=$(($(now_us) - t0))
		((dt > max)) && max=$dt
		ops=$((ops + 1))
	done
	echo "$ops $errors $enotconn $econnaborted $wrong $max" >"$tmp/$p"
}

trap 'touch "$stop"' TERM INT
pids=()
for ((p = 0; p < procs; p++)); do
	worker "$p" &
	pids+=($!)
done
wait "${pids[@]}"
ops=0 errors=0 enotconn=0 econnaborted=0 wrong=0 max=0
for ((p = 0; p < procs; p++)); do
	read -r o e n a w m <"$tmp/$p" || { errors=$((errors + 1)); continue; }
	ops=$((ops + o)) errors=$((errors + e)) enotconn=$((enotconn + n))
	econnaborted=$((econnaborted + a)) wrong=$((wrong + w))
	((m > max)) && max=$m
done
printf 'ops=%d errors=%d enotconn=%d econnaborted=%d wrong=%d max_pause_ms=%d.%d\n' \
	"$ops" "$errors" "$enotconn" "$econnaborted" "$wrong" $((max / 1000)) $((max % 1000 / 100))
((errors == 0 && wrong == 0))
