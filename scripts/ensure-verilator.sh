#!/usr/bin/env bash
# Installs Verilator (5.x), which builds and runs the authors' accelerator RTL for the simulator's
# cross-check, when it is missing and we are allowed to. The library and the CLI do not need it.
set -euo pipefail
if command -v verilator >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing verilator with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq verilator >&2
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing verilator with sudo apt-get" >&2
    sudo apt-get update -qq >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq verilator >&2
else
    echo "error: verilator is missing; install it with your package manager (Debian/Ubuntu: apt-get install verilator)" >&2
    exit 1
fi
