//! `deltarnn bench`: sparse against dense training steps, timed alternately in one process.
//!
//! The machines we run on are shared and noisy, so every case times the two variants in
//! alternation (A, B, A, B ...) and reports medians and their ratio, never one absolute time.

use anyhow::{bail, Result};
use deltarnn::cost::CostReport;
use deltarnn::nn::{init_params, CellKind, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::synthetic::{calibrate_threshold, random_walk};
use deltarnn::Thresholds;
use std::time::Instant;

/// Time one training step (forward + backward of one sequence) of the Delta network against
/// ordinary dense BPTT of the same model, at several fired fractions, single-threaded.
#[derive(clap::Args)]
pub struct Args {
    /// Shapes to run: paper (16 in, 2 x 64, T 150, 31 classes), gscd (16 in, 1 x 128, T 62,
    /// 36 classes), wide (40 in, 1 x 256, T 100, 31 classes).
    #[arg(long, value_delimiter = ',', default_value = "paper,gscd,wide")]
    shapes: Vec<String>,
    /// Target fractions of the matrix work that fires (a threshold is calibrated for each).
    #[arg(long, value_delimiter = ',', default_value = "1,0.5,0.2,0.1")]
    fired: Vec<f64>,
    /// Recurrent cell.
    #[arg(long, default_value = "lstm")]
    cell: CellKind,
    /// Timed repetitions of each variant per case (after 3 warm-up runs); medians are reported.
    #[arg(long, default_value_t = 21)]
    repeats: usize,
    /// Seed for the model and the synthetic input.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object per case instead of a table.
    #[arg(long)]
    json: bool,
}

/// A benchmark shape: (name, features, layers, hidden, frames, classes).
pub type Shape = (&'static str, usize, usize, usize, usize, usize);

/// The shapes of the issue and of ../shared/docs/peers.md.
pub const SHAPES: [Shape; 3] =
    [("paper", 16, 2, 64, 150, 31), ("gscd", 16, 1, 128, 62, 36), ("wide", 40, 1, 256, 100, 31)];

/// Runs `deltarnn bench`.
pub fn run(args: Args) -> Result<()> {
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    if let Some(f) = args.fired.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        bail!("--fired values must be in (0, 1], got {f}");
    }
    let mut shapes = Vec::new();
    for name in &args.shapes {
        match SHAPES.iter().find(|s| s.0 == name) {
            Some(s) => shapes.push(*s),
            None => bail!("unknown shape '{name}' (known: paper, gscd, wide)"),
        }
    }
    if !args.json {
        println!(
            "training step, 1 sequence, 1 thread, {} cell, median of {} alternating runs",
            args.cell, args.repeats
        );
        println!(
            "{:<6} {:>7} {:>7} {:>7} {:>10} {:>10} {:>8} {:>7}",
            "shape", "target", "fired", "theta", "sparse ms", "dense ms", "speedup", "ideal"
        );
    }
    for shape in shapes {
        for &target in &args.fired {
            let case = train_step_case(shape, args.cell, target, args.repeats, args.seed);
            if args.json {
                println!("{}", case);
            } else {
                println!(
                    "{:<6} {:>6.0}% {:>6.1}% {:>7.4} {:>10.3} {:>10.3} {:>7.2}x {:>6.2}x",
                    shape.0,
                    target * 100.0,
                    case["fired_fraction"].as_f64().unwrap_or(0.0) * 100.0,
                    case["theta"].as_f64().unwrap_or(0.0),
                    case["sparse_ms"].as_f64().unwrap_or(0.0),
                    case["dense_ms"].as_f64().unwrap_or(0.0),
                    case["speedup"].as_f64().unwrap_or(0.0),
                    case["ideal"].as_f64().unwrap_or(0.0),
                );
            }
        }
    }
    Ok(())
}

/// One training-step case: calibrate, then time sparse and dense alternately.
fn train_step_case(shape: Shape, cell: CellKind, target: f64, repeats: usize, seed: u64) -> serde_json::Value {
    let (name, features, layers, hidden, frames, classes) = shape;
    let config = ModelConfig {
        cell,
        n_features: features,
        n_layers: layers,
        n_hidden: hidden,
        n_classes: classes,
        thresholds: Thresholds::ZERO,
    };
    let model: Model<f32> = init_params(&config, seed).expect("bench shapes are valid");
    let mut rng = Rng::seed(seed ^ 0x5EED);
    let x: Vec<f32> = random_walk(&mut rng, frames, features, 0.15);
    let labels: Vec<i64> = (0..frames).map(|_| rng.below(classes) as i64).collect();
    let (theta, _) = calibrate_threshold(&model, &x, target);
    let sparse = Mode::Delta(Thresholds::both(theta));

    let mut grads = Params::zeros(&config);
    let mut tape = SequenceTape::default();
    let scale = 1.0 / frames as f64;
    let mut step = |mode: Mode| {
        grads.fill_zero();
        let start = Instant::now();
        model.loss_and_gradient(&mut grads, &mut tape, &x, &labels, mode, scale, 0.0);
        start.elapsed().as_secs_f64()
    };
    for _ in 0..3 {
        step(sparse);
        step(Mode::Dense);
    }
    let (mut sparse_times, mut dense_times) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        sparse_times.push(step(sparse));
        dense_times.push(step(Mode::Dense));
    }
    model.forward(&x, sparse, &mut tape);
    let work = CostReport::from_tape(&config, &tape, sparse).total().training();
    let fired = work.actual_macs as f64 / work.dense_macs as f64;
    let (sparse_s, dense_s) = (median(&mut sparse_times), median(&mut dense_times));
    serde_json::json!({
        "bench": "train_step",
        "shape": name,
        "cell": cell,
        "threads": 1,
        "frames": frames,
        "target_fired": target,
        "fired_fraction": fired,
        "theta": theta,
        "sparse_ms": sparse_s * 1e3,
        "dense_ms": dense_s * 1e3,
        "speedup": dense_s / sparse_s,
        "ideal": 1.0 / fired,
        "repeats": repeats,
    })
}

/// Median of a non-empty sample (sorts it).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}
