#!/usr/bin/env bash
# The simulator against the authors' RTL on the workloads of docs/simulator.md's RTL table, in
# FXP16 and BF16, printed as that Markdown table (issue 15):
#   - the authors' setup (gen_rnd_data_rnn.py): a 256 x 256 matrix, 256 steps, sparsity 0 / 0.5
#     / 0.8 / 0.9;
#   - the paper model's layers, LSTM 16 -> 64 and 64 -> 64, and a 1 x 128 LSTM layer on 16
#     features (512 rows: two row tiles), 256 steps at sparsity 0.5 / 0.8 / 0.9;
#   - TRACE, when given: a recorded activity trace (deltarnn train --record-trace), e.g. the demo
#     model's.
#   scripts/rtl-table.sh [TRACE]       (writes under target/rtl/table/)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
trace="${1:-}"
if [ -n "$trace" ] && [ ! -f "$trace" ]; then
    echo "error: no trace file at $trace" >&2
    exit 1
fi
cd "$here"
cargo build --release --locked -q -p deltarnn-cli
bin="$here/target/release/deltarnn"
out="$here/target/rtl/table"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"

# name|flags
workloads=(
    "authors 256x256|--rows 256 --width 256 --steps 256 --sparsity 0,0.5,0.8,0.9"
    "LSTM 16->64|--input-width 16 --width 64 --steps 256 --sparsity 0.5,0.8,0.9"
    "LSTM 64->64|--width 64 --steps 256 --sparsity 0.5,0.8,0.9"
    "LSTM 16->128|--input-width 16 --width 128 --steps 256 --sparsity 0.5,0.8,0.9"
)
if [ -n "$trace" ]; then
    workloads+=("trace $(basename "$trace")|--trace $trace")
fi
index=0
for entry in "${workloads[@]}"; do
    name="${entry%%|*}"
    read -r -a flags <<<"${entry#*|}"
    # The RTL model's speedup over dense for each workload (format-independent).
    "$bin" simulate "${flags[@]}" --json | python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    print(json.dumps({"kind": "speedup", "name": sys.argv[1], "workload": v["workload"],
                      "sparsity": v["sparsity"], "speedup": v["total"]["speedup"]}))' "$name" >> "$results"
    for format in fxp16 bf16; do
        dir="$out/$index-$format"
        "$bin" simulate "${flags[@]}" --format "$format" --emit-rtl-inputs "$dir" 2>/dev/null
        bash scripts/rtl-check.sh "$dir"
        "$bin" simulate --compare-rtl "$dir" --json | python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    v["kind"] = "rtl"
    v["name"] = sys.argv[1]
    print(json.dumps(v))' "$name" >> "$results"
    done
    index=$((index + 1))
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
speedup = {(r["name"], r["workload"]): r for r in rows if r["kind"] == "speedup"}
print("| workload | sparsity | format | tiles | MxV_SP RTL / sim | MTxV_SP RTL / sim | VXV_SP RTL / sim | largest diff | values | speedup over dense |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] != "rtl":
        continue
    s = speedup[(r["name"], r["workload"])]
    c = r["classes"]
    cells = [f'{c[k]["rtl_cycles"]} / {c[k]["sim_cycles"]}' for k in ("mxv", "mtxv", "vxv")]
    worst = max(abs(c[k]["diff_percent"]) for k in c)
    values = "bit-identical" if all(c[k]["values"] == "bit-identical" for k in c) else "DIFFER"
    label = r["name"] if r["name"].startswith("trace") else r["name"]
    print(f'| {label} | {100 * s["sparsity"]:.1f}% | {r["format"]} | {r["tiles"]} | ' + " | ".join(cells)
          + f' | {worst:.2f}% | {values} | {s["speedup"]:.2f}x |')
PY
