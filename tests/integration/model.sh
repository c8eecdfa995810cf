#!/bin/bash
# SPDX-License-Identifier: MIT
#
# model.sh -- randomized model testing of the zone file semantics through a
# real mount. One daemon serves zones on every backend and both cache modes;
# a Python model (a bytearray and the capacity) predicts every result:
#
# - thousands of random operations per zone (pread, pwrite, pwritev, preadv,
#   write and pwrite through an O_APPEND descriptor, lseek and read/write at
#   the file position, SEEK_END/SEEK_DATA/SEEK_HOLE, ftruncate, truncate,
#   open(O_TRUNC), fstat and stat, reads through a second descriptor, a fresh
#   open and another process), with offsets and sizes biased to the edges of
#   the length, the capacity and the pages; fallocate (allocate, keep size,
#   punch hole, zero range) and copy_file_range within the zone; counts,
#   bytes, errno and st_size are compared after every one, and the whole
#   content (sha256) at the end. The model also knows which pages hold data,
#   so SEEK_DATA and SEEK_HOLE are exact where the zone has a file to ask;
# - exact results at extreme offsets and lengths (0, capacity-1, capacity,
#   2**31, 2**32, 2**62, 2**63-1, negative, and through ctypes what Python
#   refuses to pass), after which the daemon and all its workers must still
#   be alive and every zone intact;
# - concurrent processes: four writers on disjoint regions of one zone while
#   another process appends to a second zone, each checked against its own
#   model; two appenders whose records must never interleave; and four
#   processes that each write their own page and read it straight back.
#
# The random operations come from a seed that is printed; rerun a failure with
# SHMFS_MODEL_SEED=SEED. SHMFS_MODEL_OPS sets the operations per zone.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2002,SC2317 # cat | sha256sum reads through another process on purpose
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEED=${SHMFS_MODEL_SEED:-20251123}
OPS=${SHMFS_MODEL_OPS:-5000}
[[ $SEED =~ ^[A-Za-z0-9_.:-]+$ ]] || {
	echo "SHMFS_MODEL_SEED must be letters, digits and ._:- only" >&2
	exit 1
}
[[ $OPS =~ ^[0-9]+$ ]] || {
	echo "SHMFS_MODEL_OPS must be a number" >&2
	exit 1
}

setup

echo "# model seed $SEED ($OPS operations per zone);" \
	"rerun with SHMFS_MODEL_SEED=$SEED"

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
MODEL=$WORK/model.py

# name backend cache size (capacity = size rounded up to a page)
ZONE_TABLE="
anon-page-8k       anon    page   8K
anon-direct-64k    anon    direct 64K
devzero-page-12k   devzero page   12K
devzero-direct-odd devzero direct 5000
sysv-page-64k      sysv    page   64K
sysv-direct-12k    sysv    direct 12K
memfd-direct-16k   memfd   direct 16K
big-1m             anon    direct 1M
"
ZONES=""
declare -A CAPACITY=()
{
	printf '[shmfs]\nworkers   = 4\nmode      = 0600\nlog_level = info\n'
	while read -r name backend cache size; do
		[[ -n $name ]] || continue
		printf '\n[zone:%s]\nsize    = %s\nbackend = %s\ncache   = %s\n' \
			"$name" "$size" "$backend" "$cache"
		ZONES+="$name "
		case $size in
		*K) bytes=$((${size%K} * 1024)) ;;
		*M) bytes=$((${size%M} * 1048576)) ;;
		*) bytes=$size ;;
		esac
		CAPACITY[$name]=$(((bytes + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE))
	done <<<"$ZONE_TABLE"
} >"$CONF"

# ------------------------------------------------------------ the model

cat >"$MODEL" <<'PY'
"""shmfs model tests; see model.sh. Usage:
    model.py random SEED OPS PATH CAPACITY HOLES
    model.py edges SEED PATH CAPACITY
    model.py sha PATH
    model.py concurrent SEED OPS PATH CAPACITY APPEND_PATH APPEND_CAPACITY
    model.py appenders SEED PATH CAPACITY
    model.py readback SEED PATH CAPACITY NPROC ITERATIONS
"""
import ctypes
import errno
import hashlib
import os
import random
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
LLONG_MAX = 2**63 - 1


class Mismatch(Exception):
    pass


def ename(num):
    return errno.errorcode.get(num, "errno %d" % num)


def attempt(fn, *args):
    """The result of fn(*args), or the errno name of its OSError."""
    try:
        return fn(*args)
    except OSError as e:
        return ename(e.errno)


def show(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        v = bytes(v)
        head = v[:24].hex()
        return "%d bytes %s%s sha %s" % (len(v), head, "..." if len(v) > 24 else "",
                                         hashlib.sha256(v).hexdigest()[:16])
    return repr(v)


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def same(what, got, want):
    if isinstance(want, set):
        if got in want:
            return
        raise Mismatch("%s: got %s, expected one of %s" % (what, show(got), sorted(map(str, want))))
    if isinstance(got, (bytes, bytearray)) and isinstance(want, (bytes, bytearray)):
        if bytes(got) == bytes(want):
            return
        raise Mismatch("%s: got %s, expected %s; first difference at %d" % (
            what, show(got), show(want), first_difference(got, want)))
    if type(got) is not type(want) or got != want:
        raise Mismatch("%s: got %s, expected %s" % (what, show(got), show(want)))


def read_all(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)


def page_up(n):
    return (n + PAGE - 1) // PAGE * PAGE


class Model:
    """A zone: bytes below the length, a fixed capacity, and the pages its
    memory holds (holes: pages never written, or given back), as zone.c
    makes them: a store touches its pages, a zeroed range gives its whole
    pages back and clears the partial ones in place."""

    def __init__(self, cap, data=b""):
        self.cap = cap
        self.data = bytearray(data)
        self.pages = set()

    def touch(self, a, b):
        if b > a:
            self.pages.update(range(a // PAGE, (b - 1) // PAGE + 1))

    def zero(self, frm, to):
        """zone.c's zero_range(frm, to)."""
        if to <= frm:
            return
        lo, hi = page_up(frm), to // PAGE * PAGE
        if lo >= hi:
            self.touch(frm, to)
        else:
            self.touch(frm, lo)
            self.pages.difference_update(range(lo // PAGE, hi // PAGE))
            self.touch(hi, to)
        end = min(to, len(self.data))
        if frm < end:
            self.data[frm:end] = bytes(end - frm)

    def seek(self, off, data):
        """SEEK_DATA (data=True) or SEEK_HOLE from off, by the pages."""
        L = len(self.data)
        if off >= L:
            return "ENXIO"
        p = off // PAGE
        while p * PAGE < L and (p in self.pages) != data:
            p += 1
        if p * PAGE >= L:
            return "ENXIO" if data else L
        return max(off, p * PAGE)

    def fallocate(self, mode, off, n):
        keep, punch, zero = mode & 1, mode & 2, mode & 16
        end = off + n
        if punch:
            end = min(end, self.cap)
        elif end > self.cap:
            return "ENOSPC"
        if punch or zero:
            self.zero(off, min(end, len(self.data)))
        # Allocated, never written: the file still reports a hole there.
        if not keep and end > len(self.data):
            self.data.extend(bytes(end - len(self.data)))
        return 0

    def copy(self, off_in, off_out, n):
        """copy_file_range within the zone, after the kernel's checks."""
        n = min(n, max(0, len(self.data) - off_in))
        if n == 0:
            return 0
        if off_in < off_out + n and off_out < off_in + n:
            return "EINVAL"
        return self.write(off_out, bytes(self.data[off_in:off_in + n]))

    def __len__(self):
        return len(self.data)

    def read(self, off, n):
        if off < 0:
            return "EINVAL"
        return bytes(self.data[off:off + n])

    def write(self, off, buf):
        n = len(buf)
        if off < 0 or off + n > LLONG_MAX:
            return "EINVAL"  # the kernel's rw_verify_area
        if n == 0:
            return 0  # the kernel answers a zero-length write itself
        if off >= self.cap:
            return "ENOSPC"
        k = min(n, self.cap - off)
        if off > len(self.data):
            self.data.extend(bytes(off - len(self.data)))
        self.data[off:off + k] = buf[:k]
        self.touch(off, off + k)
        return k

    def append(self, buf):
        return self.write(len(self.data), buf)

    def truncate(self, length):
        if length < 0:
            return "EINVAL"
        if length > self.cap:
            return "EFBIG"
        if length > len(self.data):
            self.data.extend(bytes(length - len(self.data)))
        elif length < len(self.data):
            self.zero(length, page_up(len(self.data)))
            del self.data[length:]
        return None


# ------------------------------------------------------------ random

class Random:
    """Random operations on one zone, each applied to the zone and the model."""

    def __init__(self, seed, path, cap, holes):
        self.holes = holes  # the zone has a file that knows its holes
        self.rng = random.Random("%s:%s" % (seed, os.path.basename(path)))
        self.path = path
        self.m = Model(cap)
        self.cap = cap
        # Data comes from one random pool, sliced at random starts.
        self.pool = memoryview(self.rng.randbytes(2 * cap + 4 * PAGE))
        self.log = []
        self.step = 0
        self.open_all()
        same("ftruncate(0) at the start", attempt(os.ftruncate, self.rw, 0), None)

    def open_all(self):
        self.rw = os.open(self.path, os.O_RDWR)
        self.ro = os.open(self.path, os.O_RDONLY)
        self.app = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.pos = {self.rw: 0, self.ro: 0}

    def close_all(self):
        for fd in (self.rw, self.ro, self.app):
            os.close(fd)

    def note(self, text):
        self.log.append("%d: %s" % (self.step, text))
        del self.log[:-40]

    # Offsets and sizes, biased to the edges.
    def offset(self):
        r, L, cap = self.rng.random(), len(self.m), self.cap
        if r < 0.55:
            base = self.rng.choice([0, 1, L - 1, L, L + 1, cap - 1, cap, cap + 1,
                                    PAGE - 1, PAGE, PAGE + 1,
                                    self.rng.randrange(0, cap + 1, PAGE),
                                    self.rng.randrange(0, cap + 1, PAGE) - 1,
                                    self.rng.randrange(0, cap + 1, PAGE) + 1])
            return max(0, base)
        if r < 0.80:
            return self.rng.randrange(0, cap + 2)
        if r < 0.98:
            return self.rng.randrange(0, L + 2)
        return self.rng.choice([2 * cap, 2**31, 2**32, 2**62])

    def size(self, off):
        r, L, cap = self.rng.random(), len(self.m), self.cap
        if r < 0.08:
            return 0
        if r < 0.35:
            return self.rng.randrange(1, 65)
        if r < 0.60:
            return max(0, self.rng.choice([1, PAGE - 1, PAGE, PAGE + 1, cap - off,
                                           cap - off + 1, cap - off - 1,
                                           L - off, L - off + 1, 2 * PAGE]))
        if r < 0.92:
            return self.rng.randrange(0, min(2 * cap, 3 * PAGE) + 1)
        return self.rng.randrange(0, 2 * cap + 1)

    def length(self):
        r, L, cap = self.rng.random(), len(self.m), self.cap
        if r < 0.6:
            return max(0, self.rng.choice([0, 1, L - 1, L, L + 1, cap - 1, cap, cap + 1,
                                           PAGE - 1, PAGE, PAGE + 1,
                                           self.rng.randrange(0, cap + 1, PAGE),
                                           self.rng.randrange(0, cap + 1, PAGE) + 1]))
        if r < 0.97:
            return self.rng.randrange(0, cap + 1)
        return self.rng.choice([-1, 2 * cap, 2**62, LLONG_MAX])

    def data(self, n):
        start = self.rng.randrange(0, len(self.pool) - n + 1)
        return self.pool[start:start + n]

    # The operations.
    def op_pread(self):
        fd = self.rng.choice([self.rw, self.ro])
        off, n = self.offset(), self.size(0)
        n = min(n, 2 * self.cap)
        self.note("pread(%s, %d, %d)" % ("rw" if fd == self.rw else "ro", n, off))
        same("pread", attempt(os.pread, fd, n, off), self.m.read(off, n))

    def op_preadv(self):
        off = self.offset()
        bufs = [bytearray(self.rng.randrange(0, PAGE + 2)) for _ in range(self.rng.randrange(1, 4))]
        total = sum(map(len, bufs))
        self.note("preadv(ro, %s, %d)" % ([len(b) for b in bufs], off))
        want = self.m.read(off, total)
        got = attempt(os.preadv, self.ro, bufs, off)
        same("preadv count", got, len(want))
        same("preadv bytes", b"".join(bufs)[:got], want)

    def op_pwrite(self):
        off = self.offset()
        buf = self.data(self.size(off))
        self.note("pwrite(rw, %d bytes, %d)" % (len(buf), off))
        want = self.m.write(off, buf)
        same("pwrite", attempt(os.pwrite, self.rw, buf, off), want)

    def op_pwritev(self):
        off = self.offset()
        buf = self.data(self.size(off))
        cuts = sorted(self.rng.randrange(0, len(buf) + 1) for _ in range(self.rng.randrange(0, 3)))
        parts = [buf[a:b] for a, b in zip([0] + cuts, cuts + [len(buf)])]
        self.note("pwritev(rw, %s, %d)" % ([len(p) for p in parts], off))
        want = self.m.write(off, buf)
        same("pwritev", attempt(os.pwritev, self.rw, parts, off), want)

    def op_append(self):
        buf = self.data(self.size(len(self.m)))
        self.note("write(append fd, %d bytes) at length %d" % (len(buf), len(self.m)))
        want = self.m.append(buf)
        same("O_APPEND write", attempt(os.write, self.app, buf), want)

    def op_pwrite_append(self):
        # Linux: pwrite on an O_APPEND descriptor appends, whatever the offset.
        off = self.offset()
        buf = self.data(self.size(len(self.m)))
        self.note("pwrite(append fd, %d bytes, %d) at length %d" % (len(buf), off, len(self.m)))
        want = self.m.append(buf)
        same("pwrite on an O_APPEND fd", attempt(os.pwrite, self.app, buf, off), want)

    def op_seek_write(self):
        off = self.offset()
        buf = self.data(self.size(off))
        self.note("lseek(rw, %d) + write(%d bytes)" % (off, len(buf)))
        same("lseek SEEK_SET", attempt(os.lseek, self.rw, off, os.SEEK_SET), off)
        self.pos[self.rw] = off
        want = self.m.write(off, buf)
        same("write at the position", attempt(os.write, self.rw, buf), want)
        if isinstance(want, int):
            self.pos[self.rw] += want
        same("position after write", os.lseek(self.rw, 0, os.SEEK_CUR), self.pos[self.rw])

    def op_read_on(self):
        # read(2) from where the last seek, read or write left the position.
        fd = self.rng.choice([self.rw, self.ro])
        n = self.size(self.pos[fd])
        self.note("read(%s, %d) at position %d" % ("rw" if fd == self.rw else "ro", n, self.pos[fd]))
        want = self.m.read(self.pos[fd], n)
        same("read at the position", attempt(os.read, fd, n), want)
        self.pos[fd] += len(want)

    def op_seek_end(self):
        fd = self.rng.choice([self.rw, self.ro])
        L = len(self.m)
        delta = self.rng.choice([0, 0, 1, -1, 100, -L, -L - 1, self.cap])
        self.note("lseek(%d, SEEK_END) at length %d" % (delta, L))
        want = L + delta if L + delta >= 0 else "EINVAL"
        same("lseek SEEK_END", attempt(os.lseek, fd, delta, os.SEEK_END), want)
        if isinstance(want, int):
            self.pos[fd] = want

    def op_seek_data_hole(self):
        fd = self.rng.choice([self.rw, self.ro])
        L = len(self.m)
        off = self.rng.choice([0, 1, L - 1, L, L + 1, self.rng.randrange(0, L + 2)])
        off = max(0, off)
        whence = self.rng.choice([os.SEEK_DATA, os.SEEK_HOLE])
        self.note("lseek(%d, %s) at length %d" % (off, "SEEK_DATA" if whence == os.SEEK_DATA else "SEEK_HOLE", L))
        if self.holes:
            want = self.m.seek(off, whence == os.SEEK_DATA)
        # No file to ask: data is [0, length), the only hole at the length.
        elif off >= L:
            want = "ENXIO"
        else:
            want = off if whence == os.SEEK_DATA else L
        same("lseek SEEK_DATA/SEEK_HOLE", attempt(os.lseek, fd, off, whence), want)
        if isinstance(want, int):
            self.pos[fd] = want

    def op_fallocate(self):
        mode = self.rng.choice([0, 1, 1 | 2, 16, 16 | 1])
        off = self.offset()
        n = max(1, self.size(off))
        names = {0: "0", 1: "KEEP_SIZE", 3: "PUNCH_HOLE|KEEP_SIZE", 16: "ZERO_RANGE",
                 17: "ZERO_RANGE|KEEP_SIZE"}
        self.note("fallocate(%s, %d, %d) at length %d" % (names[mode], off, n, len(self.m)))
        want = self.m.fallocate(mode, off, n)
        got = libc.fallocate(self.rw, mode, off, n)
        same("fallocate", c_result(got), want)

    def op_copy(self):
        off_in, off_out = self.offset(), self.offset()
        n = self.size(off_out)
        self.note("copy_file_range(in %d, out %d, %d) at length %d" % (off_in, off_out, n, len(self.m)))
        want = self.m.copy(off_in, off_out, n)
        same("copy_file_range", attempt(os.copy_file_range, self.rw, self.rw, n, off_in, off_out), want)

    def op_ftruncate(self):
        length = self.length()
        self.note("ftruncate(rw, %d) at length %d" % (length, len(self.m)))
        want = self.m.truncate(length)
        same("ftruncate", attempt(os.ftruncate, self.rw, length), want)

    def op_truncate(self):
        length = self.length()
        self.note("truncate(path, %d) at length %d" % (length, len(self.m)))
        want = self.m.truncate(length)
        same("truncate", attempt(os.truncate, self.path, length), want)

    def op_open_trunc(self):
        flags = self.rng.choice([os.O_WRONLY, os.O_RDWR]) | os.O_TRUNC
        buf = self.data(self.size(0)) if self.rng.random() < 0.5 else None
        self.note("open(O_TRUNC)%s" % ("" if buf is None else " + write(%d bytes)" % len(buf)))
        fd = os.open(self.path, flags)
        try:
            self.m.truncate(0)
            same("fstat after O_TRUNC", os.fstat(fd).st_size, 0)
            if buf is not None:
                same("write after O_TRUNC", attempt(os.write, fd, buf), self.m.write(0, buf))
        finally:
            os.close(fd)

    def op_stat(self):
        self.note("fstat/stat at length %d" % len(self.m))
        same("fstat(rw).st_size", os.fstat(self.rw).st_size, len(self.m))
        same("fstat(ro).st_size", os.fstat(self.ro).st_size, len(self.m))
        same("stat(path).st_size", os.stat(self.path).st_size, len(self.m))

    def op_fresh_open(self):
        self.note("open + read to EOF at length %d" % len(self.m))
        same("content through a fresh open", read_all(self.path), self.m.data)

    def op_other_process(self):
        self.note("cat in another process at length %d" % len(self.m))
        out = subprocess.run(["cat", self.path], stdout=subprocess.PIPE, check=True).stdout
        same("content read by another process", out, self.m.data)

    def op_reopen(self):
        self.note("close and reopen every descriptor")
        self.close_all()
        self.open_all()

    OPS = [(op_pread, 16), (op_preadv, 4), (op_pwrite, 16), (op_pwritev, 4),
           (op_append, 8), (op_pwrite_append, 2), (op_seek_write, 6), (op_read_on, 6),
           (op_seek_end, 4), (op_seek_data_hole, 2), (op_ftruncate, 6), (op_truncate, 4),
           (op_open_trunc, 2), (op_stat, 6), (op_fresh_open, 2), (op_other_process, 0.1),
           (op_reopen, 0.4), (op_fallocate, 4), (op_copy, 3)]

    def run(self, count):
        funcs = [f for f, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        try:
            for self.step in range(count):
                self.rng.choices(funcs, weights)[0](self)
            self.step = count
            self.note("final sha256 of the whole zone")
            self.op_stat()
            got = hashlib.sha256(read_all(self.path)).hexdigest()
            same("sha256 of the zone", got, hashlib.sha256(self.m.data).hexdigest())
        except Mismatch as e:
            print("MISMATCH in %s (capacity %d) at operation %d: %s" % (
                self.path, self.cap, self.step, e), file=sys.stderr)
            print("the last operations:", file=sys.stderr)
            for line in self.log:
                print("  " + line, file=sys.stderr)
            return 1
        finally:
            self.close_all()
        print("%d operations, final length %d, sha256 %s" % (
            count, len(self.m), hashlib.sha256(self.m.data).hexdigest()))
        return 0


# ------------------------------------------------------------ edges

libc = ctypes.CDLL(None, use_errno=True)
libc.pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64]
libc.pread.restype = ctypes.c_ssize_t
libc.pwrite.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64]
libc.pwrite.restype = ctypes.c_ssize_t
libc.ftruncate.argtypes = [ctypes.c_int, ctypes.c_int64]
libc.ftruncate.restype = ctypes.c_int
libc.truncate.argtypes = [ctypes.c_char_p, ctypes.c_int64]
libc.truncate.restype = ctypes.c_int
libc.lseek.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int]
libc.lseek.restype = ctypes.c_int64
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.fallocate.restype = ctypes.c_int


def c_result(r):
    return ename(ctypes.get_errno()) if r < 0 else r


def edges(seed, path, cap):
    """Exact results at the edges; the zone must hold what the model says
    after every step."""
    rng = random.Random("%s:edges:%s" % (seed, os.path.basename(path)))
    content = rng.randbytes(cap)
    m = Model(cap)
    rw = os.open(path, os.O_RDWR | os.O_TRUNC)
    app = os.open(path, os.O_WRONLY | os.O_APPEND)
    steps = 0

    def check(what, got, want):
        nonlocal steps
        steps += 1
        same(what, got, want)
        same(what + ": st_size afterwards", os.fstat(rw).st_size, len(m))
        same(what + ": content afterwards", read_all(path), m.data)

    L0 = cap // 2 + 7
    check("pwrite of the first half", attempt(os.pwrite, rw, content[:L0], 0), m.write(0, content[:L0]))
    beyond = [cap - 1, cap, cap + 1, 2**31, 2**32, 2**62, LLONG_MAX - 10]

    # Reads: bytes below the length, EOF at or past it, any offset.
    check("pread(0, 0)", attempt(os.pread, rw, 0, 0), b"")
    check("pread(1, 0)", attempt(os.pread, rw, 1, 0), content[:1])
    check("pread(cap, 0)", attempt(os.pread, rw, cap, 0), content[:L0])
    check("pread(10, length-1)", attempt(os.pread, rw, 10, L0 - 1), content[L0 - 1:L0])
    check("pread(10, length)", attempt(os.pread, rw, 10, L0), b"")
    for off in beyond:
        check("pread(10, %d)" % off, attempt(os.pread, rw, 10, off), b"")
    check("pread(1, 2**63-2)", attempt(os.pread, rw, 1, LLONG_MAX - 1), b"")
    check("pread(0, 2**63-1)", attempt(os.pread, rw, 0, LLONG_MAX), b"")
    # offset + count overflows loff_t: the kernel refuses it (rw_verify_area)
    # before the file system sees it.
    check("pread(10, 2**63-1)", attempt(os.pread, rw, 10, LLONG_MAX), {"EINVAL", "EOVERFLOW", b""})
    check("pread(10, 2**63-2)", attempt(os.pread, rw, 10, LLONG_MAX - 1), {"EINVAL", "EOVERFLOW", b""})
    check("pread(10, -1)", attempt(os.pread, rw, 10, -1), "EINVAL")
    check("pread(10, -2**63)", attempt(os.pread, rw, 10, -2**63), "EINVAL")

    # Writes of nothing succeed anywhere, and change nothing.
    for off in [0, L0, cap - 1, cap, cap + 1, 2**32, 2**62, LLONG_MAX]:
        check("pwrite(0 bytes, %d)" % off, attempt(os.pwrite, rw, b"", off), 0)
    check("append of 0 bytes", attempt(os.write, app, b""), 0)

    # Writes that start at or past the capacity: ENOSPC, nothing stored.
    for off in [cap, cap + 1, 2 * cap, 2**31, 2**32, 2**62]:
        check("pwrite(1 byte, %d)" % off, attempt(os.pwrite, rw, b"x", off), "ENOSPC")
        check("pwrite(page, %d)" % off, attempt(os.pwrite, rw, content[:PAGE], off), "ENOSPC")
    # The last byte the kernel lets through: the file system refuses it. Past
    # that, offset + count overflows and the kernel refuses it itself.
    check("pwrite(1 byte, 2**63-2)", attempt(os.pwrite, rw, b"x", LLONG_MAX - 1),
          {"ENOSPC", "EFBIG", "EINVAL"})
    check("pwrite(1 byte, 2**63-1)", attempt(os.pwrite, rw, b"x", LLONG_MAX), {"EINVAL", "EFBIG", "ENOSPC"})
    check("pwrite(page, 2**63-1 - 10)", attempt(os.pwrite, rw, content[:PAGE], LLONG_MAX - 10),
          {"EINVAL", "EFBIG", "ENOSPC"})
    check("pwrite(1 byte, -1)", attempt(os.pwrite, rw, b"x", -1), "EINVAL")
    check("pwrite(1 byte, -2**63)", attempt(os.pwrite, rw, b"x", -2**63), "EINVAL")

    # Python refuses offsets outside a signed 64-bit loff_t and counts larger
    # than the buffer; ctypes passes them. An offset of 2**64-1 is -1 to the
    # kernel; a count the process cannot hold fails access_ok (EFAULT) before
    # the file system sees it.
    buf = ctypes.create_string_buffer(b"y" * 16)
    check("ctypes pwrite(1, 2**64-1)", c_result(libc.pwrite(rw, buf, 1, ctypes.c_int64(-1).value)), "EINVAL")
    check("ctypes pwrite(1, 2**63)", c_result(libc.pwrite(rw, buf, 1, -2**63)), "EINVAL")
    check("ctypes pwrite(2**63, 0)", c_result(libc.pwrite(rw, buf, 2**63, 0)), {"EFAULT", "EINVAL"})
    check("ctypes pwrite(2**64-1, 0)", c_result(libc.pwrite(rw, buf, 2**64 - 1, 0)), {"EFAULT", "EINVAL"})
    check("ctypes pread(2**63, 0)", c_result(libc.pread(rw, buf, 2**63, 0)), {"EFAULT", "EINVAL"})
    check("ctypes pread(16, 2**64-1)", c_result(libc.pread(rw, buf, 16, -1)), "EINVAL")
    check("ctypes lseek(2**63)", c_result(libc.lseek(rw, -2**63, os.SEEK_SET)), "EINVAL")
    check("ctypes ftruncate(2**64-1)", c_result(libc.ftruncate(rw, -1)), "EINVAL")
    check("ctypes truncate(2**63)", c_result(libc.truncate(path.encode(), -2**63)), "EINVAL")

    # lseek past everything, then read and write there.
    check("lseek(2**63-1)", attempt(os.lseek, rw, LLONG_MAX, os.SEEK_SET), LLONG_MAX)
    check("read at 2**63-1", attempt(os.read, rw, 10), {"EINVAL", "EOVERFLOW", b""})
    check("write at 2**63-1", attempt(os.write, rw, b"z"), {"EINVAL", "EFBIG", "ENOSPC"})
    check("lseek(2**62)", attempt(os.lseek, rw, 2**62, os.SEEK_SET), 2**62)
    check("read at 2**62", attempt(os.read, rw, 10), b"")
    check("write at 2**62", attempt(os.write, rw, b"z"), "ENOSPC")
    check("lseek(-1)", attempt(os.lseek, rw, -1, os.SEEK_SET), "EINVAL")
    check("lseek(-length-1, SEEK_END)", attempt(os.lseek, rw, -L0 - 1, os.SEEK_END), "EINVAL")
    check("lseek(0, SEEK_END)", attempt(os.lseek, rw, 0, os.SEEK_END), L0)

    # Up to the capacity exactly.
    check("pwrite(2 bytes, cap-1)", attempt(os.pwrite, rw, content[cap - 1:] + b"!", cap - 1),
          m.write(cap - 1, content[cap - 1:] + b"!"))
    same("pwrite(2 bytes, cap-1) stores 1", len(m), cap)
    check("pread(10, cap-1) of a full zone", attempt(os.pread, rw, 10, cap - 1), content[cap - 1:])
    check("pread(10, cap) of a full zone", attempt(os.pread, rw, 10, cap), b"")
    check("append to a full zone", attempt(os.write, app, b"a"), "ENOSPC")
    check("pwrite(1 byte, cap-1) of a full zone", attempt(os.pwrite, rw, b"q", cap - 1), m.write(cap - 1, b"q"))
    check("pwrite(cap, 0)", attempt(os.pwrite, rw, content, 0), m.write(0, content))
    check("pwrite(2*cap, 0)", attempt(os.pwrite, rw, content + content, 0), cap)
    check("lseek(cap-1) + write(3 bytes)", (os.lseek(rw, cap - 1, os.SEEK_SET),
                                            attempt(os.write, rw, b"abc"),
                                            os.lseek(rw, 0, os.SEEK_CUR)), (cap - 1, m.write(cap - 1, b"abc"), cap))
    check("write at the capacity", attempt(os.write, rw, b"d"), "ENOSPC")

    # Truncate: to the capacity and no further.
    for length in [cap + 1, 2 * cap, 2**31, 2**32, 2**62, LLONG_MAX]:
        check("ftruncate(%d)" % length, attempt(os.ftruncate, rw, length), "EFBIG")
        check("truncate(%d)" % length, attempt(os.truncate, path, length), "EFBIG")
    check("ftruncate(-1)", attempt(os.ftruncate, rw, -1), "EINVAL")
    check("truncate(-1)", attempt(os.truncate, path, -1), "EINVAL")
    check("ftruncate(-2**63)", attempt(os.ftruncate, rw, -2**63), "EINVAL")
    check("truncate(cap)", attempt(os.truncate, path, cap), m.truncate(cap))
    check("ftruncate(cap-1)", attempt(os.ftruncate, rw, cap - 1), m.truncate(cap - 1))
    check("ftruncate(cap)", attempt(os.ftruncate, rw, cap), m.truncate(cap))
    same("the last byte after shrink and grow", m.data[-1], 0)
    check("ftruncate(1)", attempt(os.ftruncate, rw, 1), m.truncate(1))
    check("truncate(cap) of a one-byte zone", attempt(os.truncate, path, cap), m.truncate(cap))
    check("ftruncate(0)", attempt(os.ftruncate, rw, 0), m.truncate(0))
    check("pread(cap, 0) of an empty zone", attempt(os.pread, rw, cap, 0), b"")
    check("append to an empty zone", attempt(os.write, app, content[:5]), m.append(content[:5]))
    check("pwrite(page, cap-PAGE)", attempt(os.pwrite, rw, content[:PAGE], cap - PAGE), m.write(cap - PAGE, content[:PAGE]))
    check("append of 2 to a full zone", attempt(os.write, app, b"zz"), "ENOSPC")
    check("ftruncate(cap-1) then append 2", (attempt(os.ftruncate, rw, cap - 1), attempt(os.write, app, b"zz")),
          (m.truncate(cap - 1), m.append(b"zz")))
    same("that append stored 1", len(m), cap)

    # Leave the zone holding content the final check can recognise.
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    m.truncate(0)
    check("write after O_TRUNC", attempt(os.write, fd, content[:L0]), m.write(0, content[:L0]))
    os.close(fd)
    os.close(rw)
    os.close(app)
    print("%d edge checks; sha256 %s" % (steps, hashlib.sha256(m.data).hexdigest()))
    return 0


# ------------------------------------------------------------ concurrency

def region_writer(seed, i, path, lo, hi, cap, ops, out):
    """Random pwrite/pread inside [lo, hi) of a zone whose length is cap."""
    rng = random.Random("%s:region:%d" % (seed, i))
    model = bytearray(hi - lo)
    pool = rng.randbytes(2 * (hi - lo) + PAGE)
    fd = os.open(path, os.O_RDWR)
    for step in range(ops):
        off = lo + rng.choice([0, 1, hi - lo - 1, rng.randrange(0, hi - lo), rng.randrange(0, hi - lo, PAGE)])
        room = hi - off
        n = min(room, rng.choice([1, rng.randrange(0, 64), rng.randrange(0, 3 * PAGE), room]))
        if hi == cap:
            n += rng.choice([0, 0, 1, PAGE])  # the last region may run past the capacity
        if rng.random() < 0.5:
            start = rng.randrange(0, len(pool) - n + 1)
            buf = pool[start:start + n]
            k = min(n, cap - off)
            same("writer %d step %d: pwrite(%d bytes, %d)" % (i, step, n, off),
                 attempt(os.pwrite, fd, buf, off), k)
            model[off - lo:off - lo + k] = buf[:k]
        else:
            n = min(n, room)  # reads stay inside the region too
            same("writer %d step %d: pread(%d, %d)" % (i, step, n, off),
                 attempt(os.pread, fd, n, off), bytes(model[off - lo:off - lo + n]))
        if step % 64 == 0:
            same("writer %d step %d: st_size" % (i, step), os.fstat(fd).st_size, cap)
    os.close(fd)
    with open(out, "wb") as f:
        f.write(model)


def appender(seed, path, cap, ops, out):
    """The only writer of its zone: appends until full, checks, O_TRUNC, again."""
    rng = random.Random("%s:appender" % seed)
    m = Model(cap)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_TRUNC)
    for step in range(ops):
        buf = rng.randbytes(rng.choice([1, rng.randrange(0, 100), rng.randrange(0, 3 * PAGE)]))
        want = m.append(buf)
        same("appender step %d: append(%d bytes) at length %d" % (step, len(buf), len(m)),
             attempt(os.write, fd, buf), want)
        if want == "ENOSPC" or rng.random() < 0.02:
            same("appender step %d: content" % step, read_all(path), m.data)
            if rng.random() < 0.8:
                os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
                m.truncate(0)
    os.close(fd)
    with open(out, "wb") as f:
        f.write(m.data)


def run_children(jobs):
    """Runs each (function, args) in a child process; all must succeed."""
    pids = {}
    for fn, args in jobs:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fn(*args)
                code = 0
            except Mismatch as e:
                print("MISMATCH: %s" % e, file=sys.stderr)
            except BaseException as e:  # report anything, then exit 1
                print("%s: %r" % (fn.__name__, e), file=sys.stderr)
            finally:
                sys.stderr.flush()
                os._exit(code)
        pids[pid] = fn.__name__
    failed = 0
    for pid, name in pids.items():
        _, status = os.waitpid(pid, 0)
        if status != 0:
            print("%s (pid %d) failed: status %#x" % (name, pid, status), file=sys.stderr)
            failed += 1
    return failed


def concurrent(seed, ops, path, cap, apath, acap, tmp):
    # The zone is full length first, so that no writer changes the length and
    # each region's bytes depend on its own writer only. The boundaries are
    # deliberately not page aligned.
    os.truncate(path, 0)
    os.truncate(path, cap)
    quarter = cap // 4
    bounds = [0, quarter + 333, 2 * quarter - 777, 3 * quarter + 1, cap]
    jobs = []
    for i in range(4):
        jobs.append((region_writer, (seed, i, path, bounds[i], bounds[i + 1], cap, ops,
                                     "%s/region%d" % (tmp, i))))
    jobs.append((appender, (seed, apath, acap, ops, "%s/appended" % tmp)))
    if run_children(jobs):
        return 1
    content = read_all(path)
    try:
        same("st_size of the shared zone", os.stat(path).st_size, cap)
        for i in range(4):
            with open("%s/region%d" % (tmp, i), "rb") as f:
                want = f.read()
            same("region %d [%d, %d)" % (i, bounds[i], bounds[i + 1]),
                 content[bounds[i]:bounds[i + 1]], want)
        with open("%s/appended" % tmp, "rb") as f:
            want = f.read()
        same("the appended zone", read_all(apath), want)
    except Mismatch as e:
        print("MISMATCH: %s" % e, file=sys.stderr)
        return 1
    print("4 writers and an appender, %d operations each: every region matches" % ops)
    return 0


def record_appender(seed, i, path, count, most):
    """Appends records "<i>:<seq>:<len>:<payload>\\n" through O_APPEND."""
    rng = random.Random("%s:records:%d" % (seed, i))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    for seq in range(count):
        payload = bytes([ord("a") + i]) * rng.randrange(0, most)
        rec = b"%d:%d:%d:%s\n" % (i, seq, len(payload), payload)
        same("appender %d record %d" % (i, seq), attempt(os.write, fd, rec), len(rec))
    os.close(fd)


def appenders(seed, path, cap):
    """Two processes append whole records: none may overwrite or split another."""
    os.truncate(path, 0)
    # Each record is a header and at most MOST bytes; stay below the capacity.
    most = min(2 * PAGE, cap // 64)
    count = max(1, cap // (2 * (most + 32)))
    if run_children([(record_appender, (seed, i, path, count, most)) for i in range(2)]):
        return 1
    data = read_all(path)
    pos, nxt = 0, [0, 0]
    try:
        while pos < len(data):
            i, seq, n, rest = data[pos:].split(b":", 3)
            i, seq, n = int(i), int(seq), int(n)
            hdr = len(b"%d:%d:%d:" % (i, seq, n))
            same("record at %d: appender %d sequence" % (pos, i), seq, nxt[i])
            same("record at %d: payload" % pos, rest[:n + 1], bytes([ord("a") + i]) * n + b"\n")
            nxt[i] += 1
            pos += hdr + n + 1
        same("records of each appender", nxt, [count, count])
    except (Mismatch, ValueError) as e:
        print("MISMATCH: appended records: %s" % e, file=sys.stderr)
        return 1
    print("2 appenders x %d records, %d bytes, none split" % (count, len(data)))
    return 0


def reader_writer(seed, i, path, iters):
    """Writes 100 bytes into its own page and reads them straight back."""
    rng = random.Random("%s:readback:%d" % (seed, i))
    off = PAGE * (i + 1) + 10
    fd = os.open(path, os.O_RDWR)
    wrong = []
    before = bytes(100)
    for k in range(iters):
        data = rng.randbytes(100)
        same("process %d iteration %d: pwrite(100, %d)" % (i, k, off), attempt(os.pwrite, fd, data, off), 100)
        got = os.pread(fd, 100, off)
        if got != data:
            wrong.append("iteration %d: pread(100, %d) got %s%s, expected %s (the next read: %s)" % (
                k, off, show(got), " (the bytes before this write)" if got == before else "",
                show(data), "right" if os.pread(fd, 100, off) == data else "still wrong"))
        before = data
    os.close(fd)
    if wrong:
        raise Mismatch("process %d: %d of %d reads right after its own pwrite were wrong; first: %s" % (
            i, len(wrong), iters, "; ".join(wrong[:3])))


def readback(seed, path, cap, nproc, iters):
    """NPROC processes, each on its own page of a full-length zone (page
    aligned, adjacent): every read right after a write must return it."""
    os.truncate(path, 0)
    os.truncate(path, cap)
    if run_children([(reader_writer, (seed, i, path, iters)) for i in range(nproc)]):
        return 1
    print("%d processes x %d write-then-read on adjacent pages: all read back" % (nproc, iters))
    return 0


def main(argv):
    cmd = argv[1]
    try:
        if cmd == "random":
            return Random(argv[2], argv[4], int(argv[5]), argv[6] == "holes").run(int(argv[3]))
        if cmd == "edges":
            return edges(argv[2], argv[3], int(argv[4]))
        if cmd == "sha":
            print(hashlib.sha256(read_all(argv[2])).hexdigest())
            return 0
        if cmd == "concurrent":
            return concurrent(argv[2], int(argv[3]), argv[4], int(argv[5]), argv[6], int(argv[7]), argv[8])
        if cmd == "appenders":
            return appenders(argv[2], argv[3], int(argv[4]))
        if cmd == "readback":
            return readback(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    except Mismatch as e:
        print("MISMATCH: %s" % e, file=sys.stderr)
        return 1
    sys.exit("model.py: unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
PY

# ------------------------------------------------------------ the daemon

# Workers and master as they are now; the edge tests must not change them.
daemon_processes() {
	echo "$DAEMON_PID $(worker_pids "$DAEMON_PID" | sort -n | xargs)"
}

daemon_is_healthy() {
	pid_alive "$DAEMON_PID" || fail "the daemon (pid $DAEMON_PID) died"
	assert_mounted "$MNT"
	assert_eq "$PROCESSES" "$(daemon_processes)" "master and workers"
	if grep -E 'killed by signal|exited with status|recovered' "$DAEMON_LOG"; then
		fail "a worker died; the daemon's log: $(cat "$DAEMON_LOG")"
	fi
}

# ------------------------------------------------------------ the tests

# Zones with a file tell holes from data (as root, anon and devzero too);
# sysv segments have none, so every byte below the length is data.
for z in $ZONES; do
	fn=random_operations_match_the_model_on_${z//-/_}
	holes=holes
	[[ $z != sysv-* ]] || holes=none
	eval "$fn() { python3 \"\$MODEL\" random \"\$SEED\" \"\$OPS\" \"\$MNT/$z\" ${CAPACITY[$z]} $holes; }"
done

# Each zone in turn gets the exact-result edge requests (ctypes and huge
# offsets included) and is left holding bytes whose sha256 is recorded.
edge_offsets_and_lengths_give_exact_results() {
	local z out
	: >"$WORK/edge-sha256"
	for z in $ZONES; do
		out=$(python3 "$MODEL" edges "$SEED" "$MNT/$z" "${CAPACITY[$z]}")
		echo "$z: $out"
		echo "$z ${out##* }" >>"$WORK/edge-sha256"
		daemon_is_healthy
	done
}

# Afterwards the daemon and its workers are the same processes, and no zone's
# requests changed another zone: each still holds what its own run left.
the_daemon_survived_the_edges_and_every_zone_is_intact() {
	local z sha
	daemon_is_healthy
	assert_eq "$(wc -w <<<"$ZONES")" "$(wc -l <"$WORK/edge-sha256")" "zones checked"
	while read -r z sha; do
		assert_eq "$sha  -" "$(cat "$MNT/$z" | sha256sum)" "sha256 of $z"
	done <"$WORK/edge-sha256"
}

four_writers_on_disjoint_regions_and_an_appender_match_their_models() {
	mkdir -p "$WORK/c1" "$WORK/c2"
	echo "regions of big-1m (direct), appends to sysv-page-64k:"
	python3 "$MODEL" concurrent "$SEED" 1500 "$MNT/big-1m" "${CAPACITY[big-1m]}" \
		"$MNT/sysv-page-64k" "${CAPACITY[sysv-page-64k]}" "$WORK/c1"
	echo "regions of sysv-page-64k (page), appends to sysv-direct-12k:"
	python3 "$MODEL" concurrent "$SEED:page" 1500 "$MNT/sysv-page-64k" \
		"${CAPACITY[sysv-page-64k]}" "$MNT/sysv-direct-12k" \
		"${CAPACITY[sysv-direct-12k]}" "$WORK/c2"
	daemon_is_healthy
}

two_appenders_never_split_or_overwrite_each_others_records() {
	python3 "$MODEL" appenders "$SEED" "$MNT/big-1m" "${CAPACITY[big-1m]}"
	python3 "$MODEL" appenders "$SEED:page" "$MNT/sysv-page-64k" \
		"${CAPACITY[sysv-page-64k]}"
}

# Four processes, each writing its own page and reading it straight back,
# while the others do the same on the pages next to it: a read must never
# return what was there before the process's own write, in either cache mode.
own_writes_read_back_while_others_write_nearby_pages_page_cache() {
	python3 "$MODEL" readback "$SEED" "$MNT/sysv-page-64k" \
		"${CAPACITY[sysv-page-64k]}" 4 10000
}

own_writes_read_back_while_others_write_nearby_pages_direct() {
	python3 "$MODEL" readback "$SEED" "$MNT/anon-direct-64k" \
		"${CAPACITY[anon-direct-64k]}" 4 10000
}

the_daemon_and_its_workers_are_all_still_alive() {
	daemon_is_healthy
}

mount_or_bail -w 4 "$CONF" "$MNT"
PROCESSES=$(daemon_processes)

for z in $ZONES; do
	run_test "random_operations_match_the_model_on_${z//-/_}"
done
run_test edge_offsets_and_lengths_give_exact_results
run_test the_daemon_survived_the_edges_and_every_zone_is_intact
run_test four_writers_on_disjoint_regions_and_an_appender_match_their_models
run_test two_appenders_never_split_or_overwrite_each_others_records
run_test own_writes_read_back_while_others_write_nearby_pages_page_cache
run_test own_writes_read_back_while_others_write_nearby_pages_direct
run_test the_daemon_and_its_workers_are_all_still_alive
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
