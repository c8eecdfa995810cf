#!/bin/bash
# SPDX-License-Identifier: MIT
#
# observability.sh -- /.metrics and shmfs status on a real mount. /.metrics
# is parsed with the Prometheus client's own parser (Debian's
# python3-prometheus-client), never a regex, through a symlink as
# node_exporter's textfile collector reads it; its figures follow what the
# test does (N bytes written: the byte counters grow by N) and agree with
# /.stats. shmfs status draws the same figures as a table and as JSON, and
# fails with one line and its documented status when there is nothing to
# show. The special files keep their inode numbers across a reload.
# shellcheck disable=SC2012,SC2016,SC2317
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The system's python, with Debian's modules (root's python3 may be another).
PY=/usr/bin/python3
[[ -x $PY ]] || skip_or_fail "no $PY"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip_or_fail "no prometheus_client for $PY (python3-prometheus-client)"

setup
chmod 0711 "$WORK" # nobody reaches the mount

MNT=$WORK/mnt
CONF=$WORK/shmfs.ini
cat >"$CONF" <<EOF
[shmfs]
workers   = 2
log_level = info

[zone:p]
size = 1M

[zone:d]
size    = 64K
cache   = direct
backend = devzero

[zone:x.y-z_1]
size    = 8K
backend = sysv
mode    = 0640
EOF

# Prints the samples of a metrics file as the real parser reads them, one
# 'NAME{LABEL="VALUE",...} VALUE' line each (labels sorted, integral values
# without ".0"), after checking that every family has its HELP and TYPE.
cat >"$WORK/prom.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
for family in text_string_to_metric_families(text):
    if family.type not in ("counter", "gauge"):
        sys.exit("%s: type %s" % (family.name, family.type))
    if not family.documentation:
        sys.exit("%s: no HELP" % family.name)
    for s in family.samples:
        if family.type == "counter" and not s.name.endswith("_total"):
            sys.exit("counter %s does not end in _total" % s.name)
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        value = int(s.value) if s.value == int(s.value) else s.value
        print("%s{%s} %s" % (s.name, labels, value))
PY

# samples FILE: the parsed samples of a metrics file.
samples() {
	"$PY" "$WORK/prom.py" "$1"
}

# metric FILE 'NAME{LABELS}': one sample's value (fails if absent).
metric() {
	local out
	out=$(samples "$1") || return 1
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' \
		<<<"$out" || fail "no sample $2 in $1"
}

# sum_metric FILE NAME: the sum of NAME over its label sets.
sum_metric() {
	local out
	out=$(samples "$1") || return 1
	awk -v n="$2" 'index($1, n "{") == 1 { s += $2 } END { print s + 0 }' \
		<<<"$out"
}

# stats KEY: a line of /.stats
stats() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.stats"
}

# run_status ARG...: shmfs status ARG... (run_shmfs: STATUS, OUT and ERR,
# its output in $WORK/out).
run_status() {
	run_shmfs status "$@"
}

# ------------------------------------------------------------ /.metrics

metrics_is_listed_beside_stats_read_only_with_its_own_inode() {
	local listing
	listing=$(ls -a "$MNT" | tr '\n' ' ')
	assert_eq ". .. .metrics .stats d p x.y-z_1 " "$listing" "ls -a"
	assert_eq "444 regular empty file" "$(stat -c '%a %F' "$MNT/.metrics")"
	assert_eq 2 "$(stat -c %i "$MNT/.stats")" "inode of .stats"
	assert_eq 3 "$(stat -c %i "$MNT/.metrics")" "inode of .metrics"
	assert_eq "4 5 6" "$(stat -c %i "$MNT/p" "$MNT/d" "$MNT/x.y-z_1" |
		tr '\n' ' ' | sed 's/ $//')" "inodes of the zones"
	assert_fails_with EACCES bash -c 'echo x >>"$1"' _ "$MNT/.metrics"
	assert_fails_with EPERM rm -f "$MNT/.metrics"
}

metrics_parse_with_the_prometheus_parser_through_a_symlink() {
	local dir=$WORK/textfile out family
	mkdir -p "$dir"
	ln -sfn "$MNT/.metrics" "$dir/shmfs.prom"
	out=$(samples "$dir/shmfs.prom")
	for family in shmfs_start_time_seconds shmfs_uptime_seconds \
		shmfs_reloads_total shmfs_respawns_total shmfs_generation \
		shmfs_restarts_total shmfs_upgrades_total shmfs_workers \
		shmfs_worker_pid shmfs_worker_requests_total \
		shmfs_worker_errors_total shmfs_worker_written_bytes_total \
		shmfs_worker_read_bytes_total shmfs_zones shmfs_zone_info \
		shmfs_zone_capacity_bytes shmfs_zone_length_bytes \
		shmfs_zone_used_bytes shmfs_zone_reads_total \
		shmfs_zone_writes_total shmfs_zone_written_bytes_total \
		shmfs_zone_read_bytes_total; do
		grep -q "^${family}[{ ]" <<<"$out" || fail "no $family in: $out"
	done
	assert_eq 2 "$(metric "$dir/shmfs.prom" 'shmfs_workers{}')" "workers"
	assert_eq 3 "$(metric "$dir/shmfs.prom" 'shmfs_zones{}')" "zones"
	assert_eq 1 "$(metric "$dir/shmfs.prom" \
		'shmfs_zone_info{backend="sysv",cache="page",mode="0640",object="-",zone="x.y-z_1"}')" \
		"info of x.y-z_1"
	assert_eq 1 "$(metric "$dir/shmfs.prom" \
		'shmfs_zone_info{backend="devzero",cache="direct",mode="0600",object="-",zone="d"}')" \
		"info of d"
	assert_eq 1048576 "$(metric "$dir/shmfs.prom" \
		'shmfs_zone_capacity_bytes{zone="p"}')" "capacity of p"
	assert_eq $((8192 > PAGE_SIZE ? 8192 : PAGE_SIZE)) \
		"$(metric "$dir/shmfs.prom" 'shmfs_zone_capacity_bytes{zone="x.y-z_1"}')" \
		"capacity of x.y-z_1"
	# One sample per worker slot, labelled with it, holding its pid.
	local pids
	pids=$(grep '^shmfs_worker_pid{' <<<"$out" | awk '{ print $2 }' | sort)
	assert_eq "$(worker_pids "$DAEMON_PID" | sort)" "$pids" "worker pids"
	grep -q '^shmfs_worker_pid{worker="0"} ' <<<"$out" ||
		fail "no worker=\"0\" label"
}

metric_counters_follow_what_was_done() {
	local m=$MNT/.metrics n=12345 w0 z0 r0 e0
	truncate -s 0 "$MNT/d"
	w0=$(sum_metric "$m" shmfs_worker_written_bytes_total)
	z0=$(metric "$m" 'shmfs_zone_written_bytes_total{zone="d"}')
	head -c "$n" /dev/urandom | dd of="$MNT/d" bs=4096 status=none
	assert_eq $((z0 + n)) \
		"$(metric "$m" 'shmfs_zone_written_bytes_total{zone="d"}')" \
		"bytes written into d"
	assert_eq $((w0 + n)) \
		"$(sum_metric "$m" shmfs_worker_written_bytes_total)" \
		"bytes written by the workers"
	assert_eq "$n" "$(metric "$m" 'shmfs_zone_used_bytes{zone="d"}')" "used"
	assert_eq "$n" "$(metric "$m" 'shmfs_zone_length_bytes{zone="d"}')"

	r0=$(metric "$m" 'shmfs_zone_read_bytes_total{zone="d"}')
	cat "$MNT/d" >/dev/null # a direct zone: every read reaches a worker
	assert_eq $((r0 + n)) \
		"$(metric "$m" 'shmfs_zone_read_bytes_total{zone="d"}')" \
		"bytes read from d"

	e0=$(sum_metric "$m" shmfs_worker_errors_total)
	if cat "$MNT/no-such-zone-$RANDOM" 2>/dev/null; then
		fail "a zone that does not exist was read"
	fi
	(($(sum_metric "$m" shmfs_worker_errors_total) > e0)) ||
		fail "a failed lookup was not counted as an error"
}

metrics_agree_with_stats() {
	# No zone I/O between the two opens: every zone figure is the same.
	"$PY" - "$MNT/.stats" "$MNT/.metrics" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families

stats = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines())
m = {}
for f in text_string_to_metric_families(open(sys.argv[2]).read()):
    for s in f.samples:
        m[(s.name, tuple(sorted(s.labels.items())))] = s
fields = {"capacity": "shmfs_zone_capacity_bytes",
          "length": "shmfs_zone_length_bytes",
          "used": "shmfs_zone_used_bytes",
          "reads": "shmfs_zone_reads_total",
          "writes": "shmfs_zone_writes_total",
          "bytes_in": "shmfs_zone_written_bytes_total",
          "bytes_out": "shmfs_zone_read_bytes_total"}
zones = {k[5:k.rindex(".")] for k in stats if k.startswith("zone.")}
assert len(zones) == int(stats["zones"]), zones
for z in zones:
    for field, name in fields.items():
        got = m[(name, (("zone", z),))].value
        assert got == int(stats["zone.%s.%s" % (z, field)]), (z, field, got)
    info = [s for (n, _), s in m.items()
            if n == "shmfs_zone_info" and s.labels["zone"] == z]
    assert len(info) == 1, info
    for label in ("backend", "cache", "mode"):
        assert info[0].labels[label] == stats["zone.%s.%s" % (z, label)]
for g, name in (("reloads", "shmfs_reloads_total"),
                ("respawns", "shmfs_respawns_total"),
                ("generation", "shmfs_generation"),
                ("restarts", "shmfs_restarts_total"),
                ("upgrades", "shmfs_upgrades_total"),
                ("workers", "shmfs_workers"), ("zones", "shmfs_zones")):
    assert m[(name, ())].value == int(stats[g]), g
pids = {int(v) for k, v in stats.items() if k.endswith(".pid")}
assert pids == {int(s.value) for (n, _), s in m.items()
                if n == "shmfs_worker_pid"}, pids
PY
}

# ------------------------------------------------------------ shmfs status

status_draws_the_zones_as_df_would_and_the_workers() {
	local line pid
	truncate -s 0 "$MNT/p"
	head -c 262144 /dev/zero >"$MNT/p"
	run_status "$MNT"
	assert_eq 0 "$STATUS" "exit status; stderr: $ERR"
	assert_eq "" "$ERR" "stderr"
	assert_match "^shmfs on $MNT: up [0-9]+[smhd].*, 3 zones, .*2 workers" \
		"$(head -n 1 <<<"$OUT")" "summary"
	local transport=/dev/fuse
	[[ ${SHMFS_TRANSPORT:-} != uring ]] || transport=io_uring
	assert_match ", generation 1, 0 restarts, 0 upgrades, served through $transport$" \
		"$(head -n 1 <<<"$OUT")" "the masters in the summary"
	line=$(grep '^p ' <<<"$OUT") || fail "no row for p: $OUT"
	assert_match '^p +1\.0M +256K +768K +25% \[#####\.{15}\] 0600 page +anon +-$' \
		"$line" "row of p"
	line=$(grep '^x\.y-z_1 ' <<<"$OUT") || fail "no row for x.y-z_1: $OUT"
	assert_match ' 0% \[\.{20}\] 0640 page +sysv +-$' "$line" "row of x.y-z_1"
	grep -qE '^ZONE +SIZE +USED +AVAIL +USE% +USAGE +MODE +CACHE +BACKEND +OBJECT$' \
		<<<"$OUT" || fail "no zone header: $OUT"
	grep -qE '^WORKER +PID +REQUESTS +ERRORS$' <<<"$OUT" ||
		fail "no worker header: $OUT"
	for pid in $(worker_pids "$DAEMON_PID"); do
		grep -qE "^ +[0-9]+ +$pid +[0-9]+ +[0-9]+$" <<<"$OUT" ||
			fail "no row for worker $pid: $OUT"
	done
}

status_json_holds_the_figures_of_stats() {
	local n=5000
	truncate -s 0 "$MNT/d"
	head -c "$n" /dev/urandom >"$MNT/d"
	run_status --json "$MNT"
	assert_eq 0 "$STATUS" "exit status; stderr: $ERR"
	"$PY" -m json.tool <"$WORK/out" >/dev/null ||
		fail "json.tool refuses: $OUT"
	"$PY" - "$WORK/out" "$MNT" "$n" "$(worker_pids "$DAEMON_PID")" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["mountpoint"] == sys.argv[2], doc["mountpoint"]
zones = {z["name"]: z for z in doc["zones"]}
assert list(zones) == ["p", "d", "x.y-z_1"], list(zones)
d = zones["d"]
assert (d["backend"], d["cache"], d["mode"], d["object"]) == \
    ("devzero", "direct", "0600", "-"), d
assert d["capacity"] == 65536 and d["length"] == int(sys.argv[3]), d
assert d["used"] == d["length"] and d["use_percent"] == 8, d
assert d["bytes_in"] >= int(sys.argv[3]), d
pids = sorted(w["pid"] for w in doc["workers"])
assert pids == sorted(int(p) for p in sys.argv[4].split()), pids
assert isinstance(doc["uptime"], int) and doc["reloads"] == 0, doc
assert (doc["generation"], doc["restarts"], doc["upgrades"]) == (1, 0, 0), doc
PY
}

# A file zone at the longest path a config line holds (190 bytes; a
# 32-byte buffer once cut it at 31): whole in /.stats, in /.metrics as the
# Prometheus parser reads it, and in shmfs status and its JSON.
a_long_object_path_is_whole_in_stats_metrics_and_status() {
	local mnt=$WORK/long conf=$WORK/long.ini dir path line
	dir=$WORK/$(printf 'd%.0s' {1..60})
	path=$dir/$(printf 'f%.0s' $(seq $((190 - ${#dir} - 1))))
	((${#path} > 150)) || fail "TMPDIR too long for the test: $path"
	mkdir -p "$dir"
	printf '[shmfs]\nworkers = 2\n[zone:f]\nbackend = file\nsize = 8K\npath = %s\n' \
		"$path" >"$conf"
	start_daemon "$conf" "$mnt"
	assert_eq "$path" "$(awk '$1 == "zone.f.object" { print $2 }' "$mnt/.stats")" \
		"zone.f.object in /.stats"
	assert_eq 1 "$(metric "$mnt/.metrics" \
		"shmfs_zone_info{backend=\"file\",cache=\"direct\",mode=\"0600\",object=\"$path\",zone=\"f\"}")" \
		"shmfs_zone_info of f"
	run_status "$mnt"
	assert_eq 0 "$STATUS" "exit status; stderr: $ERR"
	line=$(grep '^f ' <<<"$OUT") || fail "no row for f: $OUT"
	assert_match " file +$path\$" "$line" "row of f"
	run_status --json "$mnt"
	assert_eq "$path" "$("$PY" -c 'import json, sys
print(json.load(open(sys.argv[1]))["zones"][0]["object"])' "$WORK/out")" \
		"object in status --json"
	stop_daemon "$mnt" "$DAEMON_PID"
}

status_fails_with_one_line_and_its_exit_status() {
	mkdir -p "$WORK/plain"
	run_status "$WORK/plain"
	assert_eq 2 "$STATUS" "a plain directory"
	assert_one_line "$ERR"
	assert_contains "$ERR" "shmfs: status: $WORK/plain: not a shmfs mount point"
	run_status "$WORK/nothing-here"
	assert_eq 2 "$STATUS" "a missing directory"
	assert_contains "$ERR" "No such file or directory"
	run_status "$MNT/p"
	assert_eq 2 "$STATUS" "a zone file"
	assert_contains "$ERR" "not a directory"
	mkdir -p "$WORK/tmpfs"
	mount -t tmpfs -o size=1M shmfs-test "$WORK/tmpfs"
	run_status "$WORK/tmpfs"
	umount "$WORK/tmpfs"
	assert_eq 2 "$STATUS" "a tmpfs mount"
	assert_contains "$ERR" "not a shmfs mount point"
	run_status
	assert_eq 1 "$STATUS" "no mount point"
	assert_one_line "$ERR"
	assert_contains "$ERR" "usage: shmfs status MOUNTPOINT [--json]"
	run_status "$MNT" --bogus
	assert_eq 1 "$STATUS" "an unknown option"
	assert_eq "" "$OUT" "stdout of a failure"
}

# The per-user quota of /.stats holds for /.metrics, and status says so.
stats_and_metrics_share_one_quota_and_status_says_when_it_is_spent() {
	as_user nobody "$PY" - "$MNT" "$WORK/release" >"$WORK/hog.out" 2>&1 <<'PY' &
import errno, os, sys, time
fds = [os.open(sys.argv[1] + f, os.O_RDONLY)
       for f in ("/.stats", "/.metrics", "/.stats", "/.metrics")]
try:
    os.open(sys.argv[1] + "/.metrics", os.O_RDONLY)
    print("a fifth open succeeded", flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
for _ in range(200):  # hold them until released (10 s at most)
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
PY
	local hog=$!
	wait_for_line "$WORK/hog.out" . 5 || true # the assert below says what
	assert_eq EMFILE "$(cat "$WORK/hog.out")" "the fifth open by nobody"
	STATUS=0
	as_user nobody "$SHMFS" status "$MNT" >/dev/null 2>"$WORK/status.err" ||
		STATUS=$?
	assert_eq 3 "$STATUS" "status as nobody, quota spent"
	assert_one_line "$(cat "$WORK/status.err")"
	assert_contains "$(cat "$WORK/status.err")" "Too many open files"
	run_status "$MNT"
	assert_eq 0 "$STATUS" "status as root meanwhile"
	: >"$WORK/release"
	wait "$hog"
}

status_of_a_mount_whose_daemon_died_says_to_unmount_it() {
	local mnt=$WORK/m-dead workers w
	start_daemon "$CONF" "$mnt"
	wait_for_workers "$DAEMON_PID" 2
	workers=$(worker_pids "$DAEMON_PID")
	kill -KILL "$DAEMON_PID"
	wait_child_exit "$DAEMON_PID"
	# The connection is aborted once its last reader, a worker, is gone.
	for w in $workers; do
		wait_gone "$w" || fail "worker $w outlived its master"
	done
	run_status "$mnt"
	force_unmount "$mnt"
	assert_eq 2 "$STATUS" "a dead mount"
	assert_one_line "$ERR"
	assert_contains "$ERR" "fusermount3 -u $mnt"
	assert_contains "$ERR" "Transport endpoint is not connected"
}

a_mount_point_named_status_is_mounted_as_dot_slash_status() {
	local pid
	mkdir -p "$WORK/here/status"
	(cd "$WORK/here" && exec "$SHMFS" -f -c "$CONF" ./status) \
		>"$WORK/here.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	DAEMON_LOG=$WORK/here.log
	wait_mounted "$WORK/here/status" "$pid" "$WORK/here.log" || return 1
	(cd "$WORK/here" && "$SHMFS" status ./status) >"$WORK/here.out" 2>&1 ||
		fail "shmfs status ./status: $(cat "$WORK/here.out")"
	assert_contains "$(head -n 1 "$WORK/here.out")" "shmfs on ./status: up"
	stop_daemon "$WORK/here/status" "$pid"
}

# ------------------------------------------------------------ reloads

# stats_say KEY VALUE: /.stats says so now.
stats_say() {
	[[ $(stats "$1" 2>/dev/null) == "$2" ]]
}

special_files_and_zones_keep_their_inodes_across_a_reload() {
	local before after
	before=$(stat -c '%n %i' "$MNT/.stats" "$MNT/.metrics" "$MNT/p" \
		"$MNT/d" "$MNT/x.y-z_1")
	kill -HUP "$DAEMON_PID"
	# An open that spans the reload reads ESTALE: read again.
	wait_until "$DEADLINE" stats_say reloads 1
	assert_eq 1 "$(stats reloads)" "reloads in /.stats"
	assert_eq 1 "$(metric "$MNT/.metrics" 'shmfs_reloads_total{}')" \
		"shmfs_reloads_total"
	# A reload keeps its master: the same generation.
	assert_eq 1 "$(stats generation)" "generation after a reload"
	assert_eq 1 "$(metric "$MNT/.metrics" 'shmfs_generation{}')" \
		"shmfs_generation after a reload"
	after=$(stat -c '%n %i' "$MNT/.stats" "$MNT/.metrics" "$MNT/p" \
		"$MNT/d" "$MNT/x.y-z_1")
	assert_eq "$before" "$after" "inode numbers"
	# Seen fresh by the daemon, not from the kernel's cache.
	assert_eq "4 5 6" "$(ls -i "$MNT" | awk '{ print $1 }' | sort -n |
		tr '\n' ' ' | sed 's/ $//')" "inodes that readdir gives"
}

no_worker_died_serving_the_files() {
	assert_eq 0 "$(stats respawns)" "respawns"
	! grep -E "seccomp|killed by signal" "$DAEMON_LOG" ||
		fail "a worker died: $(grep -E "seccomp|killed" "$DAEMON_LOG")"
}

# allow_other: nobody opens the files too.
mount_or_bail -w 2 "$CONF" "$MNT" allow_other -o allow_other
run_test metrics_is_listed_beside_stats_read_only_with_its_own_inode
run_test metrics_parse_with_the_prometheus_parser_through_a_symlink
run_test metric_counters_follow_what_was_done
run_test metrics_agree_with_stats
run_test status_draws_the_zones_as_df_would_and_the_workers
run_test status_json_holds_the_figures_of_stats
run_test status_fails_with_one_line_and_its_exit_status
run_test a_long_object_path_is_whole_in_stats_metrics_and_status
run_test_here stats_and_metrics_share_one_quota_and_status_says_when_it_is_spent
# In this shell: the reload replaces the workers, which run_test would
# take for processes the test left behind.
run_test_here special_files_and_zones_keep_their_inodes_across_a_reload
run_test no_worker_died_serving_the_files
run_test_here unmount_stops_the_daemon_with_status_0
run_test_here status_of_a_mount_whose_daemon_died_says_to_unmount_it
run_test_here a_mount_point_named_status_is_mounted_as_dot_slash_status
run_test nothing_is_left_behind
finish
