#!/usr/bin/env python3
"""Golden values for deltarnn's LSTM and GRU, from an independent numpy implementation.

Weights and inputs come from closed-form formulas (no random generator), in PyTorch's layout
(nn.LSTM / nn.GRU gate order, weight_ih (G*H, F), weight_hh (G*H, H), fc.weight (C, H)).
The script prints, for each cell, the per-frame logits of a 2-layer model
  * dense (standard LSTM/GRU, as PyTorch computes it), and
  * Delta (thresholds 0.1 / 0.1: M_t = M_{t-1} + W delta_t over fired columns, spec section 2).
Its output is pasted into crates/deltarnn/tests/it/golden.rs. Run: python3 tools/golden/rnn.py
"""
import numpy as np

F, H, C, L, T = 3, 4, 3, 2, 7


def weight(rows, cols, seed):
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return 0.5 * np.sin(0.7 * r + 1.3 * c + seed)


def vector(n, seed):
    return 0.3 * np.cos(1.1 * np.arange(n) + seed)


def inputs():
    t = np.arange(T)[:, None]
    f = np.arange(F)[None, :]
    return np.sin(0.4 * t + 0.9 * f) + 0.2 * np.cos(1.7 * t * (f + 1))


def params(gates):
    layers = []
    for k in range(L):
        fk = F if k == 0 else H
        layers.append(dict(
            w_ih=weight(gates * H, fk, 1.0 + k),
            w_hh=weight(gates * H, H, 2.0 + k),
            b_ih=vector(gates * H, 3.0 + k),
            b_hh=vector(gates * H, 4.0 + k),
        ))
    return layers, weight(C, H, 5.0), vector(C, 6.0)


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_gates(m, c_prev):
    i, f, g, o = sig(m[:H]), sig(m[H:2 * H]), np.tanh(m[2 * H:3 * H]), sig(m[3 * H:])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def run(cell, theta):
    gates = 4 if cell == "lstm" else 3
    layers, fc_w, fc_b = params(gates)
    seq = inputs()
    for p in layers:
        h = np.zeros(H)
        c = np.zeros(H)
        out = []
        if theta is None:
            for x in seq:
                if cell == "lstm":
                    h, c = lstm_gates(p["w_ih"] @ x + p["b_ih"] + p["w_hh"] @ h + p["b_hh"], c)
                else:
                    gi = p["w_ih"] @ x + p["b_ih"]
                    gh = p["w_hh"] @ h + p["b_hh"]
                    r = sig(gi[:H] + gh[:H])
                    z = sig(gi[H:2 * H] + gh[H:2 * H])
                    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                    h = (1 - z) * n + z * h
                out.append(h)
        else:
            x_ref = np.zeros(seq.shape[1])
            h_ref = np.zeros(H)
            mx = p["b_ih"].copy()  # input-side memory
            mh = p["b_hh"].copy()  # hidden-side memory
            for x in seq:
                dx = x - x_ref
                fx = np.abs(dx) >= theta
                dx = np.where(fx, dx, 0.0)
                x_ref = np.where(fx, x, x_ref)
                dh = h - h_ref
                fh = np.abs(dh) >= theta
                dh = np.where(fh, dh, 0.0)
                h_ref = np.where(fh, h, h_ref)
                mx = mx + p["w_ih"] @ dx
                mh = mh + p["w_hh"] @ dh
                if cell == "lstm":
                    h, c = lstm_gates(mx + mh, c)
                else:
                    r = sig(mx[:H] + mh[:H])
                    z = sig(mx[H:2 * H] + mh[H:2 * H])
                    n = np.tanh(mx[2 * H:] + r * mh[2 * H:])
                    h = (1 - z) * n + z * h
                out.append(h)
        seq = np.array(out)
    return seq @ fc_w.T + fc_b


def rust_array(name, values):
    flat = ", ".join(f"{v:.17e}" for v in values.ravel())
    return f"const {name}: [f64; {values.size}] = [{flat}];"


if __name__ == "__main__":
    for cell in ("lstm", "gru"):
        print(rust_array(f"{cell.upper()}_DENSE", run(cell, None)))
        print(rust_array(f"{cell.upper()}_DELTA_0_1", run(cell, 0.1)))
