//! `deltarnn grad`: the loss and every parameter gradient for one labelled sequence.

use crate::sequence::{report_line, SequenceArgs};
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
    #[command(flatten)]
    sequence: SequenceArgs,
    /// Labels file (safetensors with tensor `y`, I64 or I32, shape (frames); negative = ignored).
    #[arg(long)]
    labels: PathBuf,
    /// L1 penalty beta * sum |delta_h| added to the loss (delta mode only).
    #[arg(long, default_value_t = 0.0)]
    l1_beta: f64,
}

/// Runs `deltarnn grad`.
pub fn run(args: Args) -> Result<()> {
    let input = args.sequence.load()?;
    let (model, steps, x, mode) = (&input.model, input.steps, &input.x, input.mode);
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
    deltarnn::Error::check_non_negative("--l1-beta", args.l1_beta)?;
    let (loss, tensors, cost) = if args.sequence.f64 {
        gradients::<f64>(model, x, &labels, mode, args.l1_beta)
    } else {
        gradients::<f32>(model, x, &labels, mode, args.l1_beta)
    };
    let out = &args.sequence.out;
    tensorfile::write(out, &tensors, None).with_context(|| format!("writing gradients {}", out.display()))?;
    let mut line = report_line(steps, mode, &cost);
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
