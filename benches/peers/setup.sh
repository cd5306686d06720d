#!/usr/bin/env bash
# Creates benches/peers/.venv with JAX (CPU) for jax_lstm.py and PyTorch for torch_lstm.py.
# Not part of CI: PyPI's torch is a large CUDA build (it runs on CPU), several GB to download.
# Usage: benches/peers/setup.sh   (needs python3 >= 3.10 and access to PyPI)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PEERS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Versions pinned to the ones ../shared/docs/peers.md was measured with.
"$venv/bin/python" -m pip install --quiet "jax[cpu]==0.10.2" "torch==2.15.0" "numpy<3"
"$venv/bin/python" -c 'import jax; print("jax", jax.__version__, "devices", jax.devices())'
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "threads", torch.get_num_threads())'
