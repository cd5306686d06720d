//! The third suite: the accelerator simulator against the authors' RTL, run under Verilator
//! (docs/rtl.md). `cargo test -p deltarnn-cli --features rtl --test rtl`. It builds what it needs
//! under `target/rtl/` with the project's scripts and fails, never skips, when the RTL folder or
//! Verilator is missing.

mod designware;
mod harness;
mod util;
