#!/usr/bin/env python3
"""Gradient golden values from the authors' own Delta LSTM and Delta GRU (PyTorch, f64).

The Delta LSTM is the authors' `networks/layers/deltalstm3.py`, whose backward is their
hand-written sparse-form BPTT (a torch.autograd.Function); the Delta GRU is their `deltagru.py`,
which autograd differentiates through the thresholded network (the fire decisions get no
gradient, as in deltarnn). Both are imported from the reference copy of the authors' code
(../shared/reference/reneta, MIT); nothing of it is copied here.

Each case: a small model (F inputs, L layers of H units, a per-frame Linear(H, C) head), one
sequence x (T, F), frame labels y (T), thresholds theta_x = theta_h = theta and an L1 weight beta
on delta_h. The loss is the mean per-frame cross-entropy plus beta * sum |delta_h| (the authors'
`reg`, summed over layers), as deltarnn's `loss_and_gradient` with scale 1/T computes it.
The output (JSON on stdout) holds every case's weights, inputs, loss and the gradient of every
parameter under its PyTorch name. crates/deltarnn/tests/it/golden_authors.rs reads it from
crates/deltarnn/tests/golden/authors_gradients.json; the test needs no Python.

Run (PyTorch in a virtual environment; `pip install torch numpy`):
    /path/to/venv/bin/python tools/golden/authors_grad.py \
        > crates/deltarnn/tests/golden/authors_gradients.json
"""
import argparse
import contextlib
import json
import os
import sys

import numpy as np
import torch

F, H, C, T = 3, 4, 3, 12


def reference_layers(root):
    """The authors' DeltaLSTM3 and DeltaGRU classes, imported from their own files."""
    sys.path.insert(0, os.path.join(root, "DeltaRNN_IL"))
    from networks.layers.deltalstm3 import DeltaLSTM3  # noqa: E402
    import networks.layers.deltagru as deltagru  # noqa: E402
    return DeltaLSTM3, deltagru.DeltaGRU


def random_walk(rng, steps, features, step):
    state = rng.normal(size=features)
    out = []
    for _ in range(steps):
        state = (1 - step * step / 2) * state + step * rng.normal(size=features)
        out.append(state.copy())
    return np.array(out)


def case(classes, cell, layers, theta, beta, seed):
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 3
    kwargs = dict(input_size=F, hidden_size=H, num_layers=layers, thx=theta, thh=theta)
    with contextlib.redirect_stdout(sys.stderr):  # their constructor prints a separator line
        rnn = classes[cell](**kwargs)
    fc = torch.nn.Linear(H, C)
    weights = {}
    with torch.no_grad():
        for name, p in list(rnn.named_parameters()) + [("fc." + n, p) for n, p in fc.named_parameters()]:
            value = rng.uniform(-0.6, 0.6, size=tuple(p.shape))
            p.copy_(torch.tensor(value))
            key = name if name.startswith("fc.") else "rnn." + name
            weights[key] = value
    x = random_walk(rng, T, F, 0.35)
    y = rng.integers(0, C, size=T)
    rnn.train()
    out, _, reg = rnn(torch.tensor(x).unsqueeze(1))  # (T, 1, H)
    logits = fc(out.squeeze(1))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y)) + beta * reg
    loss.backward()
    grads = {}
    for name, p in list(rnn.named_parameters()) + [("fc." + n, p) for n, p in fc.named_parameters()]:
        key = name if name.startswith("fc.") else "rnn." + name
        grads[key] = p.grad.detach().numpy()
    flat = lambda d: {k: {"shape": list(v.shape), "values": v.ravel().tolist()} for k, v in d.items()}
    return {
        "cell": cell,
        "layers": layers,
        "features": F,
        "hidden": H,
        "classes": C,
        "theta": theta,
        "beta": beta,
        "x": x.ravel().tolist(),
        "labels": y.tolist(),
        "weights": flat(weights),
        "loss": loss.item(),
        "gradients": flat(grads),
        "reference": "deltalstm3.py (hand-written backward)" if cell == "lstm" else "deltagru.py (autograd)",
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_root = os.path.normpath(os.path.join(here, "../../../shared/reference/reneta"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=default_root, help="the authors' code (reneta)")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    classes = dict(zip(["lstm", "gru"], reference_layers(args.reference)))
    cases = []
    seed = 100
    for cell in ["lstm", "gru"]:
        for layers in [1, 2]:
            for theta, beta in [(0.0, 0.0), (0.1, 0.0), (0.3, 0.0), (0.1, 0.05)]:
                seed += 1
                cases.append(case(classes, cell, layers, theta, beta, seed))
    json.dump({"generator": "tools/golden/authors_grad.py", "torch": torch.__version__, "cases": cases},
              sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
