"""Weights in and out, one sequence's loss and gradient, the cost report and streaming."""

import numpy as np
import pytest

import deltarnn
from test_model import small, waves


def test_weights_round_trip_and_bad_weights_are_refused():
    model, other = small(seed=1), small(seed=2)
    x = waves(1, 1)[0][0]
    other.set_weights(model.weights())
    assert np.array_equal(other.forward(x)["logits"], model.forward(x)["logits"])
    weights = model.weights()
    assert weights["rnn.weight_ih_l0"].shape == (64, 3) and weights["fc.weight"].shape == (4, 16)
    for change, message in [
        (lambda w: w.pop("fc.bias"), "missing weight 'fc.bias'"),
        (lambda w: w.update(extra=np.zeros(1, np.float32)), "unknown weight 'extra'"),
        (lambda w: w.update({"fc.bias": np.zeros(5, np.float32)}), "shape [5], expected [4]"),
        (lambda w: w.update({"fc.bias": np.zeros(4)}), "expected a float32 NumPy array"),
        (lambda w: w.update({"fc.bias": np.full(4, np.inf, np.float32)}), "non-finite value at flat index 0"),
    ]:
        bad = model.weights()
        change(bad)
        with pytest.raises(deltarnn.Error, match=None) as caught:
            other.set_weights(bad)
        assert message in str(caught.value)


def test_the_gradient_matches_central_differences():
    model = small(seed=4, theta_x=0.0, theta_h=0.0)
    x, label = waves(3, 1)[0][0][:12], 1
    loss, grads = model.loss_and_gradient(x, label)
    assert loss > 0 and set(grads) == set(model.weights())
    weights = model.weights()
    rng = np.random.default_rng(0)
    for name in ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_hh_l0", "fc.weight"]:
        flat = weights[name].reshape(-1)
        for i in rng.choice(flat.size, 3, replace=False):
            eps = 1e-2
            values = []
            for sign in (1, -1):
                moved = {k: v.copy() for k, v in weights.items()}
                moved[name].reshape(-1)[i] += sign * eps
                model.set_weights(moved)
                values.append(model.loss_and_gradient(x, label)[0])
            model.set_weights(weights)
            numeric = (values[0] - values[1]) / (2 * eps)
            assert abs(numeric - grads[name].reshape(-1)[i]) < 2e-3, (name, i, numeric, grads[name].reshape(-1)[i])


def test_cost_counts_the_skipped_work():
    model = small(theta_x=0.2, theta_h=0.2)
    sequences = waves(1, 3)[0]
    delta, dense = model.cost(sequences), model.cost(sequences, dense=True)
    assert delta["total"]["forward_mxv"]["actual_ops"] < dense["total"]["forward_mxv"]["actual_ops"]
    assert delta["total"]["training"]["dense_ops"] == dense["total"]["training"]["actual_ops"]
    assert delta["sparsity"]["overall"] > 0.1 and dense["sparsity"]["overall"] == 0.0


def test_streaming_frame_by_frame_gives_the_forward_logits():
    model = small(seed=5)
    x = waves(2, 1)[0][0]
    stream = model.stream()
    logits = [stream.step(frame) for frame in x]
    assert np.allclose(np.stack(logits), model.forward(x)["logits"], atol=1e-5)
    frames, fired_x, fired_h = stream.counts
    assert frames == len(x) and 0 < fired_x <= 3 * len(x)
    stream.reset()
    assert stream.counts == (0, 0, 0)
    with pytest.raises(deltarnn.Error, match="2 values, expected 3"):
        stream.step([0.0, 1.0])
