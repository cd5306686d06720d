"""A Delta LSTM trained inside a PyTorch loop (deltarnn.torch.DeltaRNN: sparse BPTT in forward
and backward) next to PyTorch's own nn.LSTM (dense, autograd, padded batches), on a keyword
dataset: the same model, loss (per-frame cross-entropy), AdamW, batch, epochs, seed and thread
count. Prints per epoch the validation accuracy and the seconds of each, then the summary.

    RAYON_NUM_THREADS=1 python crates/deltarnn-py/examples/torch_asc10.py DATA [--epochs 30] [--threads 1]

Needs PyTorch (pip install torch). DATA: any folder deltarnn reads (e.g. ../shared/data/asc10).
"""

import argparse
import time

import numpy as np
import torch
from torch import nn

import deltarnn
from deltarnn.torch import DeltaRNN


def accuracy(logits_list, labels) -> float:
    """Last-non-silence readout: the class of the last frame whose arg-max is not background."""
    right = 0
    for logits, label in zip(logits_list, labels):
        classes = logits.argmax(1).tolist()
        voted = [c for c in classes if c != 0]
        right += int(bool(voted) and voted[-1] == label + 1)
    return right / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--theta", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dataset = deltarnn.load_dataset(args.data, cache_dir=args.cache_dir)
    train_x, train_frames = dataset.train
    valid_x, _ = dataset.valid
    valid_labels = dataset.sequence_labels("valid")
    # The dataset's normaliser, applied once here for both networks (DeltaRNN applies none): mean
    # and deviation of the training frames, one scalar pair under the authors' protocol.
    frames = np.concatenate(train_x)
    if dataset.protocol == "authors":
        mean, std = frames.mean(), frames.std()
    else:
        mean, std = frames.mean(0), frames.std(0)
    train_t = [torch.from_numpy((x - mean) / std).float() for x in train_x]
    valid_t = [torch.from_numpy((x - mean) / std).float() for x in valid_x]
    targets = [torch.from_numpy(f + 1) for f in train_frames]  # background -1 -> class 0
    n_classes = len(dataset.classes)

    delta = DeltaRNN(dataset.n_features, n_classes, hidden=args.hidden, layers=1, theta_x=args.theta,
                     theta_h=args.theta, seed=1)
    lstm, fc = nn.LSTM(dataset.n_features, args.hidden, batch_first=True), nn.Linear(args.hidden, n_classes + 1)
    lstm.load_state_dict(delta.rnn.state_dict())
    fc.load_state_dict(delta.fc.state_dict())
    optimisers = {
        "delta": torch.optim.AdamW(delta.parameters(), lr=args.lr, weight_decay=0.01),
        "nn.LSTM": torch.optim.AdamW(list(lstm.parameters()) + list(fc.parameters()), lr=args.lr, weight_decay=0.01),
    }

    def delta_logits(xs):
        return delta(xs)

    def lstm_logits(xs):
        lengths = torch.tensor([len(x) for x in xs])
        padded = nn.utils.rnn.pad_sequence(xs, batch_first=True)
        packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        return [fc(out[i, : lengths[i]]) for i in range(len(xs))]

    networks = {"delta": delta_logits, "nn.LSTM": lstm_logits}
    seconds = {name: [] for name in networks}
    best = {name: 0.0 for name in networks}
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train_t), generator=torch.Generator().manual_seed(epoch)).tolist()
        line = [f"epoch {epoch:3d}"]
        for name, run in networks.items():
            start = time.perf_counter()
            for b in range(0, len(order), args.batch):
                batch = order[b : b + args.batch]
                logits = run([train_t[i] for i in batch])
                frames_in_batch = sum(len(targets[i]) for i in batch)
                loss = sum(
                    nn.functional.cross_entropy(l, targets[i], reduction="sum") for l, i in zip(logits, batch)
                ) / frames_in_batch
                optimisers[name].zero_grad()
                loss.backward()
                optimisers[name].step()
            seconds[name].append(time.perf_counter() - start)
            with torch.no_grad():
                acc = accuracy(run(valid_t), valid_labels)
            best[name] = max(best[name], acc)
            line.append(f"{name}: valid {100 * acc:5.1f}% {seconds[name][-1]:6.2f} s")
        print("  ".join(line), flush=True)
    median = {name: float(np.median(s)) for name, s in seconds.items()}
    print(
        f"best valid accuracy: delta {100 * best['delta']:.1f}%, nn.LSTM {100 * best['nn.LSTM']:.1f}%; "
        f"median s per epoch ({args.threads} thread(s)): delta {median['delta']:.2f}, "
        f"nn.LSTM {median['nn.LSTM']:.2f} ({median['nn.LSTM'] / median['delta']:.2f}x)"
    )


if __name__ == "__main__":
    main()
