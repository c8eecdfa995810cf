#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package the way README says (dpkg-buildpackage -us -uc
# -b), from a copy of the tracked and untracked-but-not-ignored files in a
# temporary directory (so nothing lands beside the checkout), then checks
# it: lintian reports no error (its other tags are printed), the .deb holds
# the daemon, both man pages, the completion and shmfs.ini, shmfs.ini is a
# conffile, the unit is there and starts /usr/bin/shmfs (the package's
# prefix), and the packaged daemon reads /etc/shmfs/shmfs.ini by default.
#
#   tests/package/build.sh [OUTDIR]   (keeps the .deb in OUTDIR if given)
#
# Needs dpkg-dev, debhelper, lintian and the build dependencies
# (scripts/deps.sh installs them). Without them it skips (77),
# except when CI is set, where a missing prerequisite is a failure.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"
out=${1:-}

skip_or_fail() {
	if [[ -n ${CI:-} ]]; then
		echo "FAIL: $* (a requirement under CI)" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
for c in dpkg-buildpackage dh lintian dpkg-checkbuilddeps; do
	command -v "$c" >/dev/null || skip_or_fail "no $c (scripts/deps.sh)"
done
(cd "$src" && dpkg-checkbuilddeps) || skip_or_fail "build dependencies missing"

work=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/shmfs"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 tar -cf - --) | tar -xf - -C "$work/shmfs"


t0=$(date +%s)
if (cd "$work/shmfs" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package ($(($(date +%s) - t0)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds the package"
	tail -n 40 "$work/build.log" | sed 's/^/#   /'
	echo "# $passed passed, $failed failed"
	exit 1
fi
grep -E '^ *[0-9]+/[0-9]+ .*(OK|FAIL|SKIP)' "$work/build.log" | sed 's/^/# dh_auto_test: /' || true
deb=$(ls "$work"/shmfs_*.deb)
changes=$(ls "$work"/shmfs_*.changes)

lintian --tag-display-limit 0 --info "$changes" >"$work/lintian.log" 2>&1 || true
sed 's/^/# lintian: /' "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then
	not_ok "lintian reports no error"
else
	ok "lintian reports no error ($(grep -c '^W: ' "$work/lintian.log" || true) warnings)"
fi

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/contents"
sed 's/^/# contents: /' "$work/contents"
want=(/usr/bin/shmfs /etc/shmfs/shmfs.ini /usr/share/man/man8/shmfs.8.gz
	/usr/share/man/man5/shmfs.ini.5.gz
	/usr/share/bash-completion/completions/shmfs
	/usr/share/doc/shmfs/copyright /lib/systemd/system/shmfs@.service)
missing=()
for f in "${want[@]}"; do
	grep -qxF "$f" "$work/contents" || missing+=("$f")
done
if ((${#missing[@]} == 0)); then
	ok "the package holds the daemon, man pages, completion, config and unit"
else
	not_ok "the package holds the daemon, man pages, completion, config: missing ${missing[*]}"
fi
# The README links to docs/ by relative paths: the pages go beside it.
if grep -qE '^/usr/share/doc/shmfs/docs/operations\.md(\.gz)?$' "$work/contents"; then
	ok "the package holds docs/ beside the README"
else
	not_ok "the package holds docs/ beside the README"
fi

dpkg-deb -e "$deb" "$work/control"
if grep -qxF /etc/shmfs/shmfs.ini "$work/control/conffiles"; then
	ok "/etc/shmfs/shmfs.ini is a conffile"
else
	not_ok "/etc/shmfs/shmfs.ini is a conffile"
fi

dpkg-deb -x "$deb" "$work/root"
exec_start=$(sed -n 's/^ExecStart=//p' "$work/root/lib/systemd/system/shmfs@.service" 2>/dev/null || true)
if [[ $exec_start == "/usr/bin/shmfs -f -p /run/shmfs/%i/shmfs.pid %f" ]]; then
	ok "the packaged unit runs /usr/bin/shmfs"
else
	not_ok "the packaged unit runs /usr/bin/shmfs: ExecStart=$exec_start"
fi
if env -u SHMFS_CONFIG "$work/root/usr/bin/shmfs" --help |
	grep -qF "or /etc/shmfs/shmfs.ini if it exists"; then
	ok "the packaged daemon reads /etc/shmfs/shmfs.ini by default"
else
	not_ok "the packaged daemon reads /etc/shmfs/shmfs.ini by default"
fi

if [[ -n $out ]]; then
	mkdir -p "$out"
	cp "$deb" "$out/"
	echo "# kept $out/$(basename "$deb")"
fi
echo "# $passed passed, $failed failed"
((failed == 0))
