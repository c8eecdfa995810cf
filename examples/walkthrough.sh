#!/bin/bash
# SPDX-License-Identifier: MIT
#
# walkthrough.sh -- a short tour of shmfs: write a configuration, check it,
# mount it, use the zones with ordinary tools, and unmount. Run it as root
# (or as a user who may use fusermount3):
#
#     SHMFS=build/src/shmfs examples/walkthrough.sh
#
# Everything happens in a temporary directory that is removed at the end.
set -euo pipefail

SHMFS=${SHMFS:-shmfs}
dir=$(mktemp -d)
mnt=$dir/mnt
conf=$dir/shmfs.ini

# Whatever happens, leave nothing mounted and nothing on disk.
cleanup() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT

step() {
	printf '\n==> %s\n' "$*"
}

# Prints a command, then runs it.
run() {
	printf '$ %s\n' "$*"
	"$@"
}

step "1. Write a configuration: two zones, each a file in the mount"
cat >"$conf" <<'INI'
[shmfs]
workers = 2          ; worker processes serving the mount

[zone:notes]
size = 64K           ; capacity; the file starts empty

[zone:cache]
size    = 1M
backend = devzero    ; anon (default), devzero or sysv
mode    = 0640
INI
cat "$conf"

step "2. Check it: shmfs -t prints the zone table and exits"
run "$SHMFS" -t -c "$conf"

step "3. Mount it; the command returns once the mount is live"
mkdir "$mnt"
run "$SHMFS" -c "$conf" "$mnt"
run ls -l "$mnt"

step "4. Write into a zone with dd and read it back with cat"
head -c 65536 /dev/urandom >"$dir/random"
run dd if="$dir/random" of="$mnt/cache" bs=4K status=none
run cmp "$dir/random" "$mnt/cache"
echo "hello from shared memory" >"$mnt/notes"
run cat "$mnt/notes"

step "5. truncate sets the length; growing reads back zeros"
run truncate -s 5 "$mnt/notes"
run cat "$mnt/notes"
echo
run truncate -s 64 "$mnt/notes"
run od -c "$mnt/notes"

step "6. A zone holds at most its capacity: what fits is stored, then ENOSPC"
printf '$ head -c 100K /dev/zero >%s\n' "$mnt/notes"
if { head -c 100K /dev/zero >"$mnt/notes"; } 2>&1; then
	echo "unexpected: 100K fitted in a 64K zone" >&2
	exit 1
fi
run ls -l "$mnt"

step "7. df shows the capacity of all zones and what is free"
run df -h "$mnt"

step "8. Unmount; the daemon frees the zones and exits"
run fusermount3 -u "$mnt"
if mountpoint -q "$mnt"; then
	echo "still mounted" >&2
	exit 1
fi
echo "done"
