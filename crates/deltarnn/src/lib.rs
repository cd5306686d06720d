//! Delta RNNs (Delta LSTM and Delta GRU) with exact temporally sparse BPTT.
//!
//! Audio side: [`audio`] turns WAV files into normalised log-mel frames, [`data`] finds and loads
//! datasets (with a feature cache) into [`data::Dataset`], and [`synth`] generates a spoken-commands
//! corpus with espeak-ng.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
pub mod audio;
pub mod data;
pub mod error;
pub mod rng;
pub mod synth;
pub use error::{Error, Result};
