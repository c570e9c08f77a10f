#!/usr/bin/env bash
# Makes SoftHSM2 available for the PKCS#11 key-provider tests
# (crates/core/tests/it/pkcs11.rs). Idempotent: does nothing when the module
# and softhsm2-util are already present; otherwise installs the Debian package
# `softhsm2` (running `apt-get update` only if the package is not yet known).
#
# The tests use the system configuration ($SOFTHSM2_CONF or
# /etc/softhsm/softhsm2.conf, tokens under /var/lib/softhsm/tokens), create
# one token per test with a unique label and delete it afterwards, so nothing
# else is set up here.
set -euo pipefail

MODULE=/usr/lib/softhsm/libsofthsm2.so

if [ -e "$MODULE" ] && command -v softhsm2-util >/dev/null 2>&1; then
    echo "softhsm: $(softhsm2-util --version) already installed ($MODULE)"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show softhsm2 >/dev/null 2>&1; then
        $SUDO apt-get update
    fi
    $SUDO apt-get install -y --no-install-recommends softhsm2
fi

if [ ! -e "$MODULE" ]; then
    echo "softhsm: PKCS#11 module not found at $MODULE" >&2
    exit 1
fi

# The token directory must exist and be writable by whoever runs the tests,
# and so must its parent: the tests build each token in a staging directory
# next to it and move it in with one rename.
CONF="${SOFTHSM2_CONF:-/etc/softhsm/softhsm2.conf}"
TOKENDIR="$(sed -n 's/^[[:space:]]*directories.tokendir[[:space:]]*=[[:space:]]*//p' "$CONF" 2>/dev/null | tail -n1 || true)"
TOKENDIR="${TOKENDIR:-/var/lib/softhsm/tokens}"
TOKENDIR="${TOKENDIR%/}"
if [ ! -d "$TOKENDIR" ]; then
    ${SUDO:-} mkdir -p "$TOKENDIR"
fi
for dir in "$TOKENDIR" "$(dirname "$TOKENDIR")"; do
    if [ ! -w "$dir" ]; then
        echo "softhsm: $dir is not writable by $(id -un);" \
             "add the user to the softhsm group or set SOFTHSM2_CONF" >&2
        exit 1
    fi
done
echo "softhsm: module $MODULE, tokens in $TOKENDIR"
