#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# "meson install --destdir" into a temporary directory: exactly the expected
# files land (the daemon in bindir, shmfs.ini in sysconfdir/shmfs, both man
# pages, the bash completion, the license, and the systemd unit), the
# unit's ExecStart= runs the daemon where this prefix put it, the installed
# daemon reads the installed shmfs.ini by default and accepts it, both man
# pages render without a warning
# (MANWIDTH=80 man --warnings -l), and the completion completes.
# Needs no root. Without man or bash-completion it skips (77), except when
# CI is set, where a missing prerequisite is a failure.
#
#   MESON=meson BUILD=build EXPECT="usr/local/bin/shmfs ..." install.sh
set -euo pipefail

: "${MESON:?}" "${BUILD:?}" "${EXPECT:?}" "${CONFIG_PATH:?}" "${COMPLETION:?}" "${UNIT:?}"

skip_or_fail() {
	if [[ -n ${CI:-} ]]; then
		echo "FAIL: $* (a requirement under CI)" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
command -v man >/dev/null || skip_or_fail "no man (apt-get install man-db)"
[[ -r /usr/share/bash-completion/bash_completion ]] ||
	skip_or_fail "no bash-completion"

dest=$(mktemp -d "${TMPDIR:-/tmp}/shmfs-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

"$MESON" install -C "$BUILD" --no-rebuild --quiet --destdir "$dest" >/dev/null

echo "# what landed under DESTDIR:"
(cd "$dest" && find . \( -type f -o -type l \) -printf '# %M %8s %P\n' | sort -k3)

# Exactly the expected files: a new one must be added on purpose.
got=$(cd "$dest" && find . \( -type f -o -type l \) -printf '%P\n' | sort)
want=$(tr ' ' '\n' <<<"$EXPECT" | grep . | sed 's|^/||' | sort)
if [[ $got == "$want" ]]; then
	ok "meson install puts exactly the expected files"
else
	not_ok "meson install puts exactly the expected files"
	diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' || true
fi

bin=$(tr ' ' '\n' <<<"$EXPECT" | grep '/bin/shmfs$' | head -n 1)
if [[ -x $dest$bin ]]; then
	ok "the daemon is installed executable ($bin)"
else
	not_ok "the daemon is installed executable ($bin)"
fi

if env -u SHMFS_CONFIG "$dest$bin" --help | grep -qF "or $CONFIG_PATH if it exists"; then
	ok "the installed daemon reads $CONFIG_PATH by default"
else
	not_ok "the installed daemon reads $CONFIG_PATH by default"
fi

if [[ -f $dest$CONFIG_PATH ]] && "$dest$bin" -t -c "$dest$CONFIG_PATH" >/dev/null; then
	ok "the installed shmfs.ini passes shmfs -t"
else
	not_ok "the installed shmfs.ini passes shmfs -t"
fi

# The unit starts the daemon this install put in place, whatever the prefix.
exec_start=$(sed -n 's/^ExecStart=//p' "$dest$UNIT" 2>/dev/null || true)
exec_reload=$(sed -n 's/^ExecReload=//p' "$dest$UNIT" 2>/dev/null || true)
if [[ $exec_start == "$bin -f -p /run/shmfs/%i/shmfs.pid %f" &&
	$exec_reload == "$bin -s reload -p /run/shmfs/%i/shmfs.pid" ]]; then
	ok "the unit's ExecStart= and ExecReload= run the installed daemon ($bin)"
else
	not_ok "the unit's ExecStart= and ExecReload= run the installed daemon ($bin): ExecStart=$exec_start ExecReload=$exec_reload"
fi

for page in $(tr ' ' '\n' <<<"$EXPECT" | grep '/man/man[0-9]/'); do
	name=$(basename "$page")
	warnings=$(MANWIDTH=80 man --warnings -l "$dest$page" 2>&1 >"$dest/rendered")
	if [[ -z $warnings ]] && grep -q '^NAME' "$dest/rendered" &&
		grep -qE "(^|[[:space:]])$CONFIG_PATH" "$dest/rendered"; then
		ok "man page $name renders without a warning and names $CONFIG_PATH"
	else
		not_ok "man page $name renders without a warning and names $CONFIG_PATH"
		echo "$warnings" | sed 's/^/#   /'
	fi
done

# Runs the installed completion for a command line; prints the candidates.
complete_line() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_shmfs "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		echo "${COMPREPLY[*]}"' _ "$dest$COMPLETION" "$@"
}
if [[ $(complete_line shmfs -s '') == "stop reload reopen upgrade" ]] &&
	[[ $(complete_line shmfs --wor) == --workers ]]; then
	ok "the bash completion completes signals and options"
else
	not_ok "the bash completion completes signals and options"
fi

echo "# $passed passed, $failed failed"
((failed == 0))
