#!/bin/bash
# SPDX-License-Identifier: MIT
#
# filesystem.sh BACKEND [CACHE] -- the file system as users see it, with every
# zone on one backend (anon, devzero or sysv) and one cache mode (page, the
# default, or direct): the root directory, zone files and
# their metadata, statfs, read/write/truncate semantics at the edges of
# length and capacity, the EPERM root, and data integrity against a model.
# The checks use the real tools on purpose (cat | sha256sum, ls), and pass
# scripts to bash -c in single quotes.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2002,SC2012,SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BACKEND=${1:-}
CACHE=${2:-page}
case $BACKEND/$CACHE in
anon/page | devzero/page | sysv/page | anon/direct | devzero/direct | sysv/direct) ;;
*)
	echo "usage: filesystem.sh anon|devzero|sysv [page|direct]" >&2
	exit 1
	;;
esac

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<EOF
[shmfs]
workers   = 2
backend   = $BACKEND
cache     = $CACHE
mode      = 0600
log_level = info

[zone:a]
size = 1M

[zone:b]
size = 64K
mode = 0640
uid  = daemon
gid  = nogroup

[zone:small]
size = 8K

; 5000 bytes is rounded up to a page
[zone:odd]
size = 5000
EOF

ZONES="a b odd small"
# page_up N: N rounded up to the page size, as the daemon does.
page_up() {
	echo $((($1 + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE))
}
declare -A CAPACITY=([a]=$(page_up 1048576) [b]=$(page_up 65536)
	[small]=$(page_up 8192) [odd]=$(page_up 5000))
TOTAL=$((CAPACITY[a] + CAPACITY[b] + CAPACITY[small] + CAPACITY[odd]))

empty_all_zones() {
	local z
	for z in $ZONES; do
		truncate -s 0 "$MNT/$z"
	done
}

# Pages in use by zone Z, as st_blocks reports them (from the zone's own
# shmem file): a page faulted in by a read would count.
blocks_of() {
	stat -c %b "$MNT/$1"
}

# ------------------------------------------------------------ the directory

zones_start_empty() {
	local z
	for z in $ZONES; do
		assert_eq 0 "$(file_size "$MNT/$z")" "st_size of $z"
	done
}

zone_memory_starts_zeroed() {
	local z cap
	for z in $ZONES; do
		cap=${CAPACITY[$z]}
		truncate -s "$cap" "$MNT/$z"
		assert_eq "$cap" "$(file_size "$MNT/$z")" "size of $z"
		cmp "$MNT/$z" <(zeros "$cap") || fail "$z does not start zeroed"
		truncate -s 0 "$MNT/$z"
	done
}

root_lists_exactly_the_zones() {
	local listing entry
	listing=$(ls "$MNT" | tr '\n' ' ')
	assert_eq "$ZONES " "$listing" "ls"
	listing=$(ls -a "$MNT")
	grep -qx '\.' <<<"$listing" || fail "ls -a has no ."
	grep -qx '\.\.' <<<"$listing" || fail "ls -a has no .."
	# Anything else must be a zone or one of the daemon's own dot-files.
	while read -r entry; do
		case " $ZONES . .. " in *" $entry "*) continue ;; esac
		[[ $entry == .* ]] || fail "unexpected entry '$entry' in the root"
	done <<<"$listing"
	assert_eq directory "$(stat -c %F "$MNT")" "type of the root"
}

zones_are_regular_files_with_the_configured_mode_and_owner() {
	local z
	for z in $ZONES; do
		[[ -f $MNT/$z && ! -L $MNT/$z ]] || fail "$z is not a regular file"
		assert_eq 1 "$(stat -c %h "$MNT/$z")" "link count of $z"
	done
	assert_eq "600 0 0" "$(stat -c '%a %u %g' "$MNT/a")" "mode uid gid of a"
	assert_eq "600 0 0" "$(stat -c '%a %u %g' "$MNT/small")" "of small"
	assert_eq "640 1 65534" "$(stat -c '%a %u %g' "$MNT/b")" "of b"
}

reading_a_nonexistent_name_fails_with_enoent() {
	assert_fails_with ENOENT cat "$MNT/nosuch"
	assert_fails_with ENOENT stat "$MNT/nosuch"
	assert_fails_with ENOTDIR cat "$MNT/a/child"
}

creating_removing_or_renaming_in_the_root_fails_with_eperm() {
	assert_fails_with EPERM touch "$MNT/new"
	assert_fails_with EPERM bash -c ': >"$1"' _ "$MNT/new"
	assert_fails_with EPERM mkdir "$MNT/dir"
	assert_fails_with EPERM mkfifo "$MNT/fifo"
	assert_fails_with EPERM rm "$MNT/a"
	assert_fails_with EPERM rm -f "$MNT/small"
	assert_fails_with EPERM mv "$MNT/a" "$MNT/c"
	assert_fails_with EPERM mv "$MNT/a" "$MNT/b"
	assert_fails_with EPERM ln "$MNT/a" "$MNT/c"
	assert_fails_with EPERM ln -s a "$MNT/c"
	assert_eq "$ZONES " "$(ls "$MNT" | tr '\n' ' ')" "ls afterwards"
}

# ------------------------------------------------------------ statfs

# "bsize frsize blocks bfree bavail files"
statfs_of_mount() {
	stat -f -c '%s %S %b %f %a %c' "$MNT"
}

# No inode accounting (files 0, as btrfs): "df -i" prints "-", never the
# 100 % that a fixed set of files with none free would read.
statfs_reports_page_blocks_total_capacity_and_no_inode_count() {
	local blocks=$((TOTAL / PAGE_SIZE))
	empty_all_zones
	assert_eq "$PAGE_SIZE $PAGE_SIZE $blocks $blocks $blocks 0" \
		"$(statfs_of_mount)" "stat -f (bsize frsize blocks bfree bavail files)"
	assert_eq "- 0" "$(df --output=ipcent,itotal "$MNT" | tail -n 1 | xargs)" \
		"df -i: use% and inodes"
	assert_eq "$TOTAL $TOTAL" \
		"$(df -B1 --output=size,avail "$MNT" | tail -n 1 | xargs)" "df size avail"
}

statfs_free_space_follows_what_is_written() {
	local blocks=$((TOTAL / PAGE_SIZE)) free
	empty_all_zones
	dd if=/dev/urandom of="$MNT/a" bs=4096 count=5 status=none
	head -c 8192 /dev/urandom >"$MNT/b"
	free=$((blocks - 7))
	assert_eq "$blocks $free $free" "$(stat -f -c '%b %f %a' "$MNT")" \
		"blocks free avail after writing 7 pages"
	assert_eq "$((free * PAGE_SIZE))" \
		"$(df -B1 --output=avail "$MNT" | tail -n 1 | xargs)" "df avail"
	truncate -s 4096 "$MNT/a"
	free=$((blocks - 3))
	assert_eq "$free" "$(stat -f -c %f "$MNT")" "free after truncating a"
	empty_all_zones
	assert_eq "$blocks" "$(stat -f -c %f "$MNT")" "free after emptying"
}

# ------------------------------------------------------------ read and write

written_data_reads_back_intact() {
	local src=$WORK/src
	head -c 1048576 /dev/urandom >"$src"
	dd if="$src" of="$MNT/a" bs=64K status=none
	assert_eq 1048576 "$(file_size "$MNT/a")" "size after dd"
	assert_eq "$(sha256sum <"$src")" "$(cat "$MNT/a" | sha256sum)" "sha256 via cat"
	# Smaller, unaligned writes through redirection and cp.
	head -c 12345 /dev/urandom >"$src"
	cat "$src" >"$MNT/b"
	assert_eq 12345 "$(file_size "$MNT/b")" "size after redirection"
	assert_same_content "$src" "$MNT/b"
	head -c 4999 /dev/urandom >"$src"
	cp "$src" "$MNT/odd"
	assert_eq 4999 "$(file_size "$MNT/odd")" "size after cp"
	assert_same_content "$src" "$MNT/odd"
	dd if="$MNT/a" bs=1000 skip=3 count=2 status=none | cmp - \
		<(dd if="$MNT/a" bs=1 skip=3000 count=2000 status=none) ||
		fail "reads at an offset disagree"
	empty_all_zones
}

reading_at_or_past_the_length_returns_eof() {
	head -c 100 /dev/urandom >"$MNT/b"
	assert_eq 0 "$(fsop pread "$MNT/b" 100 10)" "pread at the length"
	assert_eq 0 "$(fsop pread "$MNT/b" 5000 10)" "pread past the length"
	assert_eq 0 "$(fsop pread "$MNT/b" 65536 10)" "pread at the capacity"
	assert_eq 10 "$(fsop pread "$MNT/b" 90 100)" "pread across the length"
	assert_eq 0 "$(tail -c +101 "$MNT/b" | wc -c)" "bytes after the length"
	truncate -s 0 "$MNT/b"
	assert_eq 0 "$(cat "$MNT/b" | wc -c)" "bytes of an empty zone"
}

write_that_does_not_fit_returns_a_short_count() {
	truncate -s 0 "$MNT/small"
	assert_eq 10 "$(fsop pwrite "$MNT/small" 8182 100)" "pwrite 100 at cap-10"
	assert_eq 8192 "$(file_size "$MNT/small")" "size"
	assert_eq xxxxxxxxxx "$(tail -c 10 "$MNT/small")" "the bytes that fit"
	cmp <(head -c 8182 "$MNT/small") <(zeros 8182) || fail "gap is not zeros"
	truncate -s 0 "$MNT/small"
}

dd_of_more_than_capacity_stores_exactly_the_capacity() {
	local src=$WORK/big
	head -c 12288 /dev/urandom >"$src"
	assert_fails_with ENOSPC dd if="$src" of="$MNT/small" bs=4096
	assert_eq 8192 "$(file_size "$MNT/small")" "size after dd"
	cmp <(head -c 8192 "$src") "$MNT/small" || fail "stored bytes differ"
	assert_fails_with ENOSPC bash -c 'cat "$1" >"$2"' _ "$src" "$MNT/odd"
	assert_eq 8192 "$(file_size "$MNT/odd")" "size of odd after cat"
	truncate -s 0 "$MNT/small" "$MNT/odd"
}

write_starting_at_capacity_fails_with_enospc() {
	truncate -s 0 "$MNT/small"
	assert_eq ENOSPC "$(fsop pwrite "$MNT/small" 8192 1)" "pwrite at capacity"
	assert_eq ENOSPC "$(fsop pwrite "$MNT/small" 8193 1)" "pwrite past capacity"
	assert_eq ENOSPC "$(fsop pwrite "$MNT/a" 1048576 4096)" "pwrite at a's capacity"
	assert_eq 0 "$(file_size "$MNT/small")" "size after failed writes"
	head -c 8192 /dev/zero >"$MNT/small"
	assert_eq ENOSPC "$(fsop append "$MNT/small" x)" "append to a full zone"
	truncate -s 0 "$MNT/small"
}

capacity_is_the_size_rounded_up_to_a_page() {
	truncate -s 0 "$MNT/odd"
	assert_eq 1 "$(fsop pwrite "$MNT/odd" 8191 10)" "pwrite at 8191 of a 5000-byte zone"
	assert_eq ENOSPC "$(fsop pwrite "$MNT/odd" 8192 1)" "pwrite at 8192"
	assert_eq ok "$(fsop truncate "$MNT/odd" 8192)" "truncate to 8192"
	assert_eq EFBIG "$(fsop truncate "$MNT/odd" 8193)" "truncate to 8193"
	truncate -s 0 "$MNT/odd"
}

o_append_appends() {
	printf abc >"$MNT/b"
	printf def >>"$MNT/b"
	assert_eq abcdef "$(cat "$MNT/b")" "after >>"
	assert_eq 3 "$(fsop append "$MNT/b" ghi)" "O_APPEND write"
	assert_eq abcdefghi "$(cat "$MNT/b")" "after O_APPEND"
	assert_eq 9 "$(file_size "$MNT/b")" "size"
	truncate -s 0 "$MNT/b"
}

truncate_grows_with_zeros_and_shrinks() {
	local src=$WORK/pages
	head -c 12288 /dev/urandom >"$src"
	cp "$src" "$MNT/b"
	truncate -s 20000 "$MNT/b"
	assert_eq 20000 "$(file_size "$MNT/b")" "size after growing"
	cmp <(cat "$src"; zeros 7712) "$MNT/b" || fail "grown tail is not zeros"
	# Shrink to the middle of a page, then grow over the old data again.
	truncate -s 5000 "$MNT/b"
	assert_eq 5000 "$(file_size "$MNT/b")" "size after shrinking"
	cmp <(head -c 5000 "$src") "$MNT/b" || fail "shrunk zone lost its head"
	truncate -s 12288 "$MNT/b"
	cmp <(head -c 5000 "$src"; zeros 7288) "$MNT/b" ||
		fail "the old tail came back after shrink and grow"
	truncate -s 0 "$MNT/b"
	truncate -s 12288 "$MNT/b"
	cmp <(zeros 12288) "$MNT/b" || fail "data survived truncation to 0"
	truncate -s 0 "$MNT/b"
}

truncate_past_capacity_fails_with_efbig() {
	printf hello >"$MNT/a"
	assert_fails_with EFBIG truncate -s 1048577 "$MNT/a"
	assert_eq EFBIG "$(fsop truncate "$MNT/a" 2097152)" "truncate(2) to 2M"
	assert_eq 5 "$(file_size "$MNT/a")" "size after failed truncates"
	truncate -s 1048576 "$MNT/a"
	assert_eq 1048576 "$(file_size "$MNT/a")" "truncate to exactly the capacity"
	truncate -s 0 "$MNT/a"
}

o_trunc_empties_the_zone() {
	printf 'some data' >"$MNT/b"
	: >"$MNT/b"
	assert_eq 0 "$(file_size "$MNT/b")" "size after : >"
	printf 'more data' >"$MNT/b"
	assert_eq ok "$(fsop open_trunc "$MNT/b")" "open(O_TRUNC)"
	assert_eq 0 "$(file_size "$MNT/b")" "size after O_TRUNC"
	truncate -s 9 "$MNT/b"
	cmp <(zeros 9) "$MNT/b" || fail "old data reappeared after O_TRUNC"
	truncate -s 0 "$MNT/b"
}

huge_offsets_never_succeed() {
	local before
	printf 'intact' >"$MNT/a"
	before=$(sha256sum <"$MNT/a")
	assert_one_of "$(fsop pwrite "$MNT/a" $((1 << 62)) 1)" "ENOSPC EFBIG EINVAL" \
		"pwrite at 2**62"
	assert_one_of "$(fsop pwrite "$MNT/a" $(((1 << 63) - 2)) 1)" "ENOSPC EFBIG EINVAL" \
		"pwrite at 2**63-2"
	assert_eq 0 "$(fsop pread "$MNT/a" $((1 << 62)) 10)" "pread at 2**62"
	assert_one_of "$(fsop truncate "$MNT/a" $((1 << 62)))" "EFBIG EINVAL" \
		"truncate to 2**62"
	assert_eq 6 "$(file_size "$MNT/a")" "size"
	assert_eq "$before" "$(sha256sum <"$MNT/a")" "content"
	truncate -s 0 "$MNT/a"
}

fsync_succeeds() {
	printf 'sync me' >"$MNT/a"
	assert_eq ok "$(fsop fsync "$MNT/a")" "fsync and fdatasync"
	sync "$MNT/a"
	truncate -s 0 "$MNT/a"
}

# ------------------------------------------------------------ metadata

# Seconds since the epoch, with nanoseconds, of %Y (mtime) or %Z (ctime).
time_of() {
	stat -c "%.9$1" "$2"
}

later() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > a) }'
}

write_and_truncate_change_mtime_and_ctime() {
	local c0 c1 now
	touch -d '2001-01-01 00:00:00 UTC' "$MNT/a"
	assert_eq 978307200 "$(stat -c %Y "$MNT/a")" "mtime set by touch -d"
	c0=$(time_of Z "$MNT/a")
	# Time itself must pass for a new time to differ from the old, at any
	# timestamp granularity: the point of the test, not a synchronisation.
	sleep 1.05
	printf 'x' >>"$MNT/a"
	now=$(date +%s)
	(($(stat -c %Y "$MNT/a") >= now - 5)) || fail "write left mtime old"
	c1=$(time_of Z "$MNT/a")
	later "$c0" "$c1" || fail "write did not change ctime ($c0 -> $c1)"
	touch -d '2001-01-01 00:00:00 UTC' "$MNT/a"
	c0=$(time_of Z "$MNT/a")
	sleep 1.05 # as above
	truncate -s 100 "$MNT/a"
	now=$(date +%s)
	(($(stat -c %Y "$MNT/a") >= now - 5)) || fail "truncate left mtime old"
	c1=$(time_of Z "$MNT/a")
	later "$c0" "$c1" || fail "truncate did not change ctime ($c0 -> $c1)"
	truncate -s 0 "$MNT/a"
}

# Forgets cached dentries and inodes so that the next stat is answered by
# whichever worker the kernel picks (best effort).
drop_kernel_caches() {
	echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || true
}

chmod_chown_and_utimens_persist_and_are_seen_by_other_processes() {
	local i
	chmod 0604 "$MNT/small"
	chown 1:65534 "$MNT/small"
	touch -d '2020-02-02 02:02:02 UTC' "$MNT/small"
	for ((i = 0; i < 10; i++)); do
		cat "$MNT/small" >/dev/null
		drop_kernel_caches
		assert_eq "604 1 65534 1580608922" \
			"$(stat -c '%a %u %g %Y' "$MNT/small")" "mode uid gid mtime"
		assert_eq "0o604 1 65534 1580608922" "$(python3 -c '
import os, sys
st = os.stat(sys.argv[1])
print(oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, int(st.st_mtime))' "$MNT/small")" \
			"as python sees it"
	done
	touch -a -d '2019-01-01 00:00:00 UTC' "$MNT/small"
	assert_eq 1546300800 "$(stat -c %X "$MNT/small")" "atime"
	chmod 0600 "$MNT/small"
	chown 0:0 "$MNT/small"
	assert_eq "600 0 0" "$(stat -c '%a %u %g' "$MNT/small")" "restored"
}

# ------------------------------------------------------------ sharing

data_written_by_one_process_is_read_by_another_at_once() {
	local i
	for ((i = 0; i < 50; i++)); do
		printf 'value %d' "$i" >"$MNT/b"
		assert_eq "value $i" "$(cat "$MNT/b")" "read after write $i"
	done
	# A writer that keeps its file open, and readers in other processes.
	python3 - "$MNT/b" <<'PY'
import os, subprocess, sys
path = sys.argv[1]
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
for i in range(50):
    data = b"round %03d" % i
    os.pwrite(fd, data, 0)
    got = subprocess.run(["head", "-c", str(len(data)), path],
                         capture_output=True, check=True).stdout
    if got != data:
        sys.exit("after writing %r a reader saw %r" % (data, got))
os.close(fd)
PY
	truncate -s 0 "$MNT/b"
}

random_pwrites_and_preads_match_a_model() {
	local want
	want=$(python3 - "$MNT/a" "${CAPACITY[a]}" <<'PY'
import errno, hashlib, os, random, sys
path, cap = sys.argv[1], int(sys.argv[2])
rng = random.Random(1234)
model = bytearray()
wfd = os.open(path, os.O_WRONLY | os.O_TRUNC)
rfd = os.open(path, os.O_RDONLY)

def check(what, got, want):
    if got != want:
        sys.exit("%s: got %r, expected %r" % (what, got[:64] if isinstance(got, bytes) else got,
                                             want[:64] if isinstance(want, bytes) else want))

for step in range(400):
    op = rng.random()
    if op < 0.45:
        off = rng.choice([rng.randrange(cap), rng.randrange(len(model) + 1),
                          cap - rng.randrange(1, 5000), cap + rng.randrange(3)])
        data = rng.randbytes(rng.randrange(1, 20000))
        try:
            n = os.pwrite(wfd, data, off)
        except OSError as e:
            check("step %d pwrite(%d, %d) errno" % (step, off, len(data)),
                  errno.errorcode[e.errno], "ENOSPC" if off >= cap else "none")
            continue
        check("step %d pwrite(%d, %d)" % (step, off, len(data)), n,
              min(len(data), cap - off) if off < cap else "ENOSPC")
        if off > len(model):
            model.extend(bytes(off - len(model)))
        model[off:off + n] = data[:n]
    elif op < 0.85:
        off = rng.randrange(cap + 100)
        n = rng.randrange(0, 30000)
        check("step %d pread(%d, %d)" % (step, off, n), os.pread(rfd, n, off),
              bytes(model[off:off + n]))
    elif op < 0.95:
        length = rng.choice([rng.randrange(cap + 1), rng.randrange(len(model) + 1)])
        os.ftruncate(wfd, length)
        if length > len(model):
            model.extend(bytes(length - len(model)))
        else:
            del model[length:]
    else:
        check("step %d st_size" % step, os.fstat(rfd).st_size, len(model))
        check("step %d stat st_size" % step, os.stat(path).st_size, len(model))
print(hashlib.sha256(model).hexdigest())
PY
	)
	assert_eq "$want  -" "$(cat "$MNT/a" | sha256sum)" "sha256 of the zone vs the model"
	truncate -s 0 "$MNT/a"
}

# ------------------------------------------------------------ cache modes

# page: a MAP_SHARED mapping of a zone works both ways with read/write.
mmap_shared_of_a_zone_works_in_page_mode() {
	python3 - "$MNT/a" <<'PY'
import mmap, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[4096:4101] = b"hello"
m.flush()
os.pwrite(fd, b"world", 100)
assert m[100:105] == b"world", m[100:105]
m.close()
os.close(fd)
with open(path, "rb") as f:
    data = f.read()
assert len(data) == 8192 and data[4096:4101] == b"hello", data[4090:4110]
PY
	assert_eq "hello" "$(dd if="$MNT/a" bs=1 skip=4096 count=5 2>/dev/null)" \
		"bytes written through the mapping, read by another process"
	truncate -s 0 "$MNT/a"
}

# direct: every read and write reaches a worker, so the kernel refuses a
# shared mapping.
mmap_of_a_zone_fails_with_enodev_in_direct_mode() {
	python3 - "$MNT/a" <<'PY'
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.ftruncate(fd, 4096)
try:
    mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
except OSError as e:
    assert e.errno == errno.ENODEV, e
else:
    sys.exit("mmap of a direct zone succeeded")
os.ftruncate(fd, 0)
PY
}

# ------------------------------------------------------------ sysv

sysv_segments_are_marked_for_removal_while_mounted() {
	local segs id n=0
	segs=$(new_shm_segments | awk -v p="$DAEMON_PID" '$2 == p { print $1 }')
	for id in $segs; do
		n=$((n + 1))
		assert_eq dest "$(shm_status "$id")" "status of segment $id"
	done
	((n >= 4)) || fail "expected a SysV segment per zone from pid $DAEMON_PID;" \
		"ipcs -m -p: $(ipcs -m -p)"
}


mount_or_bail -w 2 "$CONF" "$MNT" "$BACKEND, cache $CACHE"

# truncate -s CAP; cat: tmpfs allocates nothing for that, nor does a zone.
reading_holes_allocates_nothing() {
	empty_all_zones
	truncate -s 1M "$MNT/a"
	printf 'x' | dd of="$MNT/a" bs=1 seek=524288 conv=notrunc status=none
	assert_eq $((PAGE_SIZE / 512)) "$(blocks_of a)" "blocks with one page written"
	cmp -s <(zeros 524288) <(head -c 524288 "$MNT/a") || fail "a hole is not zeros"
	cat "$MNT/a" >/dev/null
	dd if="$MNT/a" of=/dev/null bs=4k iflag=direct status=none 2>/dev/null || true
	assert_eq $((PAGE_SIZE / 512)) "$(blocks_of a)" \
		"blocks after reading the whole zone"
	assert_eq x "$(tail -c +524289 "$MNT/a" | head -c 1)" "the written byte"
	empty_all_zones
}

run_test zones_start_empty
run_test zone_memory_starts_zeroed
run_test root_lists_exactly_the_zones
run_test zones_are_regular_files_with_the_configured_mode_and_owner
run_test reading_a_nonexistent_name_fails_with_enoent
run_test creating_removing_or_renaming_in_the_root_fails_with_eperm
run_test statfs_reports_page_blocks_total_capacity_and_no_inode_count
run_test statfs_free_space_follows_what_is_written
run_test written_data_reads_back_intact
run_test reading_at_or_past_the_length_returns_eof
run_test write_that_does_not_fit_returns_a_short_count
run_test dd_of_more_than_capacity_stores_exactly_the_capacity
run_test write_starting_at_capacity_fails_with_enospc
run_test capacity_is_the_size_rounded_up_to_a_page
run_test o_append_appends
run_test truncate_grows_with_zeros_and_shrinks
run_test truncate_past_capacity_fails_with_efbig
run_test o_trunc_empties_the_zone
run_test huge_offsets_never_succeed
run_test fsync_succeeds
run_test write_and_truncate_change_mtime_and_ctime
run_test chmod_chown_and_utimens_persist_and_are_seen_by_other_processes
run_test data_written_by_one_process_is_read_by_another_at_once
run_test random_pwrites_and_preads_match_a_model
if [[ $CACHE == page ]]; then
	run_test mmap_shared_of_a_zone_works_in_page_mode
else
	run_test mmap_of_a_zone_fails_with_enodev_in_direct_mode
fi
if [[ $BACKEND == sysv ]]; then
	run_test sysv_segments_are_marked_for_removal_while_mounted
else # a SysV segment's file cannot tell its holes (docs/security.md, Limitations)
	run_test reading_holes_allocates_nothing
fi
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
