"""Real speech (asc10 from the shared data folder): training from Python gives the CLI's model,
bit for bit. Runs when DELTARNN_SHARED_DATA is set (CI sets it) and then fails loudly when the
data or the CLI binary (DELTARNN_BIN, default target/debug/deltarnn) is missing."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import deltarnn

SHARED = os.environ.get("DELTARNN_SHARED_DATA")
pytestmark = pytest.mark.skipif(SHARED is None, reason="real speech: set DELTARNN_SHARED_DATA (CI does)")
REPO = Path(__file__).resolve().parents[3]


def test_training_from_python_gives_the_clis_weights_bit_for_bit(tmp_path):
    asc10 = Path(SHARED) / "asc10"
    assert asc10.is_dir(), f"DELTARNN_SHARED_DATA={SHARED} has no asc10 folder"
    binary = Path(os.environ.get("DELTARNN_BIN", REPO / "target" / "debug" / "deltarnn"))
    assert binary.is_file(), f"no deltarnn binary at {binary} (cargo build -p deltarnn-cli, or set DELTARNN_BIN)"
    cache, run = tmp_path / "cache", tmp_path / "cli"
    settings = ["--layers", "1", "--hidden", "32", "--epochs", "2", "--batch", "32", "--seed", "3"]
    subprocess.run(
        [binary, "train", "--data", asc10, "--cache-dir", cache, "--out", run, *settings], check=True, capture_output=True
    )
    model = deltarnn.train(asc10, layers=1, hidden=32, epochs=2, batch=32, seed=3, cache_dir=cache)
    cli = deltarnn.Model.load(run / "model.safetensors")
    ours, theirs = model.weights(), cli.weights()
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name
    valid = deltarnn.load_dataset(asc10, cache_dir=cache).valid
    assert model.evaluate(*valid)["accuracy"] == cli.evaluate(*valid)["accuracy"]
