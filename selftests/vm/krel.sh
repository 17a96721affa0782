#!/bin/sh
# Print the guest kernel release (e.g. 6.1.0-56-amd64): the one whose headers
# the installed linux-headers-amd64 meta-package depends on, so the module we
# build and the kernel we boot always match.
set -eu
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || {
	echo "krel.sh: linux-headers-amd64 is not installed" >&2
	exit 1
}
# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56-amd64"
krel=$(printf '%s\n' "$dep" | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p')
if [ -z "$krel" ]; then
	echo "krel.sh: cannot parse linux-headers-amd64 Depends: '$dep'" >&2
	exit 1
fi
printf '%s\n' "$krel"
