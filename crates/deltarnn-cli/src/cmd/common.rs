//! Pieces several subcommands share: loading a model, reading an input sequence, thresholds.

use anyhow::{bail, Context, Result};
use deltarnn::nn::Model;
use deltarnn::tensorfile;
use deltarnn::Thresholds;
use std::path::Path;

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
