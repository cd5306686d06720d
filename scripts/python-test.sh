#!/usr/bin/env bash
# Builds the deltarnn Python wheel (maturin, abi3) into a fresh virtual environment and runs the
# Python tests there: what `pip install` from the repository gives a user.
#   scripts/python-test.sh [VENV]   (default: target/python-venv, recreated every run)
# Needs python3 with the venv module (Debian/Ubuntu: python3-venv) and PyPI. Installs Ray (the
# deltarnn.tune tests) unless DELTARNN_PY_NO_RAY=1; PyTorch is not installed (a large CUDA
# build): its tests run where it is (pip install torch into the venv), and are skipped here.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(realpath -m "${1:-target/python-venv}")"
python="${DELTARNN_PYTHON:-python3}"
if ! "$python" -c "import venv, ensurepip" >/dev/null 2>&1; then
    echo "error: $python has no venv/ensurepip module (Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "maturin>=1.9.4,<2" "numpy>=1.21" "pytest>=7"
if [ "${DELTARNN_PY_NO_RAY:-0}" != 1 ]; then
    "$venv/bin/pip" install --quiet "ray>=2.9"
fi
# The wheel a user gets from `pip install ./crates/deltarnn-py`, built once into target/wheels.
rm -rf target/wheels
"$venv/bin/maturin" build --release --quiet --manifest-path crates/deltarnn-py/Cargo.toml --out target/wheels
"$venv/bin/pip" install --quiet --no-deps target/wheels/deltarnn-*.whl
# From outside the source tree, so `import deltarnn` finds the installed package.
cd target
"$venv/bin/python" -c "import deltarnn; print('deltarnn', deltarnn.__version__, 'from', deltarnn.__file__)"
"$venv/bin/python" -m pytest -q ../crates/deltarnn-py/tests
# The README's non-speech example, end to end (generated data, a few seconds).
"$venv/bin/python" ../crates/deltarnn-py/examples/control_charts.py "$(mktemp -d)"
