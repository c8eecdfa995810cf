#!/usr/bin/env bash
# Count the instructions a shmfs worker spends per 4 KiB read request.
#
#   bench/callgrind.sh [-n N] [--top K] [--keep DIR]
#
# Runs the daemon as `shmfs -f -w 1` under valgrind --tool=callgrind
# (--trace-children=yes; the forked worker gets its own output file), fills a
# 16 MiB `cache = direct` zone with dd, does exactly N 4 KiB preads at random
# (fixed-seed) offsets with bench/preadn.c (direct_io: one READ request
# each), unmounts, and reads the worker's total instruction count I(N).
# The same is done with N = 0 (open and close only) and with N/2, so the
# figure per request is (I(N) - I(0)) / N, and (I(N) - I(N/2)) / (N/2) must
# agree with it. Then the functions with the most instructions per request
# (self and inclusive, from callgrind_annotate, also differenced against
# N = 0). Default N = 10000, K = 12. --keep DIR keeps the callgrind files.
# valgrind does not know seccomp(2), so the daemon comes from its own build,
# build-callgrind (meson setup -Dseccomp=false, made once). See
# bench/README.md.
set -euo pipefail
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT_DIR/build-callgrind}
if [[ ! -f $BUILD/build.ninja ]]; then
	meson setup "$BUILD" "$ROOT_DIR" -Dseccomp=false >/dev/null ||
		{ echo "meson setup $BUILD failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10000
TOP=12
KEEP=""
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	-n) [ $# -ge 2 ] || { usage >&2; exit 2; }; N=$2; shift 2 ;;
	--top) [ $# -ge 2 ] || { usage >&2; exit 2; }; TOP=$2; shift 2 ;;
	--keep) [ $# -ge 2 ] || { usage >&2; exit 2; }; KEEP=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "callgrind.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
case "$N" in ''|*[!0-9]*|0|1) echo "callgrind.sh: -n must be an integer >= 2" >&2; exit 2 ;; esac
case "$TOP" in ''|*[!0-9]*|0) echo "callgrind.sh: --top must be a positive integer" >&2; exit 2 ;; esac

ZONE_MB=16
ZONE_BYTES=$((ZONE_MB * 1024 * 1024))
BS=4096
MOUNT_TIMEOUT=120   # s: valgrind starts slowly
RUN_TIMEOUT=1200    # s: N requests at callgrind speed
STOP_TIMEOUT=120    # s: the worker dumps its profile on the way out

bench_need_root
bench_need valgrind callgrind_annotate python3 timeout
bench_init callgrind
BENCH_STOP_TIMEOUT=$STOP_TIMEOUT # read by lib.sh
MNT="$WORK/mnt"
BGPID=""  # dd or preadn (under timeout), run in the background so that a
          # signal to this script is acted on at once, not when it ends

# bg CMD...: run CMD in the background and wait for it (wait returns when a
# trapped signal arrives; a foreground command would delay the trap)
bg() {
	"$@" &
	BGPID=$!
	wait "$BGPID"
	local rc=$?
	BGPID=""
	return "$rc"
}

# Before the cleanup unmounts: stop dd or preadn. After the daemon has
# exited (and its worker written its profile): print the logs on a failure,
# keep the callgrind files if asked.
bench_before_exit() {
	if [ -n "$BGPID" ]; then
		kill -TERM "$BGPID" 2>/dev/null   # timeout passes it on
		wait "$BGPID" 2>/dev/null
	fi
}
bench_on_exit() {
	if [ "$1" != 0 ]; then
		for f in "$WORK"/run.*/shmfs.log; do
			[ -s "$f" ] && { echo "--- $f ---" >&2; tail -n 20 "$f" >&2; }
		done
	fi
	if [ -n "$KEEP" ] && [ -d "$WORK" ]; then
		mkdir -p "$KEEP" && cp -r "$WORK"/run.* "$KEEP"/ 2>/dev/null &&
			echo "callgrind files kept in $KEEP" >&2
	fi
}

PREADN=$(bench_helper preadn)

cat >"$WORK/shmfs.ini" <<EOF
[shmfs]
workers = 1
[zone:cg]
size = ${ZONE_MB}M
cache = direct
EOF
grep -Eq '^cg +anon +direct ' <("$SHMFS" -t -c "$WORK/shmfs.ini") ||
	die "shmfs -t does not show zone cg as cache = direct"

# measure NREQ: one mount under callgrind, prefill, NREQ preads, unmount.
# Leaves the worker's callgrind file in $WORK/run.NREQ/worker.out
measure() {
	local nreq=$1 dir="$WORK/run.$1" f pid master cand=()
	mkdir -p "$dir"
	log "N=$nreq: starting shmfs -f -w 1 under callgrind"
	# valgrind's pid is the master's
	bench_start_fuse -t "$MOUNT_TIMEOUT" "$MNT" "$dir/shmfs.log" \
		valgrind --tool=callgrind --trace-children=yes --collect-systime=yes \
		--callgrind-out-file="$dir/cg.%p" \
		"$SHMFS" -f -w 1 -c "$WORK/shmfs.ini" "$MNT"
	master=$BENCH_PID
	bg timeout -k 10 "$RUN_TIMEOUT" dd if=/dev/zero of="$MNT/cg" bs=1M \
		count="$ZONE_MB" conv=notrunc status=none || die "prefill failed"
	[ "$(stat -c %s "$MNT/cg")" = "$ZONE_BYTES" ] || die "prefill: wrong size"
	log "N=$nreq: preads"
	bg timeout -k 10 "$RUN_TIMEOUT" "$PREADN" "$MNT/cg" "$nreq" "$BS" \
		"$ZONE_BYTES" >"$dir/preadn.out" || die "preadn N=$nreq failed"
	log "N=$nreq: $(awk '{ printf "%s preads in %s s", $1, $2 }' "$dir/preadn.out"), unmounting"
	bench_stop_fuse "$MNT"
	# the worker's file: a process other than the master (valgrind's pid is
	# the master's) that ran shmfs; with -w 1 there is exactly one
	for f in "$dir"/cg.*; do
		[ -e "$f" ] || continue
		pid=$(awk '/^pid:/ { print $2; exit }' "$f")
		[ "$pid" = "$master" ] && continue
		grep -q "^cmd:.*shmfs" "$f" || continue
		cand+=("$f")
	done
	[ "${#cand[@]}" -ge 1 ] || die "N=$nreq: no callgrind file from a worker in $dir"
	if [ "${#cand[@]}" -gt 1 ]; then
		log "WARNING: N=$nreq: ${#cand[@]} worker files (a worker was replaced?); taking the largest"
		# shellcheck disable=SC2012
		cand=("$(ls -S "${cand[@]}" | head -n 1)")
	fi
	cp "${cand[0]}" "$dir/worker.out"
}

HALF=$((N / 2))
t0=$(date +%s)
measure 0
measure "$HALF"
measure "$N"
t1=$(date +%s)

# ---------------------------------------------------------------- report
echo "shmfs callgrind  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine : $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "shmfs   : $("$SHMFS" -V | tr '\n' ' ')-f -w 1, zone cg ${ZONE_MB}M cache = direct, prefilled with dd bs=1M"
echo "tools   : $(valgrind --version) --tool=callgrind --trace-children=yes --collect-systime=yes; gcc -O2 preadn"
echo "work    : N preads of $BS bytes at fixed-seed random $BS-aligned offsets (one READ request each); the worker's counts"
echo
python3 - "$WORK" "$N" "$HALF" "$TOP" <<'PY'
import os, re, subprocess, sys

work, n, half, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def totals(path):
    events = summary = None
    for line in open(path, errors="replace"):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:") or (summary is None and line.startswith("totals:")):
            summary = [int(x) for x in line.split()[1:]]
    if not events or not summary:
        sys.exit(f"no events/summary in {path}")
    return dict(zip(events, summary + [0] * (len(events) - len(summary))))

def annotate(path, inclusive):
    out = subprocess.run(
        ["callgrind_annotate", "--show=Ir", "--threshold=100", "--auto=no",
         "--inclusive=" + ("yes" if inclusive else "no"), path],
        capture_output=True, text=True, check=True).stdout
    costs = {}
    pat = re.compile(r"^\s*([0-9,]+)\s+(?:\(\s*[0-9.]+%\)\s+)?(\S.*)$")
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        if line.startswith("-----") and costs:
            break  # the auto-annotated source follows
        m = pat.match(line)
        if not m:
            continue
        # one key per function: the same function can be listed under its
        # absolute and its relative source path, with and without [object]
        name = m.group(2).strip()
        obj = ""
        mo = re.match(r"^(.*?)\s+\[(\S+)\]$", name)
        if mo:
            name, obj = mo.group(1), os.path.basename(mo.group(2))
        name = re.sub(r"^\S*/", "", name)
        v = int(m.group(1).replace(",", ""))
        old = costs.get(name, (0, ""))
        # self: add up; inclusive: the same call tree seen twice, keep one
        costs[name] = (max(old[0], v) if inclusive else old[0] + v,
                       old[1] or obj)
    return costs

f0, fh, fn = (os.path.join(work, f"run.{k}", "worker.out") for k in (0, half, n))
t0, th, tn = totals(f0), totals(fh), totals(fn)
ir0, irh, irn = t0["Ir"], th["Ir"], tn["Ir"]
per = (irn - ir0) / n
per_half = (irn - irh) / (n - half)
print("| run | preads | worker Ir | worker syscalls |")
print("|---|---:|---:|---:|")
for label, k, t in (("baseline", 0, t0), ("half", half, th), ("full", n, tn)):
    print(f"| {label} | {k} | {t['Ir']:,} | {t.get('sysCount', 0):,} |")
print()
print(f"Ir per 4 KiB read request = (I({n}) - I(0)) / {n} = {per:,.1f}")
print(f"check: (I({n}) - I({half})) / {n - half} = {per_half:,.1f}"
      f"  ({'agrees' if abs(per - per_half) <= max(1.0, 0.01 * per) else 'DIFFERS: not linear, see the files'})")
if "sysCount" in tn:
    print(f"syscalls per request = {(tn['sysCount'] - t0['sysCount']) / n:.3f}"
          " (user space only is counted: the kernel side of read(/dev/fuse) and writev is not in Ir)")
print()

def table(title, inclusive):
    a0, an = annotate(f0, inclusive), annotate(fn, inclusive)
    rows = sorted(((an[k][0] - a0.get(k, (0, ""))[0]) / n,
                   f"{k} [{an[k][1]}]" if an[k][1] else k) for k in an)
    rows = [r for r in rows if r[0] > 0][::-1]
    if inclusive:
        # main, the master's spawn() and the startup code only lead to the
        # worker loop: keep the loop, drop its callers
        rows = [r for r in rows
                if r[0] < per - 0.5 or "shmfs_worker_run" in r[1]]
    rows = rows[:top]
    print(f"{title} (Ir per request = (I({n}) - I(0)) / {n}, top {top})")
    print()
    print("| Ir/request | % of request | function [object] |")
    print("|---:|---:|---|")
    for v, k in rows:
        print(f"| {v:,.1f} | {100 * v / per:.1f}% | `{k}` |")
    print()

table("Self cost", False)
table("Inclusive cost", True)
PY
echo "elapsed: $((t1 - t0)) s"
