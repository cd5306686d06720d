#!/usr/bin/env python3
"""One training step of the per-frame LSTM classifier in JAX (CPU), timed.

The model and step are the ones `deltarnn bench --batch` times: F inputs, L LSTM layers of H units
(PyTorch gate order i, f, g, o; two biases), a Linear(H, C) head on every frame, mean per-frame
cross-entropy, AdamW (lr 1e-3, weight decay 0.01, decoupled), on B sequences of T frames. The whole
step (forward, backward, update) is one jit-compiled function; the recurrence is a lax.scan.

Usage (after benches/peers/setup.sh):
    taskset -c 0 benches/peers/.venv/bin/python benches/peers/jax_lstm.py --shape paper --batch 32
Prints one JSON line per shape: median wall-clock ms per batch, sequences per second, and the
median process CPU ms per batch (all threads; on a shared machine the steadier figure, comparable
with `deltarnn bench`'s thread CPU time when run on one CPU).
One thread: run under `taskset -c 0` (XLA sizes its thread pool from the CPUs it may use).
"""

import os
import time

from peer_step import SHAPES, arguments, report


def main():
    args = arguments(__doc__.splitlines()[0], 0, "recorded only: XLA sizes its pool from the CPUs it may use (taskset)")

    import jax
    import jax.numpy as jnp

    def init(key, features, layers, hidden, classes):
        params = {"layers": []}
        n_in = features
        for _ in range(layers):
            key, k1, k2 = jax.random.split(key, 3)
            bound = 1.0 / hidden**0.5
            params["layers"].append(
                {
                    "w_ih": jax.random.uniform(k1, (4 * hidden, n_in), jnp.float32, -bound, bound),
                    "w_hh": jax.random.uniform(k2, (4 * hidden, hidden), jnp.float32, -bound, bound),
                    "b_ih": jnp.zeros((4 * hidden,), jnp.float32),
                    "b_hh": jnp.zeros((4 * hidden,), jnp.float32),
                }
            )
            n_in = hidden
        key, k3 = jax.random.split(key)
        params["head_w"] = jax.random.uniform(k3, (classes, hidden), jnp.float32, -0.1, 0.1)
        params["head_b"] = jnp.zeros((classes,), jnp.float32)
        return params

    def lstm_layer(p, xs):  # xs: (T, B, F) -> (T, B, H)
        hidden = p["w_hh"].shape[1]
        batch = xs.shape[1]
        x_proj = jnp.einsum("tbf,gf->tbg", xs, p["w_ih"]) + p["b_ih"] + p["b_hh"]

        def step(carry, xp):
            h, c = carry
            gates = xp + h @ p["w_hh"].T
            i, f, g, o = jnp.split(gates, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zeros = jnp.zeros((batch, hidden), jnp.float32)
        _, hs = jax.lax.scan(step, (zeros, zeros), x_proj)
        return hs

    def loss_fn(params, xs, labels):
        h = xs
        for p in params["layers"]:
            h = lstm_layer(p, h)
        logits = h @ params["head_w"].T + params["head_b"]  # (T, B, C)
        logp = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(logp, labels[..., None], axis=-1)
        return -jnp.mean(picked)

    lr, beta1, beta2, eps, wd = 1e-3, 0.9, 0.999, 1e-8, 0.01

    @jax.jit
    def train_step(params, moments, step, xs, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, xs, labels)
        m, v = moments
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, grads)
        c1 = 1 - beta1**step
        c2 = 1 - beta2**step
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * wd * p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v
        )
        return params, (m, v), loss

    for name in args.shape.split(","):
        features, layers, hidden, frames, classes = SHAPES[name]
        frames = args.frames or frames
        key = jax.random.PRNGKey(args.seed)
        key, kx, ky = jax.random.split(key, 3)
        params = init(key, features, layers, hidden, classes)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        moments = (zeros, zeros)
        xs = jax.random.normal(kx, (frames, args.batch, features), jnp.float32)
        labels = jax.random.randint(ky, (frames, args.batch), 0, classes)
        times, cpu_times = [], []
        for i in range(3 + args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            params, moments, loss = train_step(params, moments, float(i + 1), xs, labels)
            loss.block_until_ready()
            if i >= 3:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
        report(
            "jax",
            jax.__version__,
            name,
            args,
            frames,
            args.threads or len(os.sched_getaffinity(0)),
            times,
            cpu_times,
            float(loss),
        )


if __name__ == "__main__":
    main()
