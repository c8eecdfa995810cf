#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/workerkill.sh [--base BUILD_DIR] [--seconds S] [--procs N]
#     [--interval SECONDS] [--keep DIR] [ROUNDS]:
# what a client sees when a worker is SIGKILLed mid-request while the
# master lives. One mount (workers = 2, two page and two direct anon
# zones) per build and run; a verifying load (tests/integration/verify:
# N processes, default 4, doing 4 KiB pread/pwrite on random blocks of
# the four zones, checking every read) for S seconds (default 10), while
# this script SIGKILLs a random worker every 200 ms (--interval); and the same load
# with no kill, for the baseline. With --base, the same runs with the
# shmfs of another build directory (e.g. one from before the resend
# work, whose workers read clones only they hold: fail-fast), the two
# builds interleaved. Prints per build and mode the medians of ROUNDS
# (default 3) rounds: kills, ops, ops/s, failed calls, wrong reads, the
# slowest call, and (the build that resends) the pause from each kill
# to the master's "were resent" line, from the daemon's log timestamped
# as it arrives. --keep DIR keeps the logs and per-round figures. Root;
# leaves nothing mounted.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BASE="" SECONDS_RUN=10 PROCS=4 INTERVAL=0.2 KEEP=""
while [[ ${1:-} == --* ]]; do
	case $1 in
	--base) BASE=$(realpath "$2") ;;
	--seconds) SECONDS_RUN=$2 ;;
	--procs) PROCS=$2 ;;
	--interval) INTERVAL=$2 ;;
	--keep) KEEP=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
ROUNDS=${1:-3}
if [[ -n $BASE ]]; then
	[[ -x $BASE/src/shmfs ]] || die "--base: $BASE/src/shmfs is not a program"
fi
bench_need_root "FUSE mounts, SIGKILL of the workers"
bench_need pgrep
bench_init workerkill
VERIFY=$BUILD/tests/integration/verify
[[ -x $VERIFY ]] || die "$VERIFY was not built (meson setup with the integration tests)"
mnt=$WORK/mnt
LOGGER_PID=""

printf '[shmfs]\nworkers = 2\nlog_level = info\n' >"$WORK/shmfs.ini"
for z in p1:page p2:page d1:direct d2:direct; do
	printf '[zone:%s]\nsize = 1M\ncache = %s\n' "${z%:*}" "${z#*:}" >>"$WORK/shmfs.ini"
done

# The daemon's lines, each prefixed with the time it arrived (the log has
# no timestamps of its own); ends at EOF, when the daemon and its workers
# are gone.
start_logger() {
	rm -f "$WORK/fifo" && mkfifo "$WORK/fifo"
	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
	done <"$WORK/fifo" >"$1" &
	LOGGER_PID=$!
}
stop_logger() {
	[[ -n $LOGGER_PID ]] || return 0
	wait "$LOGGER_PID" 2>/dev/null || true
	LOGGER_PID=""
}
bench_before_exit() {
	[[ -n ${LOAD_PID:-} ]] && kill "$LOAD_PID" 2>/dev/null
	return 0
}
bench_on_exit() {
	[[ -n $LOGGER_PID ]] && kill "$LOGGER_PID" 2>/dev/null
	[[ -n $KEEP ]] && mkdir -p "$KEEP" && cp "$WORK"/*.log.* "$WORK"/*.res "$KEEP"/ 2>/dev/null
	return 0
}

workers_of() { pgrep -P "$1" -x shmfs-worker || true; } # by pid

# run BIN KILL TAG: one mount, one load, KILL = 1 to kill workers. Appends
# "kills ops errors econnaborted enotconn wrong max_ms" to $WORK/TAG.res
# and each kill-to-resent pause (ms) to $WORK/TAG.pause.
run() {
	local bin=$1 kill=$2 tag=$3 out kills=0 end pids v
	start_logger "$WORK/log"
	: >"$WORK/kills"
	bench_start_fuse "$mnt" "$WORK/fifo" "$bin" -f -c "$WORK/shmfs.ini" "$mnt"
	"$VERIFY" -t "$SECONDS_RUN" -p "$PROCS" "$mnt"/p1 "$mnt"/p2 "$mnt"/d1 "$mnt"/d2 \
		>"$WORK/verify.out" 2>"$WORK/verify.err" &
	LOAD_PID=$!
	end=$((${EPOCHREALTIME/./} + SECONDS_RUN * 1000000))
	while ((kill)) && kill -0 "$LOAD_PID" 2>/dev/null && ((${EPOCHREALTIME/./} < end)); do
		sleep "$INTERVAL" # the kill pace is the benchmark's own
		mapfile -t pids < <(workers_of "$BENCH_PID")
		((${#pids[@]})) || continue
		v=${pids[RANDOM % ${#pids[@]}]}
		if kill -KILL "$v" 2>/dev/null; then
			echo "$EPOCHREALTIME" >>"$WORK/kills"
			kills=$((kills + 1))
		fi
	done
	wait "$LOAD_PID" || true # exits 1 when it saw errors: the point of (a)
	LOAD_PID=""
	bench_stop_fuse "$mnt"
	stop_logger
	out=$(tail -n 1 "$WORK/verify.out")
	[[ $out == ops=* ]] || die "verify said: $(cat "$WORK/verify.err")"
	grep -m1 'first error' "$WORK/verify.err" >>"$WORK/$tag.first" || true
	awk -v k="$kills" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print k, v["ops"], v["errors"], v["econnaborted"], v["enotconn"],
			v["wrong"] + v["mmap_wrong"], v["max_pause_ms"] }' <<<"$out" >>"$WORK/$tag.res"
	# Each kill, to the next "were resent" line; the master's own
	# "killed by signal 9" line, to the same.
	awk -v tag="$WORK/$tag" 'FNR == NR { k[++nk] = $1; next }
		/killed by signal 9/ { d[++nd] = $1 }
		/were resent/ { r[++nr] = $1 }
		END { j = 1
			for (i = 1; i <= nk; i++) {
				while (j <= nr && r[j] < k[i]) j++
				if (j <= nr && (i == nk || r[j] < k[i + 1]))
					printf "%.2f\n", (r[j] - k[i]) * 1000 >> (tag ".pause")
			}
			j = 1
			for (i = 1; i <= nd; i++) {
				while (j <= nr && r[j] < d[i]) j++
				if (j <= nr) printf "%.2f\n", (r[j] - d[i]) * 1000 >> (tag ".logpause")
			}
		}' "$WORK/kills" "$WORK/log"
	cp "$WORK/log" "$WORK/$tag.log.$(wc -l <"$WORK/$tag.res")"
}

builds="new"
[[ -n $BASE ]] && builds="base new"
bin_of() { [[ $1 == new ]] && echo "$SHMFS" || echo "$BASE/src/shmfs"; }
for ((r = 0; r < ROUNDS; r++)); do
	for b in $builds; do
		for k in 0 1; do
			log "round $((r + 1))/$ROUNDS: $b, $([[ $k == 1 ]] && echo kills || echo no kill)"
			run "$(bin_of "$b")" "$k" "$b.$k"
		done
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
col() { awk -v c="$2" '{ print $c }' "$WORK/$1.res" | median; }
pct() { # FILE P: the P-th percentile of a file of numbers, or -
	[[ -s $1 ]] || { echo -; return; }
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); print v[i < 1 ? 1 : i] }'
}
count() { if [[ -s $1 ]]; then wc -l <"$1"; else echo 0; fi; }
echo "workerkill: $PROCS processes, 4 KiB pread/pwrite on 2 page + 2 direct zones, ${SECONDS_RUN} s,"
echo "a worker (of 2) SIGKILLed every ${INTERVAL} s; medians of $ROUNDS rounds; $(nproc) CPUs"
echo "new: $SHMFS${BASE:+; base: $BASE/src/shmfs}"
printf '%-5s %-6s %6s %9s %8s %7s %12s %8s %6s %10s  %s\n' build killer kills ops ops/s failed ECONNABORTED ENOTCONN wrong max_ms \
	"kill->resent ms med/p90/max (n)"
for b in $builds; do
	for k in 0 1; do
		t=$b.$k
		ops=$(col "$t" 2)
		printf '%-5s %-6s %6s %9s %8s %7s %12s %8s %6s %10s  %s\n' "$b" "$([[ $k == 1 ]] && echo yes || echo no)" \
			"$(col "$t" 1)" "$ops" "$((ops / SECONDS_RUN))" "$(col "$t" 3)" "$(col "$t" 4)" \
			"$(col "$t" 5)" "$(col "$t" 6)" "$(col "$t" 7)" \
			"$(pct "$WORK/$t.pause" 50)/$(pct "$WORK/$t.pause" 90)/$(pct "$WORK/$t.pause" 100) ($(count "$WORK/$t.pause"))"
	done
done
for b in $builds; do
	[[ -s $WORK/$b.1.logpause ]] &&
		echo "$b: log \"killed by signal 9\" -> \"were resent\": median $(pct "$WORK/$b.1.logpause" 50) ms, max $(pct "$WORK/$b.1.logpause" 100) ms"
	[[ -s $WORK/$b.1.first ]] && echo "$b: first failed call: $(head -n 1 "$WORK/$b.1.first")"
done
echo "per round (kills ops failed ECONNABORTED ENOTCONN wrong max_ms):"
for b in $builds; do
	for k in 0 1; do
		echo "  $b.$k: $(paste -sd '|' "$WORK/$b.$k.res")"
	done
done
