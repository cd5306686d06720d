#!/usr/bin/env bash
# JAX against deltarnn on one CPU, run alternately (JAX, ours, JAX, ours, ...) so that both see the
# same machine state, then a table of medians and of the median pairwise ratio. Not part of CI.
# Usage: benches/peers/compare.sh [PAIRS] [SHAPES] [BATCHES]
#   defaults: 5 pairs, shapes paper,wide, batches "16 32". Needs benches/peers/setup.sh first and
#   a release build (cargo build --release --locked -p deltarnn-cli).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pairs="${1:-5}"
shapes="${2:-paper,wide}"
batches="${3:-16 32}"
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
    for batch in $batches; do
        echo "pair $pair/$pairs, batch $batch" >&2
        taskset -c 0 "$python" "$here/jax_lstm.py" --shape "$shapes" --batch "$batch" --repeats 11 \
            | grep '^{' >>"$out/jax.jsonl"
        taskset -c 0 "$deltarnn" bench --sections batch --shapes "$shapes" --batch "$batch" --repeats 5 --json \
            >>"$out/ours.jsonl"
    done
done
"$python" - "$out" <<'EOF'
import json, statistics, sys
out = sys.argv[1]
jax, ours = {}, {}
for line in open(f"{out}/jax.jsonl"):
    d = json.loads(line)
    jax.setdefault((d["shape"], d["batch"]), []).append(d["cpu_ms_per_batch"])
for line in open(f"{out}/ours.jsonl"):
    d = json.loads(line)
    ours.setdefault((d["shape"], d["batch"]), []).append((d["dense_ms"], d["delta_ms"], d["fired_fraction"]))
print("| shape, batch | JAX ms | our dense ms | Delta ms (fired) | dense vs JAX | Delta vs JAX |")
print("|---|---|---|---|---|---|")
for key in sorted(jax):
    j, o = jax[key], ours[key]
    dense, delta = [x[0] for x in o], [x[1] for x in o]
    fired = statistics.median(x[2] for x in o)
    dense_ratio = statistics.median(a / b for a, b in zip(j, dense))
    delta_ratio = statistics.median(a / b for a, b in zip(j, delta))
    print(f"| {key[0]}, {key[1]} | {statistics.median(j):.1f} | {statistics.median(dense):.1f} | "
          f"{statistics.median(delta):.1f} ({fired:.0%}) | {dense_ratio:.2f}x | {delta_ratio:.2f}x |")
EOF
