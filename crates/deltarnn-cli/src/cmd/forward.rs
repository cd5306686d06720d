//! `deltarnn forward`: logits and hidden states of one sequence, for checking against other
//! frameworks.

use crate::sequence::{report_line, SequenceArgs};
use anyhow::{Context, Result};
use deltarnn::cost::CostReport;
use deltarnn::kernels::Real;
use deltarnn::nn::{Mode, Model, SequenceTape};
use deltarnn::tensorfile::{self, NamedTensor};

/// Run a model over tensor `x` (frames, features) and write `logits` (frames, classes) and
/// `h_l{k}` (frames, hidden) for every layer; print sparsity and op counts as JSON.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sequence: SequenceArgs,
}

/// Runs `deltarnn forward`.
pub fn run(args: Args) -> Result<()> {
    let args = args.sequence;
    let input = args.load()?;
    let (model, x, mode) = (&input.model, &input.x, input.mode);
    let (tensors, cost) = if args.f64 { outputs::<f64>(model, x, mode) } else { outputs::<f32>(model, x, mode) };
    tensorfile::write(&args.out, &tensors, None).with_context(|| format!("writing outputs {}", args.out.display()))?;
    println!("{}", report_line(input.steps, mode, &cost));
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
