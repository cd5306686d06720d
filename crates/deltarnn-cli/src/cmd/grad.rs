//! `deltarnn grad`: the loss and every parameter gradient for one labelled sequence.

use super::common::{load_model, read_input, thresholds};
use super::forward::report;
use anyhow::{bail, Context, Result};
use deltarnn::checkpoint::to_named_tensors;
use deltarnn::cost::CostReport;
use deltarnn::kernels::Real;
use deltarnn::nn::loss::{check_labels, is_ignored};
use deltarnn::nn::{Mode, Model, Params, SequenceTape};
use deltarnn::tensorfile::{self, NamedTensor};
use std::path::PathBuf;

/// Compute the mean per-frame cross-entropy of tensor `x` against frame labels `y` and write
/// `loss` and the gradient of every parameter under the parameter's own (PyTorch) name.
#[derive(clap::Args)]
pub struct Args {
    /// Model checkpoint (safetensors).
    #[arg(long)]
    model: PathBuf,
    /// Input file (safetensors with tensor `x`, shape (frames, features)).
    #[arg(long)]
    input: PathBuf,
    /// Labels file (safetensors with tensor `y`, I64 or I32, shape (frames); negative = ignored).
    #[arg(long)]
    labels: PathBuf,
    /// Input threshold theta_x (default: the model's).
    #[arg(long)]
    theta_x: Option<f64>,
    /// Hidden threshold theta_h (default: the model's).
    #[arg(long)]
    theta_h: Option<f64>,
    /// L1 penalty beta * sum |delta_h| added to the loss (delta mode only).
    #[arg(long, default_value_t = 0.0)]
    l1_beta: f64,
    /// Ordinary BPTT of the standard (dense) LSTM/GRU instead of the sparse Delta backward.
    #[arg(long)]
    dense: bool,
    /// Compute in f64 instead of f32 (outputs are still written as F32).
    #[arg(long)]
    f64: bool,
    /// Where to write the loss and gradients.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `deltarnn grad`.
pub fn run(args: Args) -> Result<()> {
    let model = load_model(&args.model)?;
    let (steps, x) = read_input(&args.input, model.config.n_features)?;
    let (shape, labels) =
        tensorfile::read_int(&args.labels, "y").with_context(|| format!("reading labels {}", args.labels.display()))?;
    if shape != [steps] {
        bail!("{}: labels 'y' have shape {shape:?}, the input has {steps} frames", args.labels.display());
    }
    if let Err((t, label)) = check_labels(&labels, model.config.n_classes) {
        bail!(
            "{}: label {label} at frame {t} is not a class of this model (0..{})",
            args.labels.display(),
            model.config.n_classes
        );
    }
    if labels.iter().all(|&l| is_ignored(l)) {
        bail!("{}: every label is negative (ignored), so the loss is undefined", args.labels.display());
    }
    if !(args.l1_beta.is_finite() && args.l1_beta >= 0.0) {
        bail!("--l1-beta must be a finite number >= 0, got {}", args.l1_beta);
    }
    let mode = if args.dense { Mode::Dense } else { Mode::Delta(thresholds(&model, args.theta_x, args.theta_h)?) };
    let (loss, tensors, cost) = if args.f64 {
        gradients::<f64>(&model, &x, &labels, mode, args.l1_beta)
    } else {
        gradients::<f32>(&model, &x, &labels, mode, args.l1_beta)
    };
    tensorfile::write(&args.out, &tensors, None)
        .with_context(|| format!("writing gradients {}", args.out.display()))?;
    let mut line = report(steps, mode, &cost);
    line["loss"] = serde_json::json!(loss);
    println!("{line}");
    Ok(())
}

fn gradients<R: Real>(
    model: &Model<f32>,
    x: &[f64],
    labels: &[i64],
    mode: Mode,
    l1_beta: f64,
) -> (f64, Vec<NamedTensor>, CostReport) {
    let model = model.cast::<R>();
    let x: Vec<R> = x.iter().map(|&v| R::from_f64(v)).collect();
    let frames = labels.iter().filter(|&&l| !is_ignored(l)).count();
    let mut grads = Params::<R>::zeros(&model.config);
    let mut tape = SequenceTape::default();
    let loss = model.loss_and_gradient(&mut grads, &mut tape, &x, labels, mode, 1.0 / frames as f64, l1_beta);
    let value = loss.cross_entropy_sum / frames as f64 + loss.l1_penalty;
    let mut tensors = vec![("loss".to_string(), vec![], vec![value as f32])];
    tensors.extend(to_named_tensors(&model.config, &grads));
    (value, tensors, CostReport::from_tape(&model.config, &tape, mode))
}
