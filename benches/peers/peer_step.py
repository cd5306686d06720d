"""What torch_lstm.py and jax_lstm.py share: the bench shapes, the flags and the JSON record."""

import argparse
import json
import os
import statistics

SHAPES = {  # name: (features, layers, hidden, frames, classes), as in deltarnn bench
    "paper": (16, 2, 64, 150, 31),
    "gscd": (16, 1, 128, 62, 36),
    "wide": (40, 1, 256, 100, 31),
}


def arguments(description, threads_default, threads_help):
    """The flags of both scripts: --shape, --batch, --frames, --threads, --repeats, --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--shape", default="paper,gscd,wide", help="comma-separated shape names")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=0, help="override the shape's frame count")
    parser.add_argument("--threads", type=int, default=threads_default, help=threads_help)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def report(framework, version, shape, args, frames, threads, times, cpu_times, final_loss):
    """Prints one JSON line: medians of wall-clock and process CPU ms per batch."""
    ms = statistics.median(times) * 1e3
    print(
        json.dumps(
            {
                "bench": "peer_train_step",
                "framework": framework,
                "version": version,
                "shape": shape,
                "batch": args.batch,
                "frames": frames,
                "threads": threads,
                "cpus": len(os.sched_getaffinity(0)),
                "ms_per_batch": round(ms, 3),
                "cpu_ms_per_batch": round(statistics.median(cpu_times) * 1e3, 3),
                "sequences_per_s": round(args.batch / ms * 1e3, 1),
                "repeats": args.repeats,
                "final_loss": final_loss,
            }
        ),
        flush=True,
    )
