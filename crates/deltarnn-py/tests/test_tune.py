"""deltarnn.tune: a threshold x seed sweep as Ray tasks on this machine (skipped without Ray;
scripts/python-test.sh installs it)."""

import pytest

import deltarnn
from deltarnn.tune import Trial, table
from test_model import waves


def test_the_table_matches_deltarnn_sweeps_columns():
    rows = [
        {**Trial("lstm", None, 0).__dict__, "test_accuracy": 0.9, "valid_accuracy": 0.8, "sparsity": 0.0,
         "op_reduction": 0.0, "epochs": 3, "epoch_seconds": 2.0},
        {**Trial("lstm", 0.1, 0).__dict__, "test_accuracy": 0.85, "valid_accuracy": 0.8, "sparsity": 0.8,
         "op_reduction": 0.79, "epochs": 3, "epoch_seconds": 0.5},
    ]
    text = table(rows).splitlines()
    assert text[0].startswith("| cell | theta | seed | test acc | valid acc | sparsity | op reduction | epochs")
    assert text[2] == "| lstm | dense | 0 | 90.0% | 80.0% | 0.0% | 0.0% | 3 | 2.000 | 1.00x |"
    assert text[3] == "| lstm | 0.1 | 0 | 85.0% | 80.0% | 80.0% | 79.0% | 3 | 0.500 | 4.00x |"


def test_a_sweep_runs_as_ray_tasks_on_two_workers(tmp_path):
    pytest.importorskip("ray")
    from deltarnn.tune import sweep

    deltarnn.save_sequences(tmp_path / "train.safetensors", *waves(1, 10), classes=["slow", "fast", "square"])
    deltarnn.save_sequences(tmp_path / "valid.safetensors", *waves(2, 4))
    rows = sweep(str(tmp_path), thetas=[0.0, 0.2], seeds=[0, 1], workers=2, layers=1, hidden=8, epochs=2, batch=8)
    assert [(r["theta"], r["seed"]) for r in rows] == [(None, 0), (0.0, 0), (0.2, 0), (None, 1), (0.0, 1), (0.2, 1)]
    assert all(r["epochs"] == 2 and 0.0 <= r["test_accuracy"] <= 1.0 for r in rows)
    assert rows[2]["sparsity"] > rows[1]["sparsity"]
    assert len(table(rows).splitlines()) == 8
