//! `deltarnn forward`: logits and hidden states of one sequence, for checking against other
//! frameworks.

use super::common::{load_model, read_input, thresholds};
use anyhow::{Context, Result};
use deltarnn::cost::CostReport;
use deltarnn::kernels::Real;
use deltarnn::nn::{Mode, Model, SequenceTape};
use deltarnn::tensorfile::{self, NamedTensor};
use std::path::PathBuf;

/// Run a model over tensor `x` (frames, features) and write `logits` (frames, classes) and
/// `h_l{k}` (frames, hidden) for every layer; print sparsity and op counts as JSON.
#[derive(clap::Args)]
pub struct Args {
    /// Model checkpoint (safetensors).
    #[arg(long)]
    model: PathBuf,
    /// Input file (safetensors with tensor `x`, F32 or F64, shape (frames, features)).
    #[arg(long)]
    input: PathBuf,
    /// Input threshold theta_x (default: the model's).
    #[arg(long)]
    theta_x: Option<f64>,
    /// Hidden threshold theta_h (default: the model's).
    #[arg(long)]
    theta_h: Option<f64>,
    /// Run as a standard (dense) LSTM/GRU instead of a Delta network.
    #[arg(long)]
    dense: bool,
    /// Compute in f64 instead of f32 (outputs are still written as F32).
    #[arg(long)]
    f64: bool,
    /// Where to write the outputs.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `deltarnn forward`.
pub fn run(args: Args) -> Result<()> {
    let model = load_model(&args.model)?;
    let (steps, x) = read_input(&args.input, model.config.n_features)?;
    let mode = if args.dense { Mode::Dense } else { Mode::Delta(thresholds(&model, args.theta_x, args.theta_h)?) };
    let (tensors, cost) = if args.f64 { outputs::<f64>(&model, &x, mode) } else { outputs::<f32>(&model, &x, mode) };
    tensorfile::write(&args.out, &tensors, None).with_context(|| format!("writing outputs {}", args.out.display()))?;
    println!("{}", report(steps, mode, &cost));
    Ok(())
}

fn outputs<R: Real>(model: &Model<f32>, x: &[f64], mode: Mode) -> (Vec<NamedTensor>, CostReport) {
    let model = model.cast::<R>();
    let x: Vec<R> = x.iter().map(|&v| R::from_f64(v)).collect();
    let mut tape = SequenceTape::default();
    model.forward(&x, mode, &mut tape);
    let c = &model.config;
    let f32s = |v: &[R]| v.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
    let mut tensors = vec![("logits".to_string(), vec![tape.steps, c.n_classes], f32s(&tape.logits))];
    for (k, layer) in tape.layers.iter().enumerate() {
        tensors.push((format!("h_l{k}"), vec![tape.steps, c.n_hidden], f32s(&layer.hidden)));
    }
    (tensors, CostReport::from_tape(c, &tape, mode))
}

/// The JSON line printed by `forward` and `grad`.
pub fn report(steps: usize, mode: Mode, cost: &CostReport) -> serde_json::Value {
    let (mode_name, thresholds) = match mode {
        Mode::Delta(t) => ("delta", Some(t)),
        Mode::Dense => ("dense", None),
    };
    serde_json::json!({"frames": steps, "mode": mode_name, "thresholds": thresholds, "cost": cost.to_json()})
}
