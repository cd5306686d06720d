"""Sweeps that spread over a cluster: threshold x cell x seed, each a deltarnn training run as a
Ray task, reported as ``deltarnn sweep``'s table.

Ray is optional (``pip install ray``). The same code runs on this machine (``ray.init`` with its
cores) and on a Ray cluster (``address="auto"`` or ``ray://...``) unchanged; the dataset folder
must be readable at the same path on every node.

    python -m deltarnn.tune --data ../shared/data/asc10 --thetas 0,0.1,0.2 --seeds 0,1 --workers 2
"""

import argparse
import itertools
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

__all__ = ["Trial", "run_trial", "sweep", "table", "main"]


@dataclass(frozen=True)
class Trial:
    """One training run of the sweep (theta None: the dense baseline of its cell)."""

    cell: str
    theta: Optional[float]
    seed: int


def run_trial(data: str, trial: Trial, settings: Dict[str, Any]) -> Dict[str, Any]:
    """Trains one model on ``data`` as ``deltarnn sweep`` does and returns its row: test and
    validation accuracy, sparsity, op reduction, epochs and seconds."""
    import deltarnn

    settings = dict(settings)
    protocol = settings.pop("protocol", "authors")
    cache_dir = settings.pop("cache_dir", None)
    model_options = {k: settings.pop(k) for k in ("layers", "hidden") if k in settings}
    dataset = deltarnn.load_dataset(data, protocol=protocol, cache_dir=cache_dir)
    theta = 0.0 if trial.theta is None else trial.theta
    model = deltarnn.Model.from_dataset(
        dataset, cell=trial.cell, theta_x=theta, theta_h=theta, seed=trial.seed, **model_options
    )
    valid = dataset.valid
    start = time.perf_counter()
    history = model.fit(
        *dataset.train,
        valid=valid if len(valid[0]) else None,
        normalize=False,
        dense=trial.theta is None,
        **settings,
    )
    seconds = time.perf_counter() - start
    test = dataset.test if len(dataset.test[0]) else valid
    result = model.evaluate(*test, dense=trial.theta is None)
    ops_dense = sum(r["ops_dense"] for r in history)
    ops_actual = sum(r["ops_actual"] for r in history)
    best = max(history, key=lambda r: r["valid_accuracy"])
    return {
        **asdict(trial),
        "test_accuracy": result["accuracy"],
        "valid_accuracy": best["valid_accuracy"],
        "sparsity": history[-1]["sparsity"]["overall"],
        "op_reduction": 1.0 - ops_actual / ops_dense if ops_dense else 0.0,
        "epochs": len(history),
        "train_seconds": seconds,
        "epoch_seconds": seconds / max(len(history), 1),
    }


def sweep(
    data: str,
    *,
    thetas: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3),
    cells: Sequence[str] = ("lstm",),
    seeds: Sequence[int] = (0,),
    dense_baseline: bool = True,
    address: Optional[str] = None,
    workers: Optional[int] = None,
    threads_per_trial: int = 1,
    **settings: Any,
) -> List[Dict[str, Any]]:
    """Runs every (cell, theta, seed) trial (plus a dense baseline per cell and seed) as a Ray
    task of ``threads_per_trial`` CPUs and returns the rows in trial order. ``address``: a Ray
    cluster (None starts Ray on this machine with ``workers`` CPUs, default all cores).
    ``settings``: ``Model.fit`` options (epochs, batch, lr, l1_beta, ...), layers, hidden,
    protocol, cache_dir."""
    import ray

    data = os.path.abspath(data)
    trials = [Trial(c, t, s) for c, s, t in itertools.product(cells, seeds, ([None] if dense_baseline else []) + list(thetas))]
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=threads_per_trial)(run_trial)
        options = dict(settings, threads=threads_per_trial)
        return ray.get([remote.remote(data, trial, options) for trial in trials])
    finally:
        if started_here:
            ray.shutdown()


def table(rows: Iterable[Dict[str, Any]]) -> str:
    """The rows as ``deltarnn sweep``'s Markdown table (speed-up against the dense run of the same
    cell and seed)."""
    rows = list(rows)
    dense = {(r["cell"], r["seed"]): r["epoch_seconds"] for r in rows if r["theta"] is None}
    lines = [
        "| cell | theta | seed | test acc | valid acc | sparsity | op reduction | epochs | s per epoch | speedup per epoch vs dense |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = dense.get((r["cell"], r["seed"]))
        speedup = f"{base / r['epoch_seconds']:.2f}x" if base and r["epoch_seconds"] else "-"
        theta = "dense" if r["theta"] is None else f"{r['theta']:g}"
        lines.append(
            f"| {r['cell']} | {theta} | {r['seed']} | {100 * r['test_accuracy']:.1f}% | {100 * r['valid_accuracy']:.1f}% | "
            f"{100 * r['sparsity']:.1f}% | {100 * r['op_reduction']:.1f}% | {r['epochs']} | {r['epoch_seconds']:.3f} | {speedup} |"
        )
    return "\n".join(lines)


def _floats(text: str) -> List[float]:
    values = [float(v) for v in text.split(",") if v]
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be finite and non-negative: {text}")
    return values


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deltarnn.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder (any layout deltarnn reads)")
    parser.add_argument("--thetas", type=_floats, default=[0.0, 0.05, 0.1, 0.2, 0.3])
    parser.add_argument("--cells", default="lstm", help="comma-separated: lstm,gru")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start Ray here)")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray (default: all cores)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--l1-beta", type=float, default=0.0)
    parser.add_argument("--early-stop", type=int, default=8)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--protocol", default="authors")
    parser.add_argument("--no-dense", action="store_true", help="skip the dense baseline")
    args = parser.parse_args(argv)
    rows = sweep(
        args.data,
        thetas=args.thetas,
        cells=args.cells.split(","),
        seeds=[int(s) for s in args.seeds.split(",")],
        dense_baseline=not args.no_dense,
        address=args.address,
        workers=args.workers,
        layers=args.layers,
        hidden=args.hidden,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        l1_beta=args.l1_beta,
        early_stop=args.early_stop,
        cache_dir=args.cache_dir,
        protocol=args.protocol,
    )
    print(table(rows))


if __name__ == "__main__":
    main()
