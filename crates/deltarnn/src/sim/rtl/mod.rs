//! The accelerator as the authors' RTL builds it (`../shared/reference/reneta/HDL`, docs/rtl.md):
//! its arithmetic on raw words ([`arith`]), one instruction tile's inputs, outputs and testbench
//! files ([`tile`]), the cutting of a layer into legal tiles ([`tiling`]), and the RTL's cycle
//! counts per instruction ([`cycles`]). `scripts/rtl-check.sh` runs the tiles that
//! `deltarnn simulate --emit-rtl-inputs` writes on the RTL under Verilator, and the `rtl` test
//! suite holds the two against each other.

pub mod arith;
pub mod cycles;
pub mod ops;
pub mod tile;
pub mod tiling;
