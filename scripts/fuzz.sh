#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) one after the other, with one job each, and
# prints libFuzzer's final statistics per target: executions, coverage, crashes.
#
#   ./scripts/fuzz.sh            # 10 minutes per target
#   ./scripts/fuzz.sh 30 wav     # 30 seconds, the wav target only
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Corpora start
# from the battery of tests/bad_inputs/ (see scripts/make-bad-inputs.py) and grow under
# fuzz/corpus/<target> (not committed). A crasher lands in fuzz/artifacts/<target>/: copy it to
# crates/deltarnn/tests/fuzz_regressions/<target>/ so the normal test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-600}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(wav manifest checkpoint tensorfile tracefile)
fi
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
# One build of every target (release, debug assertions and overflow checks on, AddressSanitizer),
# then each binary runs on its own: later edits to the sources do not trigger a rebuild mid-run.
# FUZZ_SKIP_BUILD=1 reuses the binaries already built.
if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
    (cd fuzz && cargo +nightly fuzz build --release --debug-assertions)
fi
BIN_DIR="$CARGO_TARGET_DIR/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

# Seed corpora: the battery's files whose name says which reader they are for.
seed() {
    local target=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    case $target in
        wav) cp tests/bad_inputs/*.wav "$dir"/ 2>/dev/null || true ;;
        manifest) cp tests/bad_inputs/*.csv tests/bad_inputs/*.txt "$dir"/ 2>/dev/null || true ;;
        checkpoint | tensorfile) cp tests/bad_inputs/*.safetensors "$dir"/ 2>/dev/null || true ;;
        tracefile) cp tests/bad_inputs/*.drt "$dir"/ 2>/dev/null || true ;;
    esac
    # Earlier crashers stay in the corpus so fixed bugs are exercised again.
    cp crates/deltarnn/tests/fuzz_regressions/"$target"/* "$dir"/ 2>/dev/null || true
}

printf '%-12s %8s %12s %8s %8s %s\n' target seconds execs cov ft crashes
for target in "${TARGETS[@]}"; do
    seed "$target"
    log=fuzz/logs/$target.log
    mkdir -p fuzz/logs fuzz/artifacts/"$target"
    : >"$log"
    before=$(find fuzz/artifacts/"$target" -type f | wc -l)
    # libFuzzer stops at the first crash; restart until the time is spent so one finding does not
    # end the run (each crasher is saved under its input's hash). Executions add up over restarts.
    start=$(date +%s) execs=0 runs=0
    while :; do
        left=$((SECONDS_PER_TARGET - ($(date +%s) - start)))
        [ "$left" -gt 0 ] && [ "$runs" -lt 50 ] || break
        runs=$((runs + 1))
        "$BIN_DIR/$target" -max_total_time="$left" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
            -artifact_prefix=fuzz/artifacts/"$target"/ fuzz/corpus/"$target" >"$log.run" 2>&1 || true
        cat "$log.run" >>"$log"
        n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log.run" | grep -o '[0-9]*$' | tail -1)
        execs=$((execs + ${n:-0}))
    done
    rm -f "$log.run"
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    after=$(find fuzz/artifacts/"$target" -type f | wc -l)
    printf '%-12s %8s %12s %8s %8s %s\n' "$target" "$SECONDS_PER_TARGET" "$execs" "${cov:-?}" "${ft:-?}" \
        "$((after - before)) new, $runs run(s) (fuzz/artifacts/$target)"
done
