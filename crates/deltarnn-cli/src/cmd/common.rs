//! Pieces several subcommands share: loading a model, reading an input sequence, thresholds.

use anyhow::{bail, Context, Result};
use deltarnn::nn::{Mode, Model};
use deltarnn::tensorfile;
use deltarnn::Thresholds;
use std::path::{Path, PathBuf};

/// Loads a checkpoint, naming the file on failure.
pub fn load_model(path: &Path) -> Result<Model<f32>> {
    let (model, _) = deltarnn::checkpoint::load(path).with_context(|| format!("loading model {}", path.display()))?;
    Ok(model)
}

/// Reads tensor `x` of shape (T, F) from `path` and checks it against the model's feature count.
pub fn read_input(path: &Path, n_features: usize) -> Result<(usize, Vec<f64>)> {
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

/// The model's thresholds, overridden by the command-line values that are given.
pub fn thresholds(model: &Model<f32>, theta_x: Option<f64>, theta_h: Option<f64>) -> Result<Thresholds> {
    let t = Thresholds {
        input: theta_x.unwrap_or(model.config.thresholds.input),
        hidden: theta_h.unwrap_or(model.config.thresholds.hidden),
    };
    for (name, v) in [("--theta-x", t.input), ("--theta-h", t.hidden)] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{name} must be a finite number >= 0, got {v}");
        }
    }
    Ok(t)
}

/// The flags `forward` and `grad` share: a model, one input sequence, thresholds, precision.
#[derive(clap::Args)]
pub struct SequenceArgs {
    /// Model checkpoint (safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Input file (safetensors with tensor `x`, F32 or F64, shape (frames, features)).
    #[arg(long)]
    pub input: PathBuf,
    /// Input threshold theta_x (default: the model's).
    #[arg(long)]
    pub theta_x: Option<f64>,
    /// Hidden threshold theta_h (default: the model's).
    #[arg(long)]
    pub theta_h: Option<f64>,
    /// Run the standard (dense) LSTM/GRU with ordinary BPTT instead of the Delta network.
    #[arg(long)]
    pub dense: bool,
    /// Compute in f64 instead of f32 (outputs are still written as F32).
    #[arg(long)]
    pub f64: bool,
    /// Where to write the outputs.
    #[arg(long)]
    pub out: PathBuf,
}

impl SequenceArgs {
    /// Loads the model and the input and picks the mode: (model, frames, x, mode).
    pub fn load(&self) -> Result<(Model<f32>, usize, Vec<f64>, Mode)> {
        let model = load_model(&self.model)?;
        let (steps, x) = read_input(&self.input, model.config.n_features)?;
        let mode = if self.dense { Mode::Dense } else { Mode::Delta(thresholds(&model, self.theta_x, self.theta_h)?) };
        Ok((model, steps, x, mode))
    }
}
