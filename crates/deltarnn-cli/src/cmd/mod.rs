//! One module per subcommand, each with `Args` and `run`.

pub mod bench;
pub mod common;
pub mod data;
pub mod dataset;
pub mod demo;
pub mod eval;
pub mod features;
pub mod forward;
pub mod grad;
pub mod infer;
pub mod init;
pub mod learn;
pub mod report;
pub mod simulate;
pub mod simulate_sweep;
pub mod sweep;
pub mod synth;
pub mod train;
