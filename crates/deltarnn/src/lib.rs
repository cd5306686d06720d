//! deltarnn: Delta LSTM and Delta GRU with exact temporally sparse backpropagation through time.
//!
//! A Delta RNN sends a neuron's value into the next matrix product only when it has changed by at
//! least a threshold since it was last sent ([`delta`]). The forward pass multiplies only the
//! weight columns of fired neurons, and the exact backward pass ([`nn::Layer::backward`]) touches
//! exactly the same columns, so training skips most of the matrix work with an exact gradient.
//!
//! Data flow: frames `x` (steps x F) -> [`nn::Model::forward`] (per layer: [`delta::encode`] ->
//! [`kernels::spmv_forward`] -> gates) -> per-frame logits -> [`nn::loss`] -> [`nn::Model::backward`]
//! ([`kernels::spmv_backward`] on the fired columns) -> gradients. The activity trace recorded on
//! the way ([`delta::ActivityTrace`]) is what [`cost`] counts. [`train`] runs batches of sequences
//! in parallel with AdamW and keeps a resumable run directory; [`incremental`] learns new classes
//! one increment at a time (exemplars, distillation, nearest mean of exemplars) on top of it.
//!
//! Audio side: [`audio`] turns WAV files into normalised log-mel frames, [`data`] finds and loads
//! datasets (with a feature cache) into [`data::Dataset`], and [`synth`] generates a spoken-commands
//! corpus with espeak-ng.
//!
//! ```
//! use deltarnn::{nn::{init_params, Mode, ModelConfig, CellKind, SequenceTape}, Thresholds};
//! let config = ModelConfig { cell: CellKind::Lstm, n_features: 4, n_layers: 1, n_hidden: 8,
//!                            n_classes: 3, thresholds: Thresholds::both(0.1) };
//! let model = init_params::<f32>(&config, 1).unwrap();
//! let x: Vec<f32> = (0..40).map(|i| (i as f32 * 0.3).sin()).collect(); // 10 frames of 4
//! let mut tape = SequenceTape::default();
//! model.forward(&x, Mode::Delta(config.thresholds), &mut tape);
//! assert_eq!(tape.logits.len(), 10 * 3);
//! let cost = deltarnn::cost::CostReport::from_tape(&config, &tape, Mode::Delta(config.thresholds));
//! let training = cost.total().training();
//! assert!(training.actual_macs <= training.dense_macs);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audio;
pub mod bundle;
pub mod checkpoint;
pub mod cost;
pub mod data;
pub mod delta;
pub mod error;
pub mod files;
pub mod incremental;
pub mod kernels;
pub mod nn;
pub mod protocol;
pub mod rng;
pub mod signals;
pub mod sim;
pub mod synth;
pub mod tensorfile;
pub mod tracefile;
pub mod train;

pub use delta::Thresholds;
pub use error::{Error, Result};
pub use protocol::Protocol;
