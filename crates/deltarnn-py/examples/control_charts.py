"""A non-speech example: the Synthetic Control Chart time series (Alcock and Manolopoulos, 1999;
UCI "Synthetic Control Chart Time Series"), generated here from its published definition: 60
readings of a process, in six classes (normal, cyclic, increasing and decreasing trend, upward
and downward shift). Writes the `sequences` layout, trains a Delta LSTM on it with deltarnn's
defaults, and prints the accuracy, the temporal sparsity and the matrix work saved.

    python crates/deltarnn-py/examples/control_charts.py [OUT_DIR]
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import deltarnn

CLASSES = ["normal", "cyclic", "increasing", "decreasing", "upward-shift", "downward-shift"]


def chart(kind: int, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """One series of class `kind`: y(t) = m + r s + pattern, m = 30, s = 2, r uniform in [-3, 3]."""
    t = np.arange(1, n + 1)
    y = 30 + rng.uniform(-3, 3, n) * 2
    if kind == 1:
        y += rng.uniform(10, 15) * np.sin(2 * np.pi * t / rng.uniform(10, 15))
    elif kind in (2, 3):
        y += (1 if kind == 2 else -1) * rng.uniform(0.2, 0.5) * t
    elif kind in (4, 5):
        start = rng.uniform(n / 3, 2 * n / 3)
        y += (1 if kind == 4 else -1) * rng.uniform(7.5, 20) * (t >= start)
    return y.astype(np.float32).reshape(n, 1)


def generate(out: Path, per_class: int = 100, seed: int = 0) -> None:
    """per_class series of each class, split 70 / 15 / 15 per class."""
    rng = np.random.default_rng(seed)
    splits = {"train": ([], []), "valid": ([], []), "test": ([], [])}
    for kind in range(len(CLASSES)):
        for i in range(per_class):
            split = "train" if i < 0.7 * per_class else "valid" if i < 0.85 * per_class else "test"
            splits[split][0].append(chart(kind, rng))
            splits[split][1].append(kind)
    for name, (sequences, labels) in splits.items():
        deltarnn.save_sequences(out / f"{name}.safetensors", sequences, labels, classes=CLASSES)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="control-charts-"))
    out.mkdir(parents=True, exist_ok=True)
    generate(out)
    dataset = deltarnn.load_dataset(out)
    print(dataset)
    for theta in (0.0, 0.1):
        start = time.perf_counter()
        model = deltarnn.train(out, out / f"model-theta-{theta}.safetensors", layers=1, hidden=32, theta_x=theta,
                               theta_h=theta, epochs=40, batch=16, lr=5e-3, early_stop=0, seed=1,
                               readout="mean-over-frames")
        seconds = time.perf_counter() - start
        result = model.evaluate(*dataset.test, readout="mean-over-frames")
        training = result["cost"]["total"]["training"]
        print(f"theta {theta}: test accuracy {100 * result['accuracy']:.1f}%, sparsity "
              f"{100 * result['sparsity']['overall']:.1f}%, training matrix ops "
              f"-{100 * training['reduction']:.1f}%, {seconds:.1f} s")


if __name__ == "__main__":
    main()
