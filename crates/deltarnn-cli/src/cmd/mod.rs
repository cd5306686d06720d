//! One module per subcommand, each with `Args` and `run`.
pub mod data;
pub mod features;
pub mod synth;
