#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install espeak-ng if it is missing (and we may),
# build the release binary, synthesize the default corpus, train the 56k-parameter Delta LSTM with
# sparse BPTT and the same LSTM with dense BPTT, and print them side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-espeak.sh
cargo build --release --locked -p deltarnn-cli
exec ./target/release/deltarnn demo "$@"
