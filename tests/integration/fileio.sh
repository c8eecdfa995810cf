#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fileio.sh -- the rest of POSIX file I/O, on every kind of zone (each
# backend, each cache mode, the shared objects): fallocate (allocate, keep
# size, punch hole, zero range, past the capacity), lseek SEEK_DATA and
# SEEK_HOLE, copy_file_range between zones and within one (and cp, which
# uses it), a full zone (ENOSPC where the daemon answers), and df -i, which
# must not read 100 % used.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
POSIX_NAME=/shmfs-fileio-$$
SYSV_KEY=$(printf '0x5f31%04x' $(($$ & 0xffff)))
CAP=$((1 << 20))

extra_cleanup() {
	rm -f "/dev/shm$POSIX_NAME"
	ipcrm -M "$SYSV_KEY" 2>/dev/null || true
}

cat >"$CONF" <<EOF
[shmfs]
workers = 2
mode    = 0666

[zone:anon]
size = 1M
[zone:devzero]
size = 1M
backend = devzero
[zone:sysv]
size = 1M
backend = sysv
[zone:memfd]
size = 1M
backend = memfd
[zone:direct]
size = 1M
cache = direct
[zone:pt]
size = 1M
cache = passthrough
[zone:posix]
size = 1M
backend = posix
name = $POSIX_NAME
[zone:keyed]
size = 1M
backend = sysv
key = $SYSV_KEY
[zone:file]
size = 1M
backend = file
path = $WORK/file.bin
EOF
ZONES="anon devzero sysv memfd direct pt posix keyed file"
FIXED="pt posix keyed file" # as long as their memory from the start
NOFILE="sysv keyed"         # no file to ask for holes: all data

is_fixed() { [[ " $FIXED " == *" $1 "* ]]; }
has_file() { [[ " $NOFILE " != *" $1 "* ]]; }

# reset ZONE: every byte zero, every page given back; a growable zone
# is made 1 MiB long again (a hole), a fixed one is that already.
reset() {
	: >"$MNT/$1"
	is_fixed "$1" || truncate -s "$CAP" "$MNT/$1"
}

blocks_of() {
	stat -c %b "$MNT/$1"
}

mount_or_bail -w 2 "$CONF" "$MNT"

fallocate_allocates_and_extends_in_every_zone() {
	local z
	for z in $ZONES; do
		: >"$MNT/$z"
		fallocate -l 8192 "$MNT/$z"
		if is_fixed "$z"; then
			assert_eq "$CAP" "$(file_size "$MNT/$z")" "$z: size"
			assert_fails_with ENOSPC fallocate -l 2M "$MNT/$z"
		else
			assert_eq 8192 "$(file_size "$MNT/$z")" "$z: size"
			fallocate -n -l 65536 "$MNT/$z"
			assert_eq 8192 "$(file_size "$MNT/$z")" "$z: kept size"
			assert_fails_with ENOSPC fallocate -l 2M "$MNT/$z"
			assert_fails_with ENOSPC fallocate -n -o 1M -l 1 "$MNT/$z"
		fi
		assert_eq "$(zeros 8192 | sha1sum)" \
			"$(head -c 8192 "$MNT/$z" | sha1sum)" "$z: zeros"
	done
}

punching_a_hole_zeroes_it_and_gives_pages_back_in_every_zone() {
	local z before after
	for z in $ZONES; do
		reset "$z"
		head -c 65536 /dev/zero | tr '\0' x |
			dd of="$MNT/$z" conv=notrunc status=none
		before=$(blocks_of "$z")
		fallocate -p -o 4096 -l 32768 "$MNT/$z"
		assert_eq "$CAP" "$(file_size "$MNT/$z")" "$z: size kept"
		assert_eq "$( (head -c 4096 /dev/zero | tr '\0' x
			zeros 32768
			head -c 28672 /dev/zero | tr '\0' x) | sha1sum)" \
			"$(head -c 65536 "$MNT/$z" | sha1sum)" "$z: bytes"
		after=$(blocks_of "$z")
		if has_file "$z"; then
			((after <= before - 64)) ||
				fail "$z: st_blocks $before -> $after: pages not freed"
		fi
	done
}

zeroing_a_range_extends_the_length_unless_kept() {
	local z
	for z in $ZONES; do
		: >"$MNT/$z"
		printf 'abcdefgh' >"$MNT/$z"
		fallocate -z -o 4 -l 10000 "$MNT/$z"
		if is_fixed "$z"; then
			assert_eq "$CAP" "$(file_size "$MNT/$z")" "$z: size"
		else
			assert_eq 10004 "$(file_size "$MNT/$z")" "$z: size"
		fi
		assert_eq "abcd" "$(head -c 4 "$MNT/$z")" "$z: head kept"
		assert_eq 0 "$(head -c 10004 "$MNT/$z" | tail -c 10000 | tr -d '\0' | wc -c)" \
			"$z: zeroed bytes"
		fallocate -z -n -o 0 -l 512K "$MNT/$z"
		is_fixed "$z" || assert_eq 10004 "$(file_size "$MNT/$z")" "$z: kept"
		assert_eq 0 "$(head -c 4 "$MNT/$z" | tr -d '\0' | wc -c)" \
			"$z: zeroed head"
		assert_fails_with ENOSPC fallocate -z -o 0 -l 2M "$MNT/$z"
	done
}

seek_data_and_seek_hole_find_the_written_pages() {
	local z
	for z in $ZONES; do
		reset "$z"
		assert_eq 1 "$(fsop pwrite "$MNT/$z" 65536 1)" "$z: pwrite"
		if has_file "$z"; then
			assert_eq 65536 "$(fsop seek_data "$MNT/$z" 0)" "$z: data"
			assert_eq $((65536 + PAGE_SIZE)) \
				"$(fsop seek_hole "$MNT/$z" 65536)" "$z: hole"
			assert_eq ENXIO "$(fsop seek_data "$MNT/$z" $((65536 + PAGE_SIZE)))" \
				"$z: no data after"
			fallocate -p -o 65536 -l "$PAGE_SIZE" "$MNT/$z"
			assert_eq ENXIO "$(fsop seek_data "$MNT/$z" 0)" "$z: punched"
		else
			assert_eq 0 "$(fsop seek_data "$MNT/$z" 0)" "$z: data"
			assert_eq "$CAP" "$(fsop seek_hole "$MNT/$z" 0)" "$z: hole"
		fi
		assert_eq ENXIO "$(fsop seek_data "$MNT/$z" "$CAP")" "$z: at the end"
	done
}

copy_file_range_copies_between_and_within_zones() {
	local z prev=file
	head -c 300000 /dev/urandom >"$WORK/random"
	for z in $ZONES; do
		dd if="$WORK/random" of="$MNT/$prev" conv=notrunc status=none
		reset "$z"
		assert_eq 300000 "$(fsop copy "$MNT/$prev" "$MNT/$z" 0 4096 300000)" \
			"$prev -> $z"
		cmp -s <(head -c 300000 "$WORK/random") \
			<(tail -c +4097 "$MNT/$z" | head -c 300000) ||
			fail "$prev -> $z: bytes differ"
		# Within one zone, apart; overlapping ranges are EINVAL.
		assert_eq 1000 "$(fsop copy "$MNT/$z" "$MNT/$z" 4096 500000 1000)" \
			"$z -> $z"
		cmp -s <(head -c 1000 "$WORK/random") \
			<(tail -c +500001 "$MNT/$z" | head -c 1000) ||
			fail "$z -> $z: bytes differ"
		assert_eq EINVAL "$(fsop copy "$MNT/$z" "$MNT/$z" 0 100 1000)" \
			"$z: overlapping"
		prev=$z
	done
}

copy_file_range_reaches_the_daemon_as_one_request() {
	local before after
	dd if=/dev/urandom of="$MNT/anon" bs=1M count=1 status=none
	: >"$MNT/direct"
	before=$(awk '$1 == "zone.direct.writes" { print $2 }' "$MNT/.stats")
	assert_eq "$CAP" "$(fsop copy "$MNT/anon" "$MNT/direct" 0 0 "$CAP")"
	after=$(awk '$1 == "zone.direct.writes" { print $2 }' "$MNT/.stats")
	# 1 MiB through read and write would be at least 8 write requests.
	((after - before <= 1)) || fail "writes counted: $before -> $after"
	assert_same_content "$MNT/anon" "$MNT/direct"
}

cp_copies_a_zone_with_copy_file_range() {
	local trace=$WORK/cp.trace
	dd if=/dev/urandom of="$MNT/memfd" bs=1M count=1 status=none
	strace -f -o "$trace" -e trace=copy_file_range cp "$MNT/memfd" "$MNT/posix"
	assert_same_content "$MNT/memfd" "$MNT/posix"
	grep -Eq 'copy_file_range\(.*= [1-9]' "$trace" ||
		fail "cp did not use copy_file_range: $(cat "$trace")"
}

# A full zone is ENOSPC wherever the daemon answers, fixed-size or not
# (cp says "No space left on device", as on a full tmpfs); only a
# passthrough zone's writes are the kernel's, which answers its memfd's
# seal: EPERM.
a_full_zone_answers_enospc_unless_the_kernel_serves_it() {
	local z want cache
	for z in $ZONES; do
		cache=$(awk -v k="zone.$z.cache" '$1 == k { print $2 }' "$MNT/.stats")
		want=ENOSPC
		[[ $cache != passthrough ]] || want=EPERM
		reset "$z"
		assert_eq "$CAP" "$(fsop pwrite "$MNT/$z" 0 "$CAP")" "$z: fill"
		assert_eq "$want" "$(fsop pwrite "$MNT/$z" "$CAP" 1)" \
			"$z ($cache): a write at the capacity"
		assert_eq 100 "$(fsop pwrite "$MNT/$z" $((CAP - 100)) 200)" \
			"$z: a write across the capacity stores what fits"
		[[ $want == ENOSPC ]] || continue
		head -c $((CAP + 1)) /dev/zero >"$WORK/big"
		assert_fails_with ENOSPC cp "$WORK/big" "$MNT/$z"
	done
}

df_i_does_not_read_100_percent() {
	local use
	use=$(df --output=ipcent "$MNT" | tail -n 1 | tr -d ' ')
	[[ $use != 100% ]] || fail "df -i reads $use"
}

run_test fallocate_allocates_and_extends_in_every_zone
run_test punching_a_hole_zeroes_it_and_gives_pages_back_in_every_zone
run_test zeroing_a_range_extends_the_length_unless_kept
run_test seek_data_and_seek_hole_find_the_written_pages
run_test copy_file_range_copies_between_and_within_zones
run_test copy_file_range_reaches_the_daemon_as_one_request
run_test cp_copies_a_zone_with_copy_file_range
run_test a_full_zone_answers_enospc_unless_the_kernel_serves_it
run_test df_i_does_not_read_100_percent
run_test_here unmount_stops_the_daemon_with_status_0
run_test nothing_is_left_behind
finish
