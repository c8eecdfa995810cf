#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# FUSE over io_uring against /dev/fuse and tmpfs, in one run.
#
#   bench/uring.sh [--rounds N] [--runtime S] [--pin] [--sched] [--perf DIR]
#                  [--raw FILE]
#
# Each round mounts a private tmpfs and two shmfs daemons with the same
# zones (bench-direct: cache = direct, bench-page: cache = page), one with
# io_uring = off (/dev/fuse), one with io_uring = on (rings), checks in each
# mount's /.stats that it serves the transport it claims, and runs the same
# fio work (psync) on the three targets, interleaved item by item (the order
# reversed in even rounds). Per shmfs run it also takes the workers' CPU time
# and context switches per request (/proc/PID/stat and status, /.stats
# worker.N.requests). The table: medians across rounds, per-round ratios
# ring/devfuse, ring/tmpfs, devfuse/tmpfs, and the issue's targets.
# --pin: fio's jobs are pinned, job i on CPU i (fio --cpus_allowed_policy=split).
# --sched: each fio run under `perf stat -a`: idle periods, task migrations
# and wake-up IPIs per I/O, system-wide (where a caller's wake-up lands).
# --perf DIR: once, after the rounds, `perf record -g` of each transport's
# workers during a 2-job 4 KiB random read; the top symbols go to DIR.
# Needs /sys/module/fuse/parameters/enable_uring = Y. See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPORT="$BENCH_DIR/uring_report.py"

ROUNDS=3
RUNTIME=3
PIN=0
SCHED=0
PERF_DIR=""
RAW_OUT=""
usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; ROUNDS=$2; shift 2 ;;
	--runtime) [ $# -ge 2 ] || { usage >&2; exit 2; }; RUNTIME=$2; shift 2 ;;
	--pin) PIN=1; shift ;;
	--sched) SCHED=1; shift ;;
	--perf) [ $# -ge 2 ] || { usage >&2; exit 2; }; PERF_DIR=$2; shift 2 ;;
	--raw) [ $# -ge 2 ] || { usage >&2; exit 2; }; RAW_OUT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "uring.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "uring.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
case "$RUNTIME" in ''|*[!0-9]*|0) echo "uring.sh: --runtime must be a positive integer" >&2; exit 2 ;; esac

FILE_MB=64
FILE_BYTES=$((FILE_MB * 1024 * 1024))
URING_PARAM=/sys/module/fuse/parameters/enable_uring

# ---------------------------------------------------------------- prerequisites
bench_need_root "mount -t tmpfs, FUSE mounts"
bench_need python3 taskset
bench_apt fio fio
[ -r "$URING_PARAM" ] || die "no $URING_PARAM: this kernel has no FUSE over io_uring"
[ "$(cat "$URING_PARAM")" = Y ] ||
	die "$URING_PARAM is $(cat "$URING_PARAM"): the ring target needs Y (echo Y > $URING_PARAM, as root; note the old value)"
if [ -n "$PERF_DIR" ] || [ "$SCHED" = 1 ]; then
	command -v perf >/dev/null || die "--perf and --sched need perf (apt-get install linux-perf)"
fi
if [ -n "$PERF_DIR" ]; then
	mkdir -p "$PERF_DIR"
	PERF_DIR=$(cd "$PERF_DIR" && pwd)
fi
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
POSSIBLE=$(bench_possible_cpus)

bench_init uring
TMPFS_MNT="$WORK/tmpfs"
RAW="$WORK/results.tsv"
WARNINGS="$WORK/warnings"
: >"$RAW"
: >"$WARNINGS"
declare -A MNT=([devfuse]="$WORK/devfuse" [ring]="$WORK/ring")
warn() { printf 'WARNING: %s\n' "$*" | tee -a "$WARNINGS" >&2; }

PERF_PID=""
bench_before_exit() {
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null
		wait "$PERF_PID" 2>/dev/null
	fi
}
bench_on_exit() {
	local t
	if [ "$1" != 0 ]; then
		for t in devfuse ring; do
			[ -s "$WORK/$t.log" ] && { echo "--- shmfs log ($t) ---" >&2; tail -n 20 "$WORK/$t.log" >&2; }
		done
	fi
}

# The same zones for both daemons; only io_uring differs.
for t in devfuse ring; do
	case $t in devfuse) u=off ;; ring) u=on ;; esac
	cat >"$WORK/$t.ini" <<EOF
[shmfs]
workers = $POSSIBLE
io_uring = $u
[zone:bench-direct]
size = 128M
cache = direct
[zone:bench-page]
size = 128M
cache = page
EOF
	"$SHMFS" -t -c "$WORK/$t.ini" >"$WORK/$t.zones" ||
		die "shmfs -t rejected the $t configuration"
	if ! grep -Eq '^bench-direct +anon +direct ' "$WORK/$t.zones" ||
		! grep -Eq '^bench-page +anon +page ' "$WORK/$t.zones"; then
		die "shmfs -t does not show the expected cache modes: $(cat "$WORK/$t.zones")"
	fi
done

# file TARGET ZONE (direct|page)
target_file() {
	case $1 in
	tmpfs) echo "$TMPFS_MNT/bench-$2" ;;
	*) echo "${MNT[$1]}/bench-$2" ;;
	esac
}

stat_field() { # MNT KEY: a value of MNT/.stats
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1/.stats"
}

# The transport a mount serves, from its /.stats: must be the one it claims.
check_transport() {
	local t=$1 want got
	case $t in devfuse) want=/dev/fuse ;; ring) want=io_uring ;; esac
	got=$(stat_field "${MNT[$t]}" transport) ||
		die "$t: ${MNT[$t]}/.stats has no transport line"
	[ "$got" = "$want" ] ||
		die "$t: the mount serves 'transport $got', not '$want' (enable_uring is $(cat "$URING_PARAM")); see $WORK/$t.log"
}

# The workers' pids of mount T (from /.stats).
worker_pids() {
	awk '$1 ~ /^worker\.[0-9]+\.pid$/ { print $2 }' "${MNT[$1]}/.stats"
}

# sample T: "pids ticks voluntary involuntary requests" of mount T's
# workers now (CPU ticks, context switches, requests served)
sample() {
	local t=$1 pids ticks=0 vcs=0 ics=0 req p st fields
	pids=$(worker_pids "$t" | sort -n | tr '\n' ,)
	for p in ${pids//,/ }; do
		# utime and stime: fields 14 and 15, after the ")" of the name
		st=$(sed 's/^.*) //' "/proc/$p/stat") || die "$t: worker $p is gone"
		read -r -a fields <<<"$st"
		ticks=$((ticks + fields[11] + fields[12]))
		vcs=$((vcs + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$p/status")))
		ics=$((ics + $(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "/proc/$p/status")))
	done
	req=$(awk '$1 ~ /^worker\.[0-9]+\.requests$/ { s += $2 } END { print s + 0 }' "${MNT[$t]}/.stats")
	echo "$pids $ticks $vcs $ics $req"
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }

# --sched: the events counted system-wide around each fio run
SCHED_EVENTS=power:cpu_idle,sched:sched_migrate_task,irq_vectors:call_function_single_entry
SCHED_CMD=()
if [ "$SCHED" = 1 ]; then
	perf stat -a -x, -e "$SCHED_EVENTS" -o /dev/null -- true 2>/dev/null ||
		die "--sched: perf stat -a -e $SCHED_EVENTS does not work here"
fi
FIO_PIN=()
if [ "$PIN" = 1 ]; then
	FIO_PIN=(--cpus_allowed="0-$((NCPU - 1))" --cpus_allowed_policy=split)
fi

# fio_cmd ITEM FILE RW BS NUMJOBS DIRECT JSON [EXTRA...]
fio_cmd() {
	local item=$1 f=$2 rw=$3 bs=$4 nj=$5 direct=$6 json=$7
	shift 7
	"${SCHED_CMD[@]}" fio --name="$item" --filename="$f" --size="${FILE_MB}M" --rw="$rw" \
		--bs="$bs" --ioengine=psync --direct="$direct" --numjobs="$nj" \
		--group_reporting --runtime="$RUNTIME" --time_based \
		--norandommap --randrepeat=0 --invalidate=0 --create_on_open=0 \
		--allow_file_create=0 --fallocate=none --file_append=0 \
		"${FIO_PIN[@]}" "$@" --output-format=json --output="$json"
}

# run ROUND TARGET ITEM ZONE RW BS NUMJOBS DIRECT
run() {
	local rnd=$1 t=$2 item=$3 zone=$4 rw=$5 bs=$6 nj=$7 direct=$8 f
	local json="$WORK/fio.$item.$t.json" err="$WORK/fio.$item.$t.err"
	local before after v
	f=$(target_file "$t" "$zone")
	[ "$t" = tmpfs ] || before=$(sample "$t")
	SCHED_CMD=()
	[ "$SCHED" = 1 ] &&
		SCHED_CMD=(perf stat -a "--field-separator=," -e "$SCHED_EVENTS" -o "$WORK/sched.$item.$t" --)
	if ! fio_cmd "$item" "$f" "$rw" "$bs" "$nj" "$direct" "$json" 2>"$err"; then
		cat "$err" >&2
		die "fio $item on $t failed"
	fi
	[ "$t" = tmpfs ] || after=$(sample "$t")
	[ -s "$err" ] && warn "fio $item on $t wrote to stderr: $(tr '\n' ' ' <"$err")"
	v=$(python3 "$REPORT" fio "$json" "${rw#rand}") || die "fio $item on $t: bad result"
	[ "$(stat -c %s "$f")" = "$FILE_BYTES" ] ||
		warn "after fio $item on $t: $f has size $(stat -c %s "$f"), expected $FILE_BYTES"
	# v: iops mbps p50_us p99_us
	read -r iops mbps p50 p99 <<<"$v"
	record "$rnd" "$t" "$item" iops "$iops"
	record "$rnd" "$t" "$item" mbps "$mbps"
	record "$rnd" "$t" "$item" p50 "$p50"
	record "$rnd" "$t" "$item" p99 "$p99"
	if [ "$t" != tmpfs ]; then
		read -r p0 k0 v0 i0 r0 <<<"$before"
		read -r p1 k1 v1 i1 r1 <<<"$after"
		[ "$p0" = "$p1" ] || warn "$t: the workers changed during $item ($p0 -> $p1): CPU figures dropped"
		if [ "$p0" = "$p1" ] && [ $((r1 - r0)) -gt 0 ]; then
			record "$rnd" "$t" "$item" cpu_us "$(python3 -c "print(f'{($k1 - $k0) * 1e6 / $CLK_TCK / ($r1 - $r0):.3f}')")"
			record "$rnd" "$t" "$item" cs_vol "$(python3 -c "print(f'{($v1 - $v0) / ($r1 - $r0):.3f}')")"
			record "$rnd" "$t" "$item" cs_invol "$(python3 -c "print(f'{($i1 - $i0) / ($r1 - $r0):.3f}')")"
			record "$rnd" "$t" "$item" req_per_io "$(python3 -c "
import json
d = json.load(open('$json'))['jobs'][0]['${rw#rand}']
print(f'{($r1 - $r0) / max(1, d[\"total_ios\"]):.3f}')")"
		fi
	fi
	if [ "$SCHED" = 1 ]; then
		python3 - "$WORK/sched.$item.$t" "$json" "${rw#rand}" <<'PY' >>"$RAW.sched" || warn "--sched: no counts for $item on $t"
import json, sys
ios = json.load(open(sys.argv[2]))["jobs"][0][sys.argv[3]]["total_ios"]
names = {"power:cpu_idle": "idle", "sched:sched_migrate_task": "migr",
         "irq_vectors:call_function_single_entry": "ipi"}
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[2] in names and f[0].replace(".", "").isdigit():
        v = float(f[0]) / max(1, ios)
        if f[2] == "power:cpu_idle":
            v /= 2  # one event on entry, one on exit
        print(f"{names[f[2]]}\t{v:.3f}")
PY
		while IFS=$'\t' read -r m v; do record "$rnd" "$t" "$item" "$m" "$v"; done <"$RAW.sched"
		: >"$RAW.sched"
	fi
	log "round $rnd $t $item: $iops IOPS, $mbps MB/s, p50 $p50 us, p99 $p99 us"
}

prefill() {
	local z f
	for z in direct page; do
		f=$(target_file "$1" "$z")
		dd if=/dev/zero of="$f" bs=1M count="$FILE_MB" conv=notrunc status=none
		[ "$(stat -c %s "$f")" = "$FILE_BYTES" ] || die "prefill of $f: wrong size"
	done
}

start_round() {
	local t
	bench_mount_tmpfs "$TMPFS_MNT" size=256M,mode=0700
	for t in devfuse ring; do
		bench_start_fuse "${MNT[$t]}" "$WORK/$t.log" \
			"$SHMFS" -f -c "$WORK/$t.ini" "${MNT[$t]}"
		check_transport "$t"
	done
	prefill tmpfs
	prefill devfuse
	prefill ring
}

end_round() {
	local t
	for t in devfuse ring; do
		bench_stop_fuse "${MNT[$t]}"
		[ "$STOP_RC" = 0 ] || warn "shmfs ($t) exited with status $STOP_RC after unmount"
	done
	bench_umount_tmpfs "$TMPFS_MNT"
}

# Once: random bytes written to both zones of both mounts read back intact.
integrity_check() {
	local src="$TMPFS_MNT/random" t z dst ok=1
	head -c "$FILE_BYTES" /dev/urandom >"$src"
	for t in devfuse ring; do
		for z in direct page; do
			dst=$(target_file "$t" "$z")
			dd if="$src" of="$dst" bs=1M conv=notrunc status=none
			[ "$z" = page ] && dd if="$dst" iflag=nocache count=0 status=none
			cmp -s "$src" "$dst" || { ok=0; warn "integrity: $dst differs from what was written"; }
		done
	done
	rm -f "$src"
	if [ "$ok" = 1 ]; then
		INTEGRITY="ok (64 MiB of random bytes read back identical from both zones of both mounts, the page zones after dropping their cache)"
	else
		INTEGRITY="FAILED"
	fi
}

# perf record -g of mount T's workers during a 2-job 4 KiB random read.
perf_profile() {
	local t=$1 pids out="$PERF_DIR/perf.$1"
	pids=$(worker_pids "$t" | paste -sd,)
	log "perf: $t workers ($pids), ${RUNTIME} s of 2-job randread"
	SCHED_CMD=()
	perf record -g -o "$out.data" -p "$pids" 2>"$out.record.err" &
	PERF_PID=$!
	sleep 0.5
	fio_cmd perf "$(target_file "$t" direct)" randread 4k 2 1 "$WORK/fio.perf.$t.json" 2>/dev/null ||
		warn "perf: fio on $t failed"
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=""
	perf report -i "$out.data" --stdio --no-children --sort symbol \
		--percent-limit 0.7 -g none 2>/dev/null | grep -v '^$' >"$out.self.txt" ||
		warn "perf report of $t failed"
	perf report -i "$out.data" --stdio --children --sort symbol \
		--percent-limit 3 -g none 2>/dev/null | grep -v '^$' >"$out.children.txt" || true
	perf report -i "$out.data" --stdio --no-children --sort comm,dso \
		-g none 2>/dev/null | grep -v '^$' >"$out.dso.txt" || true
}

# ", CPU pressure some avg60 X%": how much others wanted the CPUs too
psi() {
	[ -r /proc/pressure/cpu ] || return 0
	awk '$1 == "some" { sub("avg60=", "", $3); printf ", CPU pressure (some, avg60) %s%%", $3 }' /proc/pressure/cpu
}

# ---------------------------------------------------------------- header
echo "shmfs io_uring benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine : $NCPU CPUs online, $POSSIBLE possible ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "shmfs   : $("$SHMFS" -V | tr '\n' ' ')workers = $POSSIBLE, zones bench-direct (cache = direct) and bench-page (cache = page), 128M, file ${FILE_MB} MiB"
echo "targets : tmpfs (private, mktemp dir); devfuse = shmfs io_uring = off; ring = shmfs io_uring = on (enable_uring = $(cat "$URING_PARAM")); transports checked in /.stats"
echo "fio     : $(fio --version), psync, ${RUNTIME} s time_based, norandommap; --direct=1 on the direct zone, 0 on the page zone (write-through: one request per write)"
if [ "$PIN" = 1 ]; then
	echo "CPUs    : --pin: fio job i on CPU i (--cpus_allowed_policy=split); the ring workers are pinned (worker i on CPU i), the /dev/fuse ones are not"
else
	echo "CPUs    : fio not pinned; the ring workers are pinned (worker i on CPU i, the kernel's queue i), the /dev/fuse ones are not (cpu_affinity = off)"
fi
echo "rounds  : $ROUNDS (targets interleaved per item, order reversed in even rounds)"
echo "load    : $(cut -d' ' -f1-3 /proc/loadavg) (load average at the start)$(psi)"
echo

# ---------------------------------------------------------------- rounds
# item zone rw bs numjobs direct
ITEMS=(
	"randread1 direct randread 4k 1 1"
	"randread2 direct randread 4k 2 1"
	"randwrite1 page randwrite 4k 1 0"
	"randwrite2 page randwrite 4k 2 0"
	"seqread direct read 1M 1 1"
	"seqwrite direct write 1M 1 1"
)
INTEGRITY="not run"
t_start=$(date +%s)
for rnd in $(seq "$ROUNDS"); do
	log "round $rnd/$ROUNDS"
	start_round
	targets=(tmpfs devfuse ring)
	[ $((rnd % 2)) = 0 ] && targets=(ring devfuse tmpfs)
	for it in "${ITEMS[@]}"; do
		read -r item zone rw bs nj direct <<<"$it"
		for t in "${targets[@]}"; do
			run "$rnd" "$t" "$item" "$zone" "$rw" "$bs" "$nj" "$direct"
		done
	done
	[ "$rnd" = 1 ] && integrity_check
	if [ "$rnd" = "$ROUNDS" ] && [ -n "$PERF_DIR" ]; then
		perf_profile devfuse
		perf_profile ring
	fi
	for t in devfuse ring; do check_transport "$t"; done
	end_round
done
t_end=$(date +%s)

# ---------------------------------------------------------------- report
python3 "$REPORT" table "$RAW"
echo
echo "devfuse = shmfs with io_uring = off, ring = io_uring = on; both: the same zones, the same binary."
echo "ratios per round, median (min..max). CPU/req = the workers' utime+stime (/proc/PID/stat)"
echo "over the requests they counted (/.stats worker.N.requests); cs/req = their context switches,"
echo "voluntary (waiting for a request) + involuntary (preempted);"
echo "req/io = requests per fio I/O (1.00 = one request each)."
echo "data check: $INTEGRITY"
for t in devfuse ring; do
	[ -s "$WORK/$t.log" ] &&
		echo "shmfs log ($t): $(grep -c . "$WORK/$t.log") lines, $(grep -ciE 'warn|error|fail' "$WORK/$t.log" || true) mentioning warn/error/fail"
done
if [ -n "$PERF_DIR" ]; then
	for t in devfuse ring; do
		echo
		echo "perf ($t workers, 2-job 4 KiB randread; $PERF_DIR/perf.$t.*): top symbols, self"
		grep -E '^ +[0-9.]+%' "$PERF_DIR/perf.$t.self.txt" | head -n 20 || true
	done
fi
echo
if [ -s "$WARNINGS" ]; then
	echo "warnings:"
	sed 's/^/  /' "$WARNINGS"
else
	echo "warnings: none"
fi
echo "load    : $(cut -d' ' -f1-3 /proc/loadavg) (load average at the end)$(psi)"
echo "elapsed: $((t_end - t_start)) s"
if [ -n "$RAW_OUT" ]; then
	cp "$RAW" "$RAW_OUT"
	echo "raw results: $RAW_OUT"
fi
