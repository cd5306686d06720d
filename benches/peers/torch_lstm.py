#!/usr/bin/env python3
"""One training step of the per-frame LSTM classifier in PyTorch (CPU, nn.LSTM), timed.

The model and step are the ones `deltarnn bench --sections batch` and `jax_lstm.py` time: F
inputs, L LSTM layers of H units (nn.LSTM: gate order i, f, g, o, two biases; oneDNN on CPU), a
Linear(H, C) head on every frame, mean per-frame cross-entropy, torch.optim.AdamW (lr 1e-3,
weight decay 0.01), on B sequences of T frames, padded to one (T, B, F) tensor as PyTorch users
batch them.

Usage (after benches/peers/setup.sh):
    taskset -c 0 benches/peers/.venv/bin/python benches/peers/torch_lstm.py --shape paper --threads 1
    benches/peers/.venv/bin/python benches/peers/torch_lstm.py --shape paper --threads 2
Prints one JSON line per shape: median wall-clock ms per batch, sequences per second, and the
median process CPU ms per batch (all threads).
"""

import time

from peer_step import SHAPES, arguments, report


def main():
    args = arguments(__doc__.splitlines()[0], 1, "torch.set_num_threads")

    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    class Classifier(torch.nn.Module):
        def __init__(self, features, layers, hidden, classes):
            super().__init__()
            self.rnn = torch.nn.LSTM(features, hidden, num_layers=layers)
            self.fc = torch.nn.Linear(hidden, classes)

        def forward(self, xs):  # (T, B, F) -> (T, B, C)
            hs, _ = self.rnn(xs)
            return self.fc(hs)

    for name in args.shape.split(","):
        features, layers, hidden, frames, classes = SHAPES[name]
        frames = args.frames or frames
        torch.manual_seed(args.seed)
        model = Classifier(features, layers, hidden, classes)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        xs = torch.randn(frames, args.batch, features)
        labels = torch.randint(0, classes, (frames, args.batch))
        times, cpu_times = [], []
        for i in range(3 + args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            optimizer.zero_grad(set_to_none=True)
            logits = model(xs)
            loss = loss_fn(logits.reshape(-1, classes), labels.reshape(-1))
            loss.backward()
            optimizer.step()
            if i >= 3:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
        report("torch", torch.__version__, name, args, frames, args.threads, times, cpu_times, float(loss.detach()))


if __name__ == "__main__":
    main()
