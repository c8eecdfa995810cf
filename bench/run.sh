#!/usr/bin/env bash
# Benchmark shmfs against tmpfs (and optionally libfuse's passthrough_ll).
#
#   bench/run.sh [--rounds N] [--quick] [--pin] [--compare-passthrough]
#                [--raw FILE]
#
# Each round mounts a fresh tmpfs and starts one fresh shmfs daemon with
# zones of both cache modes (cache = page and cache = direct), runs the same
# work on tmpfs, the page zone and the direct zone (interleaved item by item,
# the order of the targets reversed in even rounds), then tears both down.
# The table gives medians across rounds and, for each mode, the per-round
# ratio shmfs/tmpfs (median, min, max). See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPORT="$BENCH_DIR/report.py"

ROUNDS=3
ROUNDS_SET=0
QUICK=0
PIN=0
PASSTHROUGH=0
RAW_OUT=""

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds)
		[ $# -ge 2 ] || { echo "run.sh: --rounds needs a number" >&2; exit 2; }
		ROUNDS=$2; ROUNDS_SET=1; shift 2 ;;
	--rounds=*) ROUNDS=${1#--rounds=}; ROUNDS_SET=1; shift ;;
	--quick) QUICK=1; shift ;;
	--pin) PIN=1; shift ;;
	--compare-passthrough) PASSTHROUGH=1; shift ;;
	--raw)
		[ $# -ge 2 ] || { echo "run.sh: --raw needs a file" >&2; exit 2; }
		RAW_OUT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
case "$ROUNDS" in
''|*[!0-9]*|0) echo "run.sh: --rounds must be a positive integer" >&2; exit 2 ;;
esac

RUNTIME=3      # seconds per fio job and per open loop
DD_REPS=10     # dd runs per round and target (MB/s = total bytes / total s)
if [ "$QUICK" = 1 ]; then
	RUNTIME=1
	DD_REPS=3
	[ "$ROUNDS_SET" = 1 ] || ROUNDS=1
fi

FILE_SIZE_MB=64
FILE_BYTES=$((FILE_SIZE_MB * 1024 * 1024))
SMALL_BYTES=4096

# ---------------------------------------------------------------- prerequisites
bench_need_root "mount -t tmpfs, FUSE mounts"
bench_need python3
bench_apt fio fio

PINCMD=()
if [ "$PIN" = 1 ]; then
	command -v taskset >/dev/null || die "--pin needs taskset (util-linux)"
	PIN_CPU=1
	[ "$(nproc)" -ge 2 ] || PIN_CPU=0
	PINCMD=(taskset -c "$PIN_CPU")
fi

# ---------------------------------------------------------------- state, cleanup
bench_init run
TMPFS_MNT="$WORK/tmpfs"
SHMFS_MNT="$WORK/shmfs"
PLL_MNT="$WORK/pll"
PLL_SRC="$TMPFS_MNT/pt"       # passthrough_ll serves this tmpfs directory
PLL_BIN=""
RAW="$WORK/results.tsv"
WARNINGS="$WORK/warnings"
mkdir -p "$TMPFS_MNT" "$SHMFS_MNT" "$PLL_MNT"
: >"$RAW"
: >"$WARNINGS"

warn() { printf 'WARNING: %s\n' "$*" | tee -a "$WARNINGS" >&2; }

# On a failure, the end of the daemon's log.
bench_on_exit() {
	if [ "$1" != 0 ] && [ -s "$WORK/shmfs.log" ]; then
		echo "--- shmfs log ---" >&2
		tail -n 20 "$WORK/shmfs.log" >&2
	fi
}

# ---------------------------------------------------------------- helpers
OPENLOOP=$(bench_helper openloop)

cat >"$WORK/shmfs.ini" <<EOF
[shmfs]
workers = 2
[zone:bench-page]
size = 128M
cache = page
[zone:bench-direct]
size = 128M
cache = direct
[zone:small-page]
size = 4K
cache = page
[zone:small-direct]
size = 4K
cache = direct
[zone:bench-kpt]
size = ${FILE_SIZE_MB}M
cache = passthrough
[zone:small-kpt]
size = 4K
cache = passthrough
EOF
"$SHMFS" -t -c "$WORK/shmfs.ini" >"$WORK/zones.txt" ||
	die "shmfs -t rejected the benchmark configuration"
if ! grep -Eq '^bench-page +anon +page ' "$WORK/zones.txt" ||
	! grep -Eq '^bench-direct +anon +direct ' "$WORK/zones.txt"; then
	die "shmfs -t does not show the expected cache modes: $(cat "$WORK/zones.txt")"
fi

PLL_NOTE=""
if [ "$PASSTHROUGH" = 1 ]; then
	PLL_C=""
	for c in /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
		/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c.gz; do
		[ -e "$c" ] && { PLL_C=$c; break; }
	done
	if [ -z "$PLL_C" ]; then
		PLL_NOTE="skipped: passthrough_ll.c not found (libfuse3-dev examples)"
		PASSTHROUGH=0
	else
		# passthrough_ll.c includes passthrough_helpers.h from its directory
		for src in "$PLL_C" "$(dirname "$PLL_C")"/passthrough_helpers.h*; do
			[ -e "$src" ] || continue
			case "$src" in
			*.gz) b=$(basename "$src" .gz); gzip -dc "$src" >"$WORK/$b" ;;
			*) cp "$src" "$WORK/" ;;
			esac
		done
		PLL_BIN="$WORK/passthrough_ll"
		# shellcheck disable=SC2046
		if gcc -O2 -Wall -o "$PLL_BIN" "$WORK/passthrough_ll.c" \
			$(pkg-config --cflags --libs fuse3) 2>"$WORK/pll.build"; then
			PLL_NOTE="built from $PLL_C; -o cache=never (direct_io), multithreaded (default max_threads=10), source = a dir on the same tmpfs"
		else
			PLL_NOTE="skipped: passthrough_ll.c did not compile: $(head -n 1 "$WORK/pll.build")"
			PASSTHROUGH=0
		fi
	fi
fi

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

# file paths per target: tmpfs, page (shmfs zone with cache = page),
# direct (shmfs zone with cache = direct), pll (passthrough_ll)
big_file() {
	case "$1" in
	tmpfs) echo "$TMPFS_MNT/bench" ;;
	page) echo "$SHMFS_MNT/bench-page" ;;
	direct) echo "$SHMFS_MNT/bench-direct" ;;
	kpt) echo "$SHMFS_MNT/bench-kpt" ;;
	pll) echo "$PLL_MNT/bench" ;;
	esac
}
small_file() {
	case "$1" in
	tmpfs) echo "$TMPFS_MNT/small" ;;
	page) echo "$SHMFS_MNT/small-page" ;;
	direct) echo "$SHMFS_MNT/small-direct" ;;
	kpt) echo "$SHMFS_MNT/small-kpt" ;;
	pll) echo "$PLL_MNT/small" ;;
	esac
}

check_size() {
	local f=$1 want=$2 what=$3 got
	got=$(stat -c %s "$f")
	[ "$got" = "$want" ] || warn "$what: $f has size $got, expected $want"
}

# run_fio ROUND TARGET ITEM RW BS NUMJOBS METRIC
run_fio() {
	local rnd=$1 tgt=$2 item=$3 rw=$4 bs=$5 nj=$6 metric=$7 f v
	local json="$WORK/fio.$item.$tgt.json" err="$WORK/fio.$item.$tgt.err"
	f=$(big_file "$tgt")
	if ! "${PINCMD[@]}" fio --name="$item" --filename="$f" \
		--size="${FILE_SIZE_MB}M" --rw="$rw" --bs="$bs" \
		--ioengine=psync --direct=0 --numjobs="$nj" --group_reporting \
		--runtime="$RUNTIME" --time_based --norandommap --randrepeat=0 \
		--invalidate=0 --create_on_open=0 --allow_file_create=0 \
		--fallocate=none --file_append=0 \
		--output-format=json --output="$json" 2>"$err"; then
		cat "$err" >&2
		die "fio $item on $tgt failed"
	fi
	if [ -s "$err" ]; then
		warn "fio $item on $tgt wrote to stderr: $(tr '\n' ' ' <"$err")"
	fi
	v=$(python3 "$REPORT" fio "$json" "$metric" 2>>"$err") || {
		cat "$err" >&2
		die "fio $item on $tgt: bad result"
	}
	check_size "$f" "$FILE_BYTES" "after fio $item on $tgt"
	record "$rnd" "$tgt" "$item" "$v"
	log "round $rnd $tgt $item: $v"
}

run_dd() {
	local rnd=$1 tgt=$2 dir=$3 f i v files=()
	f=$(big_file "$tgt")
	for i in $(seq "$DD_REPS"); do
		local e="$WORK/dd.$dir.$tgt.$i"
		if [ "$dir" = in ]; then
			"${PINCMD[@]}" dd if=/dev/zero of="$f" bs=1M count="$FILE_SIZE_MB" \
				conv=notrunc 2>"$e" || { cat "$e" >&2; die "dd in on $tgt failed"; }
		else
			"${PINCMD[@]}" dd if="$f" of=/dev/null bs=1M count="$FILE_SIZE_MB" \
				2>"$e" || { cat "$e" >&2; die "dd out on $tgt failed"; }
			grep -q "^$FILE_BYTES bytes" "$e" ||
				warn "dd out on $tgt read short: $(tail -n 1 "$e")"
		fi
		files+=("$e")
	done
	v=$(python3 "$REPORT" dd "${files[@]}")
	record "$rnd" "$tgt" "dd$dir" "$v"
	log "round $rnd $tgt dd$dir: $v"
}

run_open() {
	local rnd=$1 tgt=$2 out v
	out=$("${PINCMD[@]}" "$OPENLOOP" "$(small_file "$tgt")" "$RUNTIME" "$SMALL_BYTES") ||
		die "open loop on $tgt failed"
	v=${out%% *}
	record "$rnd" "$tgt" openrc "$v"
	log "round $rnd $tgt openrc: $v"
}

prefill() {
	local f
	f=$(big_file "$1")
	dd if=/dev/zero of="$f" bs=1M count="$FILE_SIZE_MB" conv=notrunc status=none
	check_size "$f" "$FILE_BYTES" "prefill on $1"
	f=$(small_file "$1")
	head -c "$SMALL_BYTES" /dev/urandom | dd of="$f" bs="$SMALL_BYTES" conv=notrunc status=none
	check_size "$f" "$SMALL_BYTES" "prefill small on $1"
}

start_round() {
	bench_mount_tmpfs "$TMPFS_MNT" size=512M,mode=0700
	bench_start_shmfs "$SHMFS_MNT" "$WORK/shmfs.ini"
	prefill tmpfs
	prefill page
	prefill direct
	prefill kpt
	if [ "$PASSTHROUGH" = 1 ]; then
		mkdir -p "$PLL_SRC"
		bench_start_fuse "$PLL_MNT" "$WORK/pll.log" \
			"$PLL_BIN" -f -o "source=$PLL_SRC,cache=never" "$PLL_MNT"
		prefill pll
	fi
}

end_round() {
	bench_stop_fuse "$SHMFS_MNT"
	[ "$STOP_RC" = 0 ] || warn "shmfs exited with status $STOP_RC after unmount"
	if [ "$PASSTHROUGH" = 1 ]; then
		bench_stop_fuse "$PLL_MNT"
	fi
	bench_umount_tmpfs "$TMPFS_MNT"
}

# Data check (once per run): random bytes through dd must read back intact
# from both zones. The page zone is compared twice: as cached, and after
# dropping its cached pages (dd iflag=nocache count=0 = POSIX_FADV_DONTNEED on
# the whole file), so that the second time the bytes come from the daemon.
integrity_check() {
	local src="$TMPFS_MNT/random" dst how ok=1
	head -c "$FILE_BYTES" /dev/urandom >"$src"
	for dst in "$SHMFS_MNT/bench-page" "$SHMFS_MNT/bench-direct"; do
		dd if="$src" of="$dst" bs=1M conv=notrunc status=none
		for how in cached uncached; do
			case "$dst:$how" in
			*-direct:uncached) continue ;;
			*:uncached) dd if="$dst" iflag=nocache count=0 status=none ;;
			esac
			if ! cmp -s "$src" "$dst"; then
				ok=0
				warn "integrity: $dst ($how) differs from what was written ($(cmp "$src" "$dst" 2>&1 | head -n 1))"
			fi
		done
	done
	if [ "$ok" = 1 ]; then
		INTEGRITY="ok (64 MiB of random bytes written with dd read back identical from both zones; the page zone also after dropping its cache)"
	else
		INTEGRITY="FAILED"
	fi
	rm -f "$src"
}

# ---------------------------------------------------------------- header
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo "shmfs benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine : $(nproc) CPUs (${cpu_model:-unknown}), $mem_total, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "shmfs   : $("$SHMFS" -V | tr '\n' ' ')(one mount, workers = 2, backend anon, zones 128M, file ${FILE_SIZE_MB} MiB)"
echo "modes   : page = zone bench-page (cache = page: page cache, keep_cache, write-through)"
echo "          direct = zone bench-direct (cache = direct: direct_io, parallel direct writes)"
echo "          open loop on the 4K zones small-page / small-direct; shmfs -t -c says:"
sed 's/^/            /' "$WORK/zones.txt"
echo "tools   : $(fio --version), python3 $(python3 -c 'import platform; print(platform.python_version())')"
echo "fio     : psync, direct=0 (buffered; a direct zone is direct_io anyway), runtime ${RUNTIME}s time_based, norandommap; dd x${DD_REPS} per round; open loop ${RUNTIME}s"
if [ "$PIN" = 1 ]; then
	echo "CPUs    : --pin: fio, dd and the open loop run under 'taskset -c $PIN_CPU'; shmfs' master and workers, passthrough_ll and the kernel are NOT pinned"
else
	echo "CPUs    : nothing pinned: fio, dd, the open loop and the shmfs workers float over all $(nproc) CPUs as the scheduler decides"
fi
if [ -n "$PLL_NOTE" ]; then
	echo "pll     : passthrough_ll $PLL_NOTE"
fi
echo "rounds  : $ROUNDS (targets interleaved per item, order alternating per round)"
echo

# ---------------------------------------------------------------- rounds
INTEGRITY="not run"
t_start=$(date +%s)
for rnd in $(seq "$ROUNDS"); do
	log "round $rnd/$ROUNDS"
	start_round
	targets=(tmpfs page direct kpt)
	[ "$PASSTHROUGH" = 1 ] && targets+=(pll)
	if [ $((rnd % 2)) = 0 ]; then
		rev=()
		for ((i = ${#targets[@]} - 1; i >= 0; i--)); do rev+=("${targets[i]}"); done
		targets=("${rev[@]}")
	fi
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" seqread read 1M 1 read_mbps; done
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" seqwrite write 1M 1 write_mbps; done
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" randread1 randread 4k 1 read_iops; done
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" randread2 randread 4k 2 read_iops; done
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" randwrite1 randwrite 4k 1 write_iops; done
	for t in "${targets[@]}"; do run_fio "$rnd" "$t" randwrite2 randwrite 4k 2 write_iops; done
	for t in "${targets[@]}"; do run_dd "$rnd" "$t" in; done
	for t in "${targets[@]}"; do run_dd "$rnd" "$t" out; done
	for t in "${targets[@]}"; do run_open "$rnd" "$t"; done
	[ "$rnd" = 1 ] && integrity_check
	end_round
done
t_end=$(date +%s)

# ---------------------------------------------------------------- report
if [ "$PASSTHROUGH" = 1 ]; then
	python3 "$REPORT" table "$RAW" --passthrough
else
	python3 "$REPORT" table "$RAW"
fi
echo
echo "page = shmfs zone with cache = page, direct = zone with cache = direct, kernel pt = zone with"
echo "cache = passthrough (the kernel serves it from the zone's memfd), all on the same mount."
echo "ratio = shmfs / tmpfs per round, for each mode (higher is better for shmfs; 1.00 = same)."
echo "data check: $INTEGRITY"
if [ -s "$WORK/shmfs.log" ]; then
	echo "shmfs log: $(grep -c . "$WORK/shmfs.log") lines, $(grep -ciE 'warn|error|fail' "$WORK/shmfs.log" || true) mentioning warn/error/fail"
fi
if [ -s "$WARNINGS" ]; then
	echo "warnings:"
	sed 's/^/  /' "$WARNINGS"
else
	echo "warnings: none"
fi
echo "elapsed: $((t_end - t_start)) s"
if [ -n "$RAW_OUT" ]; then
	cp "$RAW" "$RAW_OUT"
	echo "raw results: $RAW_OUT"
fi
