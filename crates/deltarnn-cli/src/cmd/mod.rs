//! One module per subcommand, each with `Args` and `run`. A subcommand is a leaf: it imports
//! the shared pieces at the crate root (`args`, `dataset`, `training`, `report`, `sequence`,
//! `plot`, `progress`) and never another subcommand (`tests/it/layout.rs` checks it). A
//! subcommand too large for one file is a folder (`bench/`, `learn/`, `simulate/`).

pub mod bench;
pub mod data;
pub mod demo;
pub mod eval;
pub mod features;
pub mod forward;
pub mod grad;
pub mod infer;
pub mod init;
pub mod learn;
pub mod simulate;
pub mod sweep;
pub mod synth;
pub mod train;
