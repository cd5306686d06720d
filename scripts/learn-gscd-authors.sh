#!/usr/bin/env bash
# The authors' class-incremental protocol on Google Speech Commands v2, as one command:
#   scripts/learn-gscd-authors.sh GSC_V2_DIR OUT
# GSC_V2_DIR is the dataset's own layout (keyword folders, validation_list.txt,
# testing_list.txt). What it runs, from the authors' code (../shared/reference/reneta/DeltaRNN_IL):
#   - the class order of data/gscdv2/label_list_10.csv (label 1 = cat ... 35 = wow),
#     20 base classes then 5 steps of 3 (exp_gscd_il_deltalstm.sh: --num_new_classes 20, then 3);
#   - K = 2000 exemplars (--num_exemplars 2000), split int(K / (classes + 1)) per class;
#   - 1 x 128 Delta LSTM, theta_x = theta_h = 0.1, 20 epochs per increment, batch 32
#     (--rnn_size 128 --thx 0.1 --thh 0.1 --epochs_retrain 20 --batch_size 32);
#   - AdamW at 1e-3 with weight decay 0.01 and gradient clipping at 200 (project.py defaults),
#     each increment's first epoch at a tenth of the rate, then reduce-on-plateau (0.8, 4, 3e-4);
#   - the rest of --protocol authors (scalar normalisation, head/tail frame labels, last-frame
#     readout, renormalised herding, distillation averaged over the exemplars, new rows at bias 0).
# Not reproduced: the authors load a dense LSTM pretrained for 40 epochs before the base task;
# here the base task trains the Delta LSTM from scratch (docs/fidelity.md).
# Environment overrides, for small runs and tests: DELTARNN (the binary), EPOCHS, MEMORY, HIDDEN,
# THREADS, COMPARE_DENSE (true|false), CACHE_DIR.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 GSC_V2_DIR OUT" >&2
    exit 2
fi
data="$1"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
bin="${DELTARNN:-$here/../target/release/deltarnn}"
if [ ! -x "$bin" ]; then
    cargo build --release --locked -p deltarnn-cli --manifest-path "$here/../Cargo.toml" >&2
fi
# label_list_10.csv, labels 1..35 in order.
classes="cat,house,no,bird,seven,two,zero,follow,stop,go,forward,visual,marvin,on,down,tree,sheila,nine,six,left"
classes="$classes,four,learn,right,off,one,backward,happy,dog,five,three,bed,up,eight,yes,wow"
extra=()
if [ -n "${CACHE_DIR:-}" ]; then
    extra+=(--cache-dir "$CACHE_DIR")
fi
if [ -n "${THREADS:-}" ]; then
    extra+=(--threads "$THREADS")
fi
exec "$bin" learn --data "$data" --out "$out" --protocol authors \
    --classes "$classes" --base 20 --step 3 \
    --memory "${MEMORY:-2000}" --layers 1 --hidden "${HIDDEN:-128}" --theta-x 0.1 --theta-h 0.1 \
    --epochs "${EPOCHS:-20}" --batch 32 --lr 1e-3 \
    --compare-dense "${COMPARE_DENSE:-true}" "${extra[@]}"
