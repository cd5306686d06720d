//! One input sequence through a model, as `forward` and `grad` take it: their shared flags,
//! loading the model and the input tensor, and the JSON line both print.

use crate::args::ModeArgs;
use anyhow::{bail, Context, Result};
use deltarnn::cost::CostReport;
use deltarnn::nn::{Mode, Model};
use deltarnn::tensorfile;
use std::path::{Path, PathBuf};

/// The flags `forward` and `grad` share: a model, one input sequence, the mode, precision.
#[derive(clap::Args)]
pub struct SequenceArgs {
    /// Model checkpoint (safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Input file (safetensors with tensor `x`, F32 or F64, shape (frames, features)).
    #[arg(long)]
    pub input: PathBuf,
    #[command(flatten)]
    pub mode: ModeArgs,
    /// Compute in f64 instead of f32 (outputs are still written as F32).
    #[arg(long)]
    pub f64: bool,
    /// Where to write the outputs.
    #[arg(long)]
    pub out: PathBuf,
}

/// A model, one input sequence for it, and the mode to run it in.
pub struct Loaded {
    /// The model.
    pub model: Model<f32>,
    /// Frames of the input.
    pub steps: usize,
    /// The input, frames x features, row-major.
    pub x: Vec<f64>,
    /// Delta (at the chosen thresholds) or dense.
    pub mode: Mode,
}

impl SequenceArgs {
    /// Loads the model and the input and picks the mode.
    pub fn load(&self) -> Result<Loaded> {
        let (model, _) = deltarnn::checkpoint::load(&self.model)
            .with_context(|| format!("loading model {}", self.model.display()))?;
        let (steps, x) = read_input(&self.input, model.config.n_features)?;
        let mode = self.mode.resolve(&model)?;
        Ok(Loaded { model, steps, x, mode })
    }
}

/// Reads tensor `x` of shape (T, F) from `path` and checks it against the model's feature count.
fn read_input(path: &Path, n_features: usize) -> Result<(usize, Vec<f64>)> {
    let tensor = tensorfile::read_float(path, "x").with_context(|| format!("reading input {}", path.display()))?;
    match tensor.shape[..] {
        [steps, f] if f == n_features && steps > 0 => Ok((steps, tensor.data)),
        [_, f] if f != n_features => {
            bail!("{}: input 'x' has {f} features per frame, the model expects {n_features}", path.display())
        }
        [0, _] => bail!("{}: input 'x' has no frames", path.display()),
        _ => bail!("{}: input 'x' has shape {:?}, expected (frames, {n_features})", path.display(), tensor.shape),
    }
}

/// The JSON line `forward` and `grad` print: frames, mode, thresholds and the cost report.
pub fn report_line(steps: usize, mode: Mode, cost: &CostReport) -> serde_json::Value {
    serde_json::json!({"frames": steps, "mode": mode.kind(), "thresholds": mode.thresholds(), "cost": cost.to_json()})
}
