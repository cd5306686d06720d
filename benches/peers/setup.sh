#!/usr/bin/env bash
# Creates benches/peers/.venv with JAX (CPU) for jax_lstm.py. Not part of CI.
# Usage: benches/peers/setup.sh   (needs python3 >= 3.10 and access to PyPI)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PEERS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Versions pinned to the ones ../shared/docs/peers.md was measured with.
"$venv/bin/python" -m pip install --quiet "jax[cpu]==0.10.2" "numpy<3"
"$venv/bin/python" -c 'import jax; print("jax", jax.__version__, "devices", jax.devices())'
