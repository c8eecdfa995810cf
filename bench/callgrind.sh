#!/usr/bin/env bash
# Count the instructions a shmfs worker spends per 4 KiB read request.
#
#   bench/callgrind.sh [-n N] [--top K] [--keep DIR] [--transport devfuse|ring|both]
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
# --transport: devfuse (the default: io_uring = off, -w 1), ring (io_uring =
# on, one worker per possible CPU, preadn pinned to CPU 0 so that its requests
# all go to queue 0; the counts are summed over the workers), or both, one
# after the other, with a line comparing them.
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
TRANSPORTS=(devfuse)
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	-n) [ $# -ge 2 ] || { usage >&2; exit 2; }; N=$2; shift 2 ;;
	--top) [ $# -ge 2 ] || { usage >&2; exit 2; }; TOP=$2; shift 2 ;;
	--keep) [ $# -ge 2 ] || { usage >&2; exit 2; }; KEEP=$2; shift 2 ;;
	--transport)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case "$2" in
		devfuse | ring) TRANSPORTS=("$2") ;;
		both) TRANSPORTS=(devfuse ring) ;;
		*) echo "callgrind.sh: --transport is devfuse, ring or both" >&2; exit 2 ;;
		esac
		shift 2 ;;
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

POSSIBLE=$(bench_possible_cpus)
for tr in "${TRANSPORTS[@]}"; do
	case $tr in
	devfuse) printf '[shmfs]\nworkers = 1\nio_uring = off\n' ;;
	ring) printf '[shmfs]\nworkers = %s\nio_uring = on\n' "$POSSIBLE" ;;
	esac >"$WORK/$tr.ini"
	printf '[zone:cg]\nsize = %sM\ncache = direct\n' "$ZONE_MB" >>"$WORK/$tr.ini"
	grep -Eq '^cg +anon +direct ' <("$SHMFS" -t -c "$WORK/$tr.ini") ||
		die "shmfs -t does not show zone cg as cache = direct"
done
if [[ " ${TRANSPORTS[*]} " == *" ring "* ]]; then
	P=/sys/module/fuse/parameters/enable_uring
	[ "$(cat "$P" 2>/dev/null)" = Y ] ||
		die "--transport ring needs $P = Y (it is $(cat "$P" 2>/dev/null || echo missing))"
	bench_need taskset
fi

# measure TRANSPORT NREQ: one mount under callgrind, prefill, NREQ preads,
# unmount. Leaves the workers' callgrind files in
# $WORK/run.TRANSPORT.NREQ/worker.K.out
measure() {
	local tr=$1 nreq=$2 dir="$WORK/run.$1.$2" f pid master want got
	local cand=() pin=() w=1
	mkdir -p "$dir"
	if [ "$tr" = ring ]; then
		w=$POSSIBLE
		pin=(taskset -c 0) # every request on queue 0, served by worker 0
	fi
	log "$tr N=$nreq: starting shmfs -f -w $w under callgrind"
	# valgrind's pid is the master's
	bench_start_fuse -t "$MOUNT_TIMEOUT" "$MNT" "$dir/shmfs.log" \
		valgrind --tool=callgrind --trace-children=yes --collect-systime=yes \
		--callgrind-out-file="$dir/cg.%p" \
		"$SHMFS" -f -w "$w" -c "$WORK/$tr.ini" "$MNT"
	master=$BENCH_PID
	case $tr in devfuse) want=/dev/fuse ;; ring) want=io_uring ;; esac
	got=$(awk '$1 == "transport" { print $2 }' "$MNT/.stats")
	[ "$got" = "$want" ] || die "$tr: the mount serves 'transport $got', not $want"
	bg timeout -k 10 "$RUN_TIMEOUT" "${pin[@]}" dd if=/dev/zero of="$MNT/cg" bs=1M \
		count="$ZONE_MB" conv=notrunc status=none || die "prefill failed"
	[ "$(stat -c %s "$MNT/cg")" = "$ZONE_BYTES" ] || die "prefill: wrong size"
	log "$tr N=$nreq: preads"
	bg timeout -k 10 "$RUN_TIMEOUT" "${pin[@]}" "$PREADN" "$MNT/cg" "$nreq" "$BS" \
		"$ZONE_BYTES" >"$dir/preadn.out" || die "preadn N=$nreq failed"
	log "$tr N=$nreq: $(awk '{ printf "%s preads in %s s", $1, $2 }' "$dir/preadn.out"), unmounting"
	bench_stop_fuse "$MNT"
	# the workers' files: processes other than the master (valgrind's pid
	# is the master's) that ran shmfs; -w 1 (devfuse) has exactly one, the
	# ring pool one per possible CPU
	for f in "$dir"/cg.*; do
		[ -e "$f" ] || continue
		pid=$(awk '/^pid:/ { print $2; exit }' "$f")
		[ "$pid" = "$master" ] && continue
		grep -q "^cmd:.*shmfs" "$f" || continue
		cand+=("$f")
	done
	[ "${#cand[@]}" -ge 1 ] || die "$tr N=$nreq: no callgrind file from a worker in $dir"
	if [ "${#cand[@]}" -ne "$w" ]; then
		log "WARNING: $tr N=$nreq: ${#cand[@]} worker files for $w workers (a worker was replaced?)"
	fi
	for i in "${!cand[@]}"; do
		cp "${cand[i]}" "$dir/worker.$i.out"
	done
}

HALF=$((N / 2))
t0=$(date +%s)
for tr in "${TRANSPORTS[@]}"; do
	measure "$tr" 0
	measure "$tr" "$HALF"
	measure "$tr" "$N"
done
t1=$(date +%s)

# ---------------------------------------------------------------- report
echo "shmfs callgrind  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine : $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "shmfs   : $("$SHMFS" -V | tr '\n' ' ')-f, zone cg ${ZONE_MB}M cache = direct, prefilled with dd bs=1M"
echo "          devfuse: io_uring = off, -w 1; ring: io_uring = on, -w $POSSIBLE (one per possible CPU), dd and preadn under taskset -c 0"
echo "tools   : $(valgrind --version) --tool=callgrind --trace-children=yes --collect-systime=yes; gcc -O2 preadn"
echo "work    : N preads of $BS bytes at fixed-seed random $BS-aligned offsets (one READ request each); the workers' counts, summed"
echo
python3 - "$WORK" "$N" "$HALF" "$TOP" "${TRANSPORTS[@]}" <<'PY'
import glob, os, re, subprocess, sys

work, n, half, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
transports = sys.argv[5:]

def totals_one(path):
    events = summary = None
    for line in open(path, errors="replace"):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:") or (summary is None and line.startswith("totals:")):
            summary = [int(x) for x in line.split()[1:]]
    if not events or not summary:
        sys.exit(f"no events/summary in {path}")
    return dict(zip(events, summary + [0] * (len(events) - len(summary))))

def files(tr, k):
    return sorted(glob.glob(os.path.join(work, f"run.{tr}.{k}", "worker.*.out")))

def totals(tr, k):
    out = {}
    for f in files(tr, k):
        for e, v in totals_one(f).items():
            out[e] = out.get(e, 0) + v
    return out

def annotate_one(path, inclusive):
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

def annotate(tr, k, inclusive):
    # one process per file: the workers' costs add up
    out = {}
    for f in files(tr, k):
        for name, (v, obj) in annotate_one(f, inclusive).items():
            old = out.get(name, (0, ""))
            out[name] = (old[0] + v, old[1] or obj)
    return out

per_tr = {}
for tr in transports:
    t0, th, tn = totals(tr, 0), totals(tr, half), totals(tr, n)
    ir0, irh, irn = t0["Ir"], th["Ir"], tn["Ir"]
    per = (irn - ir0) / n
    per_half = (irn - irh) / (n - half)
    per_tr[tr] = per
    label = {"devfuse": "/dev/fuse (io_uring = off)", "ring": "io_uring (io_uring = on)"}[tr]
    print(f"## {label}")
    print()
    print(f"| run | preads | worker files | workers' Ir | workers' syscalls |")
    print("|---|---:|---:|---:|---:|")
    for lab, k, t in (("baseline", 0, t0), ("half", half, th), ("full", n, tn)):
        print(f"| {lab} | {k} | {len(files(tr, k))} | {t['Ir']:,} | {t.get('sysCount', 0):,} |")
    print()
    print(f"Ir per 4 KiB read request = (I({n}) - I(0)) / {n} = {per:,.1f}")
    print(f"check: (I({n}) - I({half})) / {n - half} = {per_half:,.1f}"
          f"  ({'agrees' if abs(per - per_half) <= max(1.0, 0.01 * per) else 'DIFFERS: not linear, see the files'})")
    if "sysCount" in tn:
        print(f"syscalls per request = {(tn['sysCount'] - t0['sysCount']) / n:.3f}"
              " (user space only is counted: the kernel side of the read/writev or io_uring_enter is not in Ir)")
    print()

    def table(title, inclusive):
        a0, an = annotate(tr, 0, inclusive), annotate(tr, n, inclusive)
        rows = sorted(((an[k][0] - a0.get(k, (0, ""))[0]) / n,
                       f"{k} [{an[k][1]}]" if an[k][1] else k) for k in an)
        rows = [r for r in rows if r[0] > 0][::-1]
        if inclusive:
            # main, the master's spawn() and the startup code only lead to
            # the worker loop: keep the loop, drop its callers
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

if len(per_tr) == 2:
    d, r = per_tr["devfuse"], per_tr["ring"]
    print(f"ring / devfuse: {r:,.1f} / {d:,.1f} Ir per request = {r / d:.2f}")
PY
echo "elapsed: $((t1 - t0)) s"
