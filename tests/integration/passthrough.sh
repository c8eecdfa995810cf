#!/bin/bash
# SPDX-License-Identifier: MIT
#
# passthrough.sh -- cache = passthrough zones: the kernel reads, writes and
# maps the zone's memfd itself. Fixed size from the start, cat/dd/cp, a
# write past the end fails, O_TRUNC zeroes and frees, no READ or WRITE
# request reaches a worker, two clients' mappings and the master's share
# pages, memory is counted once, a reload adds, drops and resizes under open
# descriptors, a mapping outlives a killed master, and without
# CAP_SYS_ADMIN (a user namespace) the same zones run in page mode with the
# same fixed size.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<'EOF'
[shmfs]
workers   = 2
log_level = info
mode      = 0666

[zone:p]
size  = 64M
cache = passthrough

[zone:small]
size  = 64K
cache = passthrough

[zone:paged]
size    = 64M
backend = memfd
EOF
CAP=$((64 << 20))

# stat_of ZONE: "SIZE BLOCKS"
stat_of() {
	stat -c '%s %b' "$MNT/$1"
}

# stats_value KEY: a line of /.stats
stats_value() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.stats"
}

# shmem_kib ZONE: KiB of memory in the zone's own memfd (the master's
# descriptor of "memfd:shmfs:ZONE"), as the kernel counts it in Shmem: the
# zone's own figure, whatever else runs on the machine.
shmem_kib() {
	local fd
	for fd in /proc/"$DAEMON_PID"/fd/*; do
		if [[ $(readlink "$fd") == "/memfd:shmfs:$1 (deleted)" ]]; then
			echo $(($(stat -L -c %b "$fd") / 2))
			return 0
		fi
	done
	fail "no memfd:shmfs:$1 among the descriptors of $DAEMON_PID"
}

# page_cache_kib FILE: KiB of FILE's own page cache (cachestat(2), Linux
# 6.5, before FUSE passthrough): for a zone through the mount, the kernel's
# copy of it in the FUSE inode, apart from the memfd behind it.
page_cache_kib() {
	python3 - "$1" <<'PY'
import ctypes, os, sys
class Range(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]
class Cachestat(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "nr_cache", "nr_dirty", "nr_writeback", "nr_evicted",
        "nr_recently_evicted")]
SYS_cachestat = 451  # x86_64 and the generic table (arm64, riscv) alike
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
whole, st = Range(0, 0), Cachestat()
if libc.syscall(SYS_cachestat, fd, ctypes.byref(whole), ctypes.byref(st), 0):
    sys.exit("cachestat(%s): %s" % (sys.argv[1],
                                    os.strerror(ctypes.get_errno())))
print(st.nr_cache * os.sysconf("SC_PAGE_SIZE") // 1024)
PY
}

zones_run_in_passthrough_mode() {
	assert_match '^p +memfd +passthrough ' "$("$SHMFS" -t -c "$CONF" | grep '^p ')" \
		"shmfs -t as root"
	assert_eq passthrough "$(stats_value zone.p.cache)" "mode of p"
	assert_eq passthrough "$(stats_value zone.small.cache)" "mode of small"
	assert_eq memfd "$(stats_value zone.p.backend)" "backend of p"
	grep -q "passthrough: 2 zones served by the kernel" "$DAEMON_LOG" ||
		fail "no passthrough line in the log"
}

a_zone_is_as_long_as_its_capacity_and_reads_zeros() {
	assert_eq "$CAP 0" "$(stat_of p)" "size and blocks of a new zone"
	cmp -s <(zeros 65536) "$MNT/small" || fail "a new zone is not all zeros"
	assert_eq "$CAP 0" "$(stat_of p)" "blocks after reading holes"
}

cat_dd_and_cp_store_and_read_back() {
	head -c 1048576 /dev/urandom >"$WORK/rand"
	dd if="$WORK/rand" of="$MNT/p" bs=64K conv=notrunc status=none
	cmp -s "$WORK/rand" <(head -c 1048576 "$MNT/p") || fail "dd round trip"
	assert_eq "$CAP" "$(file_size "$MNT/p")" "size after dd"
	# cp truncates (O_TRUNC: cleared, size kept) and writes.
	head -c 5000 /dev/urandom >"$WORK/five"
	cp "$WORK/five" "$MNT/p"
	cmp -s "$WORK/five" <(head -c 5000 "$MNT/p") || fail "cp round trip"
	cmp -s <(zeros 8192) <(tail -c +5001 "$MNT/p" | head -c 8192) ||
		fail "bytes after cp's are not zero"
	echo hello >"$MNT/small"
	assert_eq hello "$(head -n 1 "$MNT/small")" "cat of echo's line"
}

# The kernel writes a passthrough zone's memfd itself: a write past its
# end gets the seal's EPERM (the daemon would answer ENOSPC, as page mode
# below does).
a_write_past_the_end_fails() {
	assert_eq EPERM "$(fsop pwrite "$MNT/small" 65536 1)" "write at the end"
	assert_eq 100 "$(fsop pwrite "$MNT/small" 65436 200)" "write across the end"
	assert_eq 65536 "$(file_size "$MNT/small")" "size after"
	assert_fails_with EPERM dd if=/dev/zero of="$MNT/small" bs=64K seek=1 \
		count=1 conv=notrunc status=none
}

o_trunc_zeroes_and_frees_keeping_the_size() {
	dd if=/dev/urandom of="$MNT/p" bs=1M count=8 conv=notrunc status=none
	local blocks
	blocks=$(stat -c %b "$MNT/p")
	((blocks >= 8 * 2048)) || fail "8 MiB written, st_blocks $blocks"
	assert_eq ok "$(fsop open_trunc "$MNT/p")" "open(O_TRUNC)"
	assert_eq "$CAP 0" "$(stat_of p)" "size and blocks after O_TRUNC"
	cmp -s <(zeros 8388608) <(head -c 8388608 "$MNT/p") ||
		fail "bytes survived O_TRUNC"
}

truncate_keeps_the_size_or_fails() {
	echo data >"$MNT/small"
	truncate -s 65536 "$MNT/small"
	assert_eq data "$(head -n 1 "$MNT/small")" "truncate to the size keeps"
	assert_fails_with EPERM truncate -s 5 "$MNT/small"
	assert_fails_with EFBIG truncate -s 1M "$MNT/small"
	truncate -s 0 "$MNT/small"
	assert_eq "65536 0" "$(stat_of small)" "truncate -s 0 clears"
	cmp -s <(zeros 65536) "$MNT/small" || fail "bytes survived truncate -s 0"
}

statfs_counts_the_pages_in_use() {
	: >"$MNT/p"
	local before after
	before=$(df -B1 --output=used "$MNT" | tail -n 1)
	dd if=/dev/urandom of="$MNT/p" bs=1M count=4 conv=notrunc status=none
	after=$(df -B1 --output=used "$MNT" | tail -n 1)
	assert_eq $((4 << 20)) $((after - before)) "df used after 4 MiB"
	assert_eq 4096 "$(du -k "$MNT/p" | cut -f1)" "du of p"
}

no_read_or_write_request_reaches_a_worker() {
	dd if=/dev/zero of="$MNT/p" bs=1M count=16 conv=notrunc status=none
	cat "$MNT/p" >/dev/null
	assert_eq 0 "$(stats_value zone.p.reads)" "READ requests for p"
	assert_eq 0 "$(stats_value zone.p.writes)" "WRITE requests for p"
	assert_eq 0 "$(stats_value worker.0.bytes_out)" "bytes a worker read"
	assert_eq 0 "$(stats_value worker.0.bytes_in)" "bytes a worker wrote"
}

two_mappings_see_each_other_and_cat_sees_both() {
	python3 - "$MNT/p" <<'PY'
import mmap, os, sys
path = sys.argv[1]
fds = [os.open(path, os.O_RDWR) for _ in range(2)]
maps = [mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED) for fd in fds]
maps[0][0:5] = b"first"
assert maps[1][0:5] == b"first", "a store not seen by the other mapping"
os.pwrite(fds[1], b"second", 4096)
assert maps[0][4096:4102] == b"second", "a write(2) not seen in a mapping"
PY
	assert_eq first "$(head -c 5 "$MNT/p")" "cat after the store"
	assert_eq second "$(tail -c +4097 "$MNT/p" | head -c 6)" "cat after pwrite"
}

# The physical frame of the page at ADDR in process PID (root reads PFNs).
# The master never touches a passthrough zone itself, so the page is first
# read through process_vm_readv, which maps it into the master's tables.
pfn_of() {
	python3 - "$1" "$2" <<'PY'
import ctypes, struct, sys
pid, addr = sys.argv[1], int(sys.argv[2], 16)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
buf = ctypes.create_string_buffer(6)
local, remote = iovec(ctypes.addressof(buf), 6), iovec(addr, 6)
libc = ctypes.CDLL(None, use_errno=True)
n = libc.process_vm_readv(int(pid), ctypes.byref(local), 1,
                          ctypes.byref(remote), 1, 0)
assert n == 6 and buf.raw == b"shared", (n, buf.raw, ctypes.get_errno())
with open(f"/proc/{pid}/pagemap", "rb") as f:
    f.seek(addr // 4096 * 8)
    entry, = struct.unpack("<Q", f.read(8))
assert entry >> 63, "page not present"
print(entry & ((1 << 55) - 1))
PY
}

the_masters_and_a_clients_mapping_share_a_page() {
	local start client
	echo shared >"$MNT/p"
	start=$(awk '/memfd:shmfs:p / { split($1, a, "-"); print a[1]; exit }' \
		"/proc/$DAEMON_PID/maps")
	[[ -n $start ]] || fail "no memfd:shmfs:p mapping in the master" || return 1
	client=$(python3 - "$MNT/p" <<'PY'
import mmap, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
assert m[0:6] == b"shared"
import ctypes
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
with open("/proc/self/pagemap", "rb") as f:
    f.seek(addr // 4096 * 8)
    entry, = struct.unpack("<Q", f.read(8))
print(entry & ((1 << 55) - 1))
PY
)
	assert_eq "$(pfn_of "$DAEMON_PID" "$start")" "$client" "PFN of the first page"
}

# memory_is_counted_once ZONE: 64 MiB written to ZONE grow its memfd by as
# much (DSHMEM) and the page cache in all (DCACHED: the memfd, which
# /proc/meminfo counts in Shmem and Cached alike, and the FUSE inode's
# own copy) by no more. Measured on the zone's own objects, not on the
# whole machine's /proc/meminfo, which other programs move as they like.
memory_is_counted_once() {
	local zone=$1 shmem0 cached0 shmem1 cached1 n=$((64 << 10))
	: >"$MNT/p"
	: >"$MNT/paged"
	sync
	shmem0=$(shmem_kib "$zone") || return 1
	cached0=$((shmem0 + $(page_cache_kib "$MNT/$zone")))
	dd if=/dev/urandom of="$MNT/$zone" bs=1M count=64 conv=notrunc status=none
	shmem1=$(shmem_kib "$zone") || return 1
	cached1=$((shmem1 + $(page_cache_kib "$MNT/$zone")))
	echo "$zone: Shmem +$((shmem1 - shmem0)) KiB, Cached +$((cached1 - cached0)) KiB"
	DSHMEM=$((shmem1 - shmem0)) DCACHED=$((cached1 - cached0))
	((DSHMEM > n * 3 / 4 && DSHMEM < n * 5 / 4)) ||
		fail "$zone: Shmem grew by $DSHMEM KiB for $n KiB written"
}

writing_raises_shmem_by_as_much_and_cached_by_no_more() {
	memory_is_counted_once p
	((DCACHED < 64 * 1024 * 5 / 4)) ||
		fail "passthrough: Cached grew by $DCACHED KiB for 65536 KiB"
	# page mode keeps a second copy: the contrast the test is about.
	memory_is_counted_once paged
	((DCACHED > 64 * 1024 * 7 / 4)) ||
		echo "note: page mode added only $DCACHED KiB to Cached"
	: >"$MNT/p"
	: >"$MNT/paged"
}

# ------------------------------------------------------------ reload and death

reload_adds_drops_and_resizes_under_open_descriptors() {
	local conf=$WORK/reload.ini mnt=$WORK/mnt-reload pid helper
	sed 's/^\[zone:paged\]/[zone:gone]\ncache = passthrough/' "$CONF" >"$conf"
	start_daemon "$conf" "$mnt"
	pid=$DAEMON_PID
	echo before >"$mnt/small"
	echo doomed >"$mnt/gone"
	mkfifo "$WORK/go"
	python3 - "$mnt" "$WORK/go" >"$WORK/helper.out" 2>&1 <<'PY' &
import mmap, os, sys
mnt, go = sys.argv[1], sys.argv[2]
fd = os.open(f"{mnt}/small", os.O_RDWR)
m = mmap.mmap(fd, 65536, mmap.MAP_SHARED)
gone = os.open(f"{mnt}/gone", os.O_RDWR)
print("mapped", flush=True)
open(go).read()  # the reload happens now
# Old descriptors and mappings keep the old memory: no crash, no error.
m[0:3] = b"old"
assert os.pread(fd, 3, 0) == b"old", "old descriptor lost its memory"
assert os.pread(gone, 6, 0) == b"doomed", "a dropped zone's descriptor"
os.pwrite(gone, b"still", 0)
print("ok")
PY
	helper=$!
	wait_for_line "$WORK/helper.out" '^mapped$' || { kill "$helper"; return 1; }
	sed -i 's/^size  = 64K/size  = 128K/; s/^\[zone:gone\]/[zone:added]/' "$conf"
	kill -HUP "$pid"
	wait_for_line "$DAEMON_LOG" "reloaded"
	echo >"$WORK/go"
	wait "$helper" || fail "helper failed: $(cat "$WORK/helper.out")"
	assert_eq 131072 "$(file_size "$mnt/small")" "size of the resized zone"
	assert_eq before "$(head -n 1 "$mnt/small")" "bytes carried over a resize"
	[[ ! -e $mnt/gone ]] || fail "a dropped zone is still listed"
	assert_eq "$CAP" "$(file_size "$mnt/added")" "size of an added zone"
	echo new >"$mnt/added"
	assert_eq new "$(cat "$mnt/added" | head -n 1)" "an added zone serves"
	assert_eq passthrough "$(awk '$1 == "zone.added.cache" { print $2 }' "$mnt/.stats")"
	stop_daemon "$mnt" "$pid"
}

a_mapping_outlives_a_killed_master() {
	local mnt=$WORK/mnt-kill pid helper
	start_daemon "$CONF" "$mnt"
	pid=$DAEMON_PID
	wait_for_workers "$pid" 2
	mkfifo "$WORK/killed"
	python3 - "$mnt/p" "$WORK/killed" >"$WORK/kill.out" 2>&1 <<'PY' &
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED)
m[0:5] = b"alive"
print("mapped", flush=True)
open(sys.argv[2]).read()  # the master is dead now
m[100:104] = b"more"
assert m[0:5] == b"alive" and m[100:104] == b"more"
os.pwrite(fd, b"fd", 200)
assert os.pread(fd, 2, 200) == b"fd"
print("ok")
PY
	helper=$!
	wait_for_line "$WORK/kill.out" '^mapped$' || { kill "$helper"; return 1; }
	kill -KILL "$pid"
	wait_child_exit "$pid" || fail "master survived SIGKILL"
	echo >"$WORK/killed"
	wait "$helper" || fail "the mapping died with the master: $(cat "$WORK/kill.out")"
	force_unmount "$mnt"
	assert_not_mounted "$mnt"
}

# ------------------------------------------------------------ fallback

without_cap_sys_admin_zones_run_in_page_mode_with_the_same_size() {
	command -v unshare >/dev/null || fail "no unshare (util-linux)" || return 1
	local mnt=$WORK/mnt-userns
	mkdir -p "$mnt"
	timeout 30 unshare --user --map-root-user --mount bash -s "$SHMFS" "$CONF" \
		"$mnt" "$LIB_SH" >"$WORK/userns.out" 2>&1 <<'SH' || fail "in a user namespace: $(cat "$WORK/userns.out")"
set -euo pipefail
shmfs=$1 conf=$2 mnt=$3
source "$4" # wait_mounted
"$shmfs" -f -c "$conf" "$mnt" 2>"$mnt.log" &
pid=$!
trap 'fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; wait $pid' EXIT
wait_mounted "$mnt" "$pid" "$mnt.log"
"$shmfs" -t -c "$conf" | grep -q '^p  *memfd  *page\* '
"$shmfs" -t -c "$conf" | grep -q '^\* passthrough unavailable here (a user namespace'
grep -q "passthrough unavailable: ioctl(FUSE_DEV_IOC_BACKING_OPEN) failed" "$mnt.log"
[[ $(grep -c "passthrough unavailable" "$mnt.log") == 1 ]]
[[ $(awk '$1 == "zone.p.cache" { print $2 }' "$mnt/.stats") == page ]]
[[ $(stat -c %s "$mnt/p") == 67108864 ]]
echo hello >"$mnt/small"
[[ $(head -n 1 "$mnt/small") == hello ]]
[[ $(stat -c %s "$mnt/small") == 65536 ]]
python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.pwrite(fd, b"x", 65536)
    sys.exit("a write past the end succeeded")
except OSError as e:
    assert e.errno == errno.ENOSPC, e  # the daemon answers in page mode
' "$mnt/small"
: >"$mnt/small"
cmp -s <(head -c 65536 /dev/zero) "$mnt/small"
echo fallback-ok
SH
	assert_contains "$(cat "$WORK/userns.out")" fallback-ok
}

mount_or_bail -w 2 "$CONF" "$MNT"

run_test zones_run_in_passthrough_mode
run_test a_zone_is_as_long_as_its_capacity_and_reads_zeros
run_test cat_dd_and_cp_store_and_read_back
run_test a_write_past_the_end_fails
run_test o_trunc_zeroes_and_frees_keeping_the_size
run_test truncate_keeps_the_size_or_fails
run_test statfs_counts_the_pages_in_use
run_test no_read_or_write_request_reaches_a_worker
run_test two_mappings_see_each_other_and_cat_sees_both
run_test the_masters_and_a_clients_mapping_share_a_page
run_test writing_raises_shmem_by_as_much_and_cached_by_no_more
MAIN_PID=$DAEMON_PID MAIN_LOG=$DAEMON_LOG
run_test_here reload_adds_drops_and_resizes_under_open_descriptors
run_test_here a_mapping_outlives_a_killed_master
DAEMON_PID=$MAIN_PID DAEMON_LOG=$MAIN_LOG
run_test without_cap_sys_admin_zones_run_in_page_mode_with_the_same_size
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
