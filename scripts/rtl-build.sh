#!/usr/bin/env bash
# Builds the authors' accelerator RTL (fixed-point PE array) and their testbench with Verilator,
# from ../shared/reference/reneta/HDL (read there, never copied into the project), into
# target/rtl/, with tools/rtl/tb-verilator.patch applied to a scratch copy of the testbench.
# Work in progress for issue 15 (docs/rtl.md says what runs and what does not yet).
#   scripts/rtl-build.sh [RTL_DIR]      (default: ../shared/reference/reneta/HDL)
# Then run the testbench from target/rtl/run/a/b/c (it reads ../../../../dat, i.e. target/rtl/dat,
# where the authors' DTv1_perf_estm/gen_rnd_data_rnn.py writes its files).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rtl="${1:-$here/../shared/reference/reneta/HDL}"
if [ ! -f "$rtl/dtv1_tb.sv" ]; then
    echo "error: no authors' RTL at $rtl (expected dtv1_tb.sv there; pass the HDL folder)" >&2
    exit 1
fi
bash "$here/scripts/ensure-verilator.sh"
out="$here/target/rtl"
mkdir -p "$out/src/HDL" "$out/dat" "$out/run/a/b/c"
cp "$rtl"/*.sv "$out/src/HDL/"
chmod u+w "$out/src/HDL/"*.sv
(cd "$out/src" && patch -s -p1 < "$here/tools/rtl/tb-verilator.patch")
cd "$out/src/HDL"
# Package and leaf modules first; the fixed-point array (dtv1_macc_fxp.sv) needs nothing else.
verilator --binary --timing -Wno-fatal -Wno-lint -Wno-style -Wno-BLKANDNBLK --top-module tb_DTv1 \
    --Mdir "$out/obj_fxp" -o tb_fxp \
    dtv1_pkg.sv dtv1_fifo.sv dtv1_bram_sdp.sv dtv1_bram_sp.sv dtv1_axis_broadcast.sv dtv1_macc_fxp.sv \
    dtv1_smem_fifo.sv dtv1_smem.sv dtv1_spm.sv dtv1_srg0.sv dtv1_srg.sv dtv1_drg.sv dtv1_dmx.sv \
    dtv1_ccm.sv dtv1.sv dtv1_tb.sv > "$out/build_fxp.log" 2>&1 || {
    echo "error: Verilator failed to build the fixed-point testbench; see $out/build_fxp.log" >&2
    exit 1
}
echo "built $out/obj_fxp/tb_fxp" >&2
