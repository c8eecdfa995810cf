#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nginx.sh -- backend = process on a real nginx (Debian's nginx-light),
# started here on 127.0.0.1 with its own prefix, pid file and temp paths,
# master_process on, two limit_req zones: both found by name, at their
# sizes; their bytes change as requests go through limit_req and equal
# what root reads through map_files; writes are refused; nginx -s reload
# keeps them; nginx -s stop detaches them and the daemon lets go of their
# memory; a new nginx is attached again, without a remount.
# Tests are functions that run_test calls by name.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || skip_or_fail "no nginx (scripts/deps.sh --test installs nginx-light)"
command -v curl >/dev/null || skip_or_fail "no curl"

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
NG=$WORK/nginx
PIDFILE=$NG/nginx.pid
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

extra_cleanup() {
	local pid
	pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
	# Its workers first: once the master is gone they are init's.
	pkill -KILL -P "$pid" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
}

mkdir -p "$NG/logs" "$NG/tmp"
cat >"$NG/nginx.conf" <<EOF
daemon on;
master_process on;
worker_processes 2;
pid $PIDFILE;
error_log $NG/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    limit_req_zone \$binary_remote_addr zone=one:10m rate=1000r/s;
    limit_req_zone \$binary_remote_addr zone=two:2m rate=1000r/s;
    server {
        listen 127.0.0.1:$PORT;
        # A content handler: "return" would answer before limit_req runs.
        location = /one { limit_req zone=one burst=1000; empty_gif; }
        location = /two { limit_req zone=two burst=1000; empty_gif; }
    }
}
EOF

nginx_ctl() {
	"$NGINX" -p "$NG" -c "$NG/nginx.conf" "$@" 2>>"$NG/ctl.log"
}

nginx_pid() {
	cat "$PIDFILE" 2>/dev/null
}

nginx_is_up() {
	local pid
	pid=$(nginx_pid) && pid_alive "$pid" &&
		curl -fs "http://127.0.0.1:$PORT/one" >/dev/null
}

nginx_ctl || skip_or_fail "nginx does not start: $(cat "$NG/ctl.log")"
wait_until "$DEADLINE" nginx_is_up || fail "nginx is not up: $(cat "$NG/ctl.log")" || exit 1

cat >"$CONF" <<EOF
[shmfs]
workers = 2

[zone:one]
backend = process
process = $PIDFILE
match   = limit_req zone "one"

[zone:two]
backend = process
process = $PIDFILE
match   = zone "two"
EOF

mount_or_bail -w 2 "$CONF" "$MNT"

# The address nginx's master maps zone NAME at (the zone file's size).
zone_address() {
	local pid
	pid=$(nginx_pid)
	sed -n "s/^zone\.$1\.object $(sed 's/[/.]/\\&/g' <<<"$PIDFILE") pid $pid \([0-9a-f-]*\) attached$/\1/p" "$MNT/.stats"
}

attached_to() {
	[[ -n $(zone_address one) && -n $(zone_address two) ]]
}

detached() {
	grep -q "^zone.one.object $PIDFILE detached" "$MNT/.stats" &&
		grep -q "^zone.two.object $PIDFILE detached" "$MNT/.stats"
}

requests() {
	local i
	for ((i = 0; i < $2; i++)); do
		curl -fs "http://127.0.0.1:$PORT/$1" >/dev/null
	done
}

two_zones_are_found_by_name_at_their_sizes() {
	attached_to || fail "not attached: $(cat "$MNT/.stats")"
	assert_eq 10485760 "$(file_size "$MNT/one")" "one's size"
	assert_eq 2097152 "$(file_size "$MNT/two")" "two's size"
	grep -qa 'in limit_req zone "one"' "$MNT/one" || fail "one has no name"
	grep -qa 'in limit_req zone "two"' "$MNT/two" || fail "two has no name"
}

bytes_change_with_requests_and_equal_map_files() {
	local before after pid
	pid=$(nginx_pid)
	before=$(md5sum <"$MNT/one")
	requests one 5
	after=$(md5sum <"$MNT/one")
	[[ $before != "$after" ]] || fail "one did not change with requests"
	cmp "$MNT/one" "/proc/$pid/map_files/$(zone_address one)" ||
		fail "one differs from map_files"
	cmp "$MNT/two" "/proc/$pid/map_files/$(zone_address two)" ||
		fail "two differs from map_files"
}

writes_are_refused() {
	local sum
	sum=$(md5sum <"$MNT/one")
	printf x | dd of="$MNT/one" conv=notrunc status=none 2>/dev/null &&
		fail "a write into one succeeded"
	(: >"$MNT/one") 2>/dev/null && fail "O_TRUNC of one succeeded"
	truncate -s 0 "$MNT/one" 2>/dev/null && fail "truncate of one succeeded"
	assert_eq 10485760 "$(file_size "$MNT/one")" "one's size"
	assert_eq "$sum" "$(md5sum <"$MNT/one")" "one's bytes"
	requests one 1 # nginx serves on
}

nginx_reload_keeps_them() {
	local one two pid
	one=$(zone_address one) two=$(zone_address two) pid=$(nginx_pid)
	nginx_ctl -s reload
	wait_until "$DEADLINE" eval '[[ $(pgrep -c -P "$pid") -ge 2 ]]' || fail "no workers"
	requests two 3
	assert_eq "$one" "$(zone_address one)" "one's address after nginx -s reload"
	assert_eq "$two" "$(zone_address two)" "two's address after nginx -s reload"
	cmp "$MNT/two" "/proc/$pid/map_files/$two" || fail "two differs after the reload"
}

# Whether the daemon or a worker maps one of the inodes.
daemon_maps() {
	local pid ino
	for pid in $DAEMON_PID $(worker_pids "$DAEMON_PID"); do
		for ino in "$@"; do
			awk -v ino="$ino" '$5 == ino' "/proc/$pid/maps" | grep -q . && return 0
		done
	done
	return 1
}

nginx_stop_detaches_them_and_frees_the_memory() {
	local inodes err
	inodes=$(awk '/rw-s/ && /dev\/zero/ { print $5 }' "/proc/$(nginx_pid)/maps")
	# shellcheck disable=SC2086
	daemon_maps $inodes || fail "the daemon does not map nginx's zones"
	nginx_ctl -s stop
	wait_until "$DEADLINE" detached || fail "not detached: $(cat "$MNT/.stats")"
	# shellcheck disable=SC2086
	! daemon_maps $inodes || fail "the daemon still maps nginx's zones"
	err=$(cat "$MNT/one" 2>&1) && fail "reading one succeeded"
	assert_contains "$err" "No such device or address"
	assert_contains "$("$SHMFS" status "$MNT")" "$PIDFILE detached"
	assert_contains "$(cat "$MNT/.metrics")" "object=\"$PIDFILE detached\""
	assert_match 'shmfs_zone_attached\{zone="one"\} 0' "$(cat "$MNT/.metrics")" "metric"
}

a_new_nginx_is_attached_again() {
	nginx_ctl
	wait_until "$DEADLINE" nginx_is_up || fail "nginx is not up again"
	wait_until "$DEADLINE" attached_to || fail "not attached again: $(cat "$MNT/.stats")"
	grep -qa 'in limit_req zone "one"' "$MNT/one" || fail "one has no name"
	requests one 2
	cmp "$MNT/one" "/proc/$(nginx_pid)/map_files/$(zone_address one)" ||
		fail "one differs from map_files"
}

run_test two_zones_are_found_by_name_at_their_sizes
run_test bytes_change_with_requests_and_equal_map_files
run_test writes_are_refused
run_test nginx_reload_keeps_them
run_test_here nginx_stop_detaches_them_and_frees_the_memory
run_test_here a_new_nginx_is_attached_again
run_test_here unmount_stops_the_daemon_with_status_0
nginx_ctl -s stop || true
wait_until "$DEADLINE" eval '! nginx_pid >/dev/null' || extra_cleanup
run_test nothing_is_left_behind
finish
