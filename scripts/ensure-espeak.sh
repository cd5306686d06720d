#!/usr/bin/env bash
# Installs espeak-ng, the one system package deltarnn needs, when it is missing and we are allowed to.
set -euo pipefail
if command -v espeak-ng >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing espeak-ng with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >&2
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing espeak-ng with sudo apt-get" >&2
    sudo apt-get update -qq >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >&2
else
    echo "error: espeak-ng is missing; install it with your package manager (Debian/Ubuntu: apt-get install espeak-ng)" >&2
    exit 1
fi
