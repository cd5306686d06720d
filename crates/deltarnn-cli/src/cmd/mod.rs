//! One module per subcommand, each with `Args` and `run`.

pub mod bench;
pub mod common;
pub mod data;
pub mod dataset;
pub mod demo;
pub mod features;
pub mod forward;
pub mod grad;
pub mod init;
pub mod report;
pub mod synth;
pub mod train;
