# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh -- what every bench script needs, once: root and tool checks, an
# up-to-date build (the daemon and the helpers in build/bench/), a private
# temporary directory, FUSE daemons started in the foreground and waited
# for with a deadline, tmpfs mounts, and a cleanup on any exit that
# unmounts and stops everything it started (by pid, aborting a hung FUSE
# connection if it must) and removes the directory.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME             # builds, makes $WORK, arms the cleanup
#   bench_start_fuse MNT LOG CMD...; ...; bench_stop_fuse MNT
#
# A script may define bench_before_exit STATUS (called by the cleanup before
# anything is unmounted: stop its own jobs that use the mounts) and
# bench_on_exit STATUS (called once the daemons have exited and before $WORK
# is removed: print logs, keep files).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SHMFS=${SHMFS:-$BUILD/src/shmfs}
WORK=""
# shellcheck disable=SC2034 # read by the scripts
STOP_RC=0                  # exit status of the daemon bench_stop_fuse stopped
declare -A BENCH_FUSE=()   # mount point -> pid of the daemon serving it
BENCH_TMPFS=()             # tmpfs mount points to unmount at exit
BENCH_NAME=bench

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
	printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}

bench_need_root() {
	[[ $(id -u) == 0 ]] || die "must run as root (${1:-FUSE mounts})"
	[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
	command -v fusermount3 >/dev/null || die "fusermount3 is missing (apt-get install fuse3)"
}

# bench_need CMD... : each must be in the PATH.
bench_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c is missing"
	done
}

# bench_apt CMD PACKAGE: installs PACKAGE with apt-get if CMD is missing.
bench_apt() {
	command -v "$1" >/dev/null && return 0
	log "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null ||
		die "apt-get install $2 failed"
}

# The path of a helper program from bench/*.c, built by meson.
# The possible CPUs (the kernel's FUSE ring queues: one each).
bench_possible_cpus() {
	python3 -c '
n = 0
for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = part.partition("-")
    n += int(b or a) - int(a) + 1
print(n)'
}

bench_helper() {
	[[ -x $BUILD/bench/$1 ]] || die "$BUILD/bench/$1 was not built"
	echo "$BUILD/bench/$1"
}

# bench_init NAME: builds what is stale (scripts/build.sh when there is no
# build directory yet), makes $WORK and arms the cleanup.
bench_init() {
	BENCH_NAME=$1
	if [[ -f $BUILD/build.ninja ]]; then
		ninja -C "$BUILD" >/dev/null || die "ninja -C $BUILD failed"
	else
		(cd "$ROOT" && scripts/build.sh) >/dev/null || die "scripts/build.sh failed"
	fi
	[[ -x $SHMFS ]] || die "$SHMFS was not built"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-$BENCH_NAME.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

is_mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# bench_start_fuse [-t SECONDS] MNT LOG CMD...: runs CMD (a FUSE daemon in the
# foreground) in the background with its output appended to LOG, and waits
# up to SECONDS (default 10) for MNT to be mounted; dies if the daemon exits
# first. Sets BENCH_PID. Not from a subshell: the cleanup must know the pid.
bench_start_fuse() {
	local deadline=10 mnt log i
	if [[ $1 == -t ]]; then
		deadline=$2
		shift 2
	fi
	mnt=$1 log=$2
	shift 2
	mkdir -p "$mnt"
	"$@" >>"$log" 2>&1 &
	BENCH_PID=$!
	BENCH_FUSE[$mnt]=$BENCH_PID
	for ((i = 0; i < deadline * 20; i++)); do
		is_mounted "$mnt" && return 0
		kill -0 "$BENCH_PID" 2>/dev/null ||
			die "$(basename "$1") exited before mounting $mnt: $(tail -n 5 "$log")"
		sleep 0.05
	done
	die "$(basename "$1") did not mount $mnt within $deadline s"
}

# bench_start_shmfs MNT INI [ARGS...]: shmfs -f -c INI ARGS MNT, log in
# $WORK/shmfs.log.
bench_start_shmfs() {
	local mnt=$1 ini=$2
	shift 2
	bench_start_fuse "$mnt" "$WORK/shmfs.log" "$SHMFS" -f -c "$ini" "$@" "$mnt"
}

# Children of a pid (the workers of a daemon).
bench_children() {
	local p
	for p in /proc/[0-9]*; do
		[[ $(awk '{ print $4 }' "$p/stat" 2>/dev/null) == "$1" ]] && echo "${p#/proc/}"
	done
	return 0
}

# bench_stop_fuse [-t SECONDS] MNT: unmounts MNT and waits up to SECONDS
# (default $BENCH_STOP_TIMEOUT, else 5) for its daemon to exit; if it hangs, aborts the FUSE
# connection and kills the daemon and its children by pid. Sets STOP_RC to
# the daemon's exit status.
bench_stop_fuse() {
	local deadline=${BENCH_STOP_TIMEOUT:-5} mnt pid conn i kids=()
	if [[ $1 == -t ]]; then
		deadline=$2
		shift 2
	fi
	mnt=$1 pid=${BENCH_FUSE[$1]:-}
	STOP_RC=0
	if is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || true
	fi
	if [[ -n $pid ]]; then
		for ((i = 0; i < deadline * 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "the daemon of $mnt (pid $pid) is still running after $deadline s: killing it"
			if is_mounted "$mnt"; then
				conn=$(awk -v m="$mnt" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo)
				[[ -n $conn && -e /sys/fs/fuse/connections/$conn/abort ]] &&
					echo 1 >"/sys/fs/fuse/connections/$conn/abort"
			fi
			mapfile -t kids < <(bench_children "$pid")
			kill -TERM "$pid" "${kids[@]}" 2>/dev/null || true
			sleep 1
			kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || STOP_RC=$?
	fi
	if is_mounted "$mnt"; then
		umount -l "$mnt" 2>/dev/null || true
	fi
	unset "BENCH_FUSE[$mnt]"
}

# bench_mount_tmpfs MNT OPTIONS: a tmpfs, unmounted at exit if still there.
bench_mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "$2" tmpfs "$1" || die "mount -t tmpfs $1 failed"
	[[ " ${BENCH_TMPFS[*]} " == *" $1 "* ]] || BENCH_TMPFS+=("$1")
}

bench_umount_tmpfs() {
	umount "$1" 2>/dev/null || umount -l "$1"
}

bench_cleanup() {
	local st=$? mnt
	set +e
	trap - EXIT INT TERM
	if declare -F bench_before_exit >/dev/null; then
		bench_before_exit "$st"
	fi
	for mnt in "${!BENCH_FUSE[@]}"; do
		bench_stop_fuse "$mnt"
	done
	for mnt in "${BENCH_TMPFS[@]}"; do
		is_mounted "$mnt" && bench_umount_tmpfs "$mnt"
	done
	if declare -F bench_on_exit >/dev/null; then
		bench_on_exit "$st"
	fi
	if [[ -n $WORK ]]; then
		if awk -v w="$WORK/" 'index($5 "/", w) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			log "something is still mounted under $WORK; not removing it"
		else
			rm -rf --one-file-system "$WORK"
		fi
	fi
	exit "$st"
}
