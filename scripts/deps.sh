#!/usr/bin/env bash
# deps.sh installs the Debian packages Frontdesk needs, idempotently: each
# argument is "command:package"; a package is installed only when its command
# is missing. Used by `make run` (redis-server) and `make test` (redis-server,
# dovecot, chromium; staticcheck comes from the Go module proxy).
set -euo pipefail

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "deps.sh: Go 1.26 or newer is required (https://go.dev/dl/); Debian's golang package is too old" >&2
	exit 1
fi

need=()
for spec in "$@"; do
	bin=${spec%%:*}
	pkg=${spec#*:}
	if command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ]; then
		continue
	fi
	need+=("$pkg")
done
if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	echo "deps.sh: installing ${need[*]}" >&2
	$sudo apt-get update -qq
	# policy-rc.d or not, we never rely on the distribution's services:
	# Frontdesk and its tests start their own redis-server and dovecot.
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
