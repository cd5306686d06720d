"""deltarnn.Model from Python: training, evaluation, forward, checkpoints and bad input.

Run with ``pytest crates/deltarnn-py/tests`` after installing the wheel
(``scripts/python-test.sh`` builds it into a fresh virtual environment and runs these).
"""

import math

import numpy as np
import pytest

import deltarnn


def waves(seed, n):
    """n noisy waves of each of 3 classes over 3 features: a slow sine, a fast sine, a square."""
    rng = np.random.default_rng(seed)
    sequences, labels = [], []
    for i in range(3 * n):
        c = i % 3
        frames = 20 + int(rng.integers(20))
        x = rng.random() * 2 * math.pi + np.arange(frames) * (0.2 if c == 0 else 0.9)
        wave = np.sign(np.sin(x)) if c == 2 else np.sin(x)
        offset = rng.normal() * 3
        noise = 0.1 * rng.normal(size=(2, frames))
        sequences.append(np.stack([offset + wave, offset + noise[0], 2 * wave + noise[1]], 1).astype(np.float32))
        labels.append(c)
    return sequences, labels


def small(**kwargs):
    return deltarnn.Model(3, 3, hidden=16, layers=1, classes=["slow", "fast", "square"], **kwargs)


FIT = dict(epochs=15, batch=8, lr=1e-2, readout="mean-over-frames", threads=2)


def test_a_delta_lstm_learns_and_reports_sparsity():
    train, valid = waves(1, 30), waves(2, 10)
    model = small()
    seen = []
    history = model.fit(*train, valid=valid, callback=seen.append, **FIT)
    assert len(history) == 15 and [r["epoch"] for r in seen] == list(range(1, 16))
    assert {"train_loss", "valid_accuracy", "sparsity", "ops_dense", "ops_actual"} <= set(history[-1])
    result = model.evaluate(*valid, readout="mean-over-frames")
    assert result["accuracy"] >= 0.9, result
    assert result["sequences"] == 30
    assert 0.3 < result["sparsity"]["overall"] < 1.0
    assert list(model.predict(valid[0][:6], readout="mean-over-frames")) == list(result["predictions"][:6])
    out = model.forward(valid[0][0])
    frames = valid[0][0].shape[0]
    assert out["logits"].shape == (frames, 4)
    assert [h.shape for h in out["hidden"]] == [(frames, 16)]
    assert set(out["sparsity"][0]) == {"delta_x", "delta_h", "overall"}


def test_same_seed_same_weights_and_threshold_zero_is_dense():
    train = waves(1, 10)
    a, b = small(seed=3), small(seed=3)
    a.fit(*train, epochs=2, batch=8, threads=1)
    b.fit(*train, epochs=2, batch=8, threads=2)
    x = train[0][0]
    assert np.array_equal(a.forward(x)["logits"], b.forward(x)["logits"])
    zero = small(theta_x=0.0, theta_h=0.0)
    assert np.allclose(zero.forward(x)["logits"], zero.forward(x, dense=True)["logits"], atol=1e-5)


def test_float64_and_per_frame_labels_are_accepted():
    sequences, labels = waves(1, 5)
    frame_labels = [np.where(np.arange(len(s)) < 3, -1, c) for s, c in zip(sequences, labels)]
    model = small()
    model.fit([s.astype(np.float64) for s in sequences], frame_labels, epochs=1, batch=4)
    assert model.evaluate(sequences, frame_labels)["sequences"] == len(sequences)


def test_a_checkpoint_round_trips(tmp_path):
    train = waves(1, 5)
    model = small(theta_x=0.05)
    model.fit(*train, epochs=1, batch=4)
    path = tmp_path / "model.safetensors"
    model.save(path)
    again = deltarnn.Model.load(path)
    assert again.classes == ["slow", "fast", "square"] and again.thresholds == (0.05, 0.1)
    assert (again.n_features, again.n_classes, again.hidden, again.layers, again.cell) == (3, 3, 16, 1, "lstm")
    x = train[0][1]
    assert np.array_equal(again.forward(x)["logits"], model.forward(x)["logits"])


def test_a_callback_can_stop_training_and_its_exception_propagates():
    train = waves(1, 5)
    model = small()
    assert len(model.fit(*train, epochs=10, batch=4, callback=lambda r: False)) == 1
    with pytest.raises(ZeroDivisionError):
        model.fit(*train, epochs=2, batch=4, callback=lambda r: 1 / 0)


@pytest.mark.parametrize(
    "sequences, labels, message",
    [
        ([np.zeros((5, 3), np.int32)], [0], "a 2-D int32 array"),
        ([np.zeros((5, 4), np.float32)], [0], "shape [5, 4]; expected (frames, 3)"),
        ([np.zeros((0, 3), np.float32)], [0], "at least one frame"),
        ([np.full((5, 3), np.nan, np.float32)], [0], "non-finite value at frame 0, feature 0"),
        ([np.zeros((5, 3), np.float32)], [7], "label 7 but the model has 3 classes"),
        ([np.zeros((5, 3), np.float32)], [-2], "labels[0]: -2"),
        ([np.zeros((5, 3), np.float32)], [np.array([0, 1, 2])], "3 frame labels for 5 frames"),
        ([np.zeros((5, 3), np.float32)], [0, 1], "2 for 1 sequences"),
        (np.zeros((5, 3), np.float32), [0], "one array; expected a list"),
        (["not an array"], [0], "a str object"),
    ],
)
def test_bad_input_is_one_clear_exception(sequences, labels, message):
    with pytest.raises(deltarnn.Error, match=None) as caught:
        small().fit(sequences, labels, epochs=1)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_files_and_settings(tmp_path):
    with pytest.raises(FileNotFoundError):
        deltarnn.Model.load(tmp_path / "missing.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"garbage")
    with pytest.raises(deltarnn.Error, match="not a valid safetensors file"):
        deltarnn.Model.load(corrupt)
    with pytest.raises(deltarnn.Error, match="unknown cell 'rnn'"):
        deltarnn.Model(3, 3, cell="rnn")
    with pytest.raises(deltarnn.Error, match="readout"):
        small().fit(*waves(1, 2), epochs=1, readout="first")
    assert issubclass(deltarnn.Error, ValueError)
