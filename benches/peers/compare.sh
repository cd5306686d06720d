#!/usr/bin/env bash
# PyTorch (nn.LSTM) and JAX against deltarnn on the same training step, run alternately (PyTorch,
# JAX, ours, PyTorch, ...) so that all see the same machine state, then a table of medians and of
# the median pairwise ratio. Not part of CI.
# Usage: benches/peers/compare.sh [PAIRS] [SHAPES] [BATCHES] [THREADS]
#   defaults: 5 rounds, shapes paper,gscd,wide, batch 32, threads "1 2". PEERS="torch" leaves JAX
#   out. Needs benches/peers/setup.sh first and a release build (cargo build --release --locked
#   -p deltarnn-cli).
# One thread: every process pinned to CPU 0 (taskset), timed by CPU time (the peers' process CPU
# time, our thread CPU time). Several threads: not pinned, timed by the wall clock (PyTorch with
# torch.set_num_threads, JAX with XLA's own pool, ours with bench --batch-threads).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pairs="${1:-5}"
shapes="${2:-paper,gscd,wide}"
batches="${3:-32}"
threads_list="${4:-1 2}"
peers="${PEERS:-torch jax}"
python="${PEERS_VENV:-$here/.venv}/bin/python"
deltarnn="$root/target/release/deltarnn"
for tool in "$python" "$deltarnn"; do
    if [ ! -x "$tool" ]; then
        echo "error: $tool is missing (run benches/peers/setup.sh and cargo build --release)" >&2
        exit 1
    fi
done
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for pair in $(seq "$pairs"); do
    for threads in $threads_list; do
        pin=()
        if [ "$threads" = 1 ]; then pin=(taskset -c 0); fi
        for batch in $batches; do
            echo "round $pair/$pairs, $threads thread(s), batch $batch" >&2
            for peer in $peers; do
                "${pin[@]}" "$python" "$here/${peer}_lstm.py" --shape "$shapes" --batch "$batch" --threads "$threads" \
                    --repeats 11 2>/dev/null | grep '^{' | sed "s/^{/{\"threads_asked\": $threads, /" >>"$out/$peer.jsonl"
            done
            "${pin[@]}" "$deltarnn" bench --sections batch --shapes "$shapes" --batch "$batch" \
                --batch-threads "$threads" --repeats 5 --json >>"$out/ours.jsonl"
        done
    done
done
"$python" - "$out" "$peers" <<'PY'
import json, os, statistics, sys
out, peers = sys.argv[1], sys.argv[2].split()
names = {"torch": "PyTorch", "jax": "JAX"}
def rows(path):
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []
ours = {}
for d in rows(f"{out}/ours.jsonl"):
    ours.setdefault((d["threads"], d["shape"], d["batch"]), []).append(d)
timed = {}
for peer in peers:
    for d in rows(f"{out}/{peer}.jsonl"):
        threads = d["threads_asked"]
        ms = d["cpu_ms_per_batch"] if threads == 1 else d["ms_per_batch"]
        timed.setdefault((peer, threads, d["shape"], d["batch"]), []).append(ms)
header = "| threads | shape, batch | " + " | ".join(f"{names[p]} ms" for p in peers)
header += " | our dense ms | Delta ms (fired) | " + " | ".join(f"dense vs {names[p]} | Delta vs {names[p]}" for p in peers) + " |"
print(header)
print("|" + "---|" * (header.count("|") - 1))
for key in sorted(ours):
    threads, shape, batch = key
    o = ours[key]
    dense, delta = [x["dense_ms"] for x in o], [x["delta_ms"] for x in o]
    fired = statistics.median(x["fired_fraction"] for x in o)
    cells = [str(threads), f"{shape}, {batch}"]
    ratios = []
    for peer in peers:
        p = timed.get((peer, threads, shape, batch), [])
        cells.append(f"{statistics.median(p):.1f}" if p else "-")
        if p:
            ratios.append(f"{statistics.median(a / b for a, b in zip(p, dense)):.2f}x")
            ratios.append(f"{statistics.median(a / b for a, b in zip(p, delta)):.2f}x")
        else:
            ratios += ["-", "-"]
    cells += [f"{statistics.median(dense):.1f}", f"{statistics.median(delta):.1f} ({fired:.0%})"] + ratios
    print("| " + " | ".join(cells) + " |")
PY
