//! `deltarnn bench`: sparse against dense training steps, timed alternately in one process.
//!
//! The machines we run on are shared and noisy, so every case times the two variants in
//! alternation (A, B, A, B ...) and reports medians and their ratio, never one absolute time.

use anyhow::{bail, Result};
use deltarnn::cost::CostReport;
use deltarnn::nn::loss::{frame_cross_entropy, frame_distillation};
use deltarnn::nn::{init_params, CellKind, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::synthetic::{calibrate_threshold, random_walk};
use deltarnn::train::optim::clip_grad_norm;
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
    /// Time the on-device incremental update instead (`deltarnn learn --online`): one batch-1
    /// step on a 1-second utterance (61 frames of 16.384 ms), 1 x 128 LSTM, 16 inputs, 35 classes
    /// and silence: the frozen teacher's forward pass, forward + distillation + sparse backward,
    /// clipping and the AdamW update. Reports the real-time factor (1 s / time).
    #[arg(long)]
    update: bool,
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
    if args.update {
        return update_bench(&args);
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

/// `deltarnn bench --update`: the batch-1 incremental update at each fired fraction and dense.
fn update_bench(args: &Args) -> Result<()> {
    let frames = 61; // 1 s at a hop of 16.384 ms
    let (features, hidden, classes, old) = (16, 128, 36, 33);
    let config = ModelConfig {
        cell: args.cell,
        n_features: features,
        n_layers: 1,
        n_hidden: hidden,
        n_classes: old,
        thresholds: Thresholds::ZERO,
    };
    let teacher: Model<f32> = init_params(&config, args.seed).expect("bench shape is valid");
    let mut student = teacher.clone();
    student.grow_classes(classes, args.seed + 1).expect("growing is valid");
    let mut rng = Rng::seed(args.seed ^ 0x5EED);
    let x: Vec<f32> = random_walk(&mut rng, frames, features, 0.15);
    let labels: Vec<i64> = (0..frames).map(|t| if (10..50).contains(&t) { 34 } else { 0 }).collect();
    if !args.json {
        println!(
            "incremental update: batch 1, 1 thread, {} 1 x {hidden}, {frames} frames (1 s), {classes} outputs ({old} distilled), median of {} alternating runs",
            args.cell, args.repeats
        );
        println!("{:<8} {:>7} {:>7} {:>10} {:>12}", "mode", "fired", "theta", "ms/update", "x real time");
    }
    let mut modes: Vec<(String, Mode, f64)> = Vec::new();
    for &target in &args.fired {
        let (theta, fired) = calibrate_threshold(&student, &x, target);
        modes.push((format!("delta {:.0}%", target * 100.0), Mode::Delta(Thresholds::both(theta)), fired));
    }
    modes.push(("dense".into(), Mode::Dense, 1.0));
    let mut optimizer = deltarnn::train::optim::AdamW::new(&student.config, 0.01);
    let mut grads = Params::zeros(&student.config);
    let (mut tape, mut teacher_tape) = (SequenceTape::default(), SequenceTape::default());
    let scale = 1.0 / frames as f64;
    let mut update = |student: &mut Model<f32>, mode: Mode| {
        let start = Instant::now();
        teacher.forward(&x, mode, &mut teacher_tape);
        grads.fill_zero();
        student.loss_and_gradient_with(&mut grads, &mut tape, &x, mode, 0.0, |logits, dlogits| {
            let (ce, n) = frame_cross_entropy(dlogits, logits, &labels, classes, scale);
            let kd = frame_distillation(dlogits, logits, &teacher_tape.logits, &labels, classes, old, scale);
            (ce + kd, n)
        });
        clip_grad_norm(&mut grads, 200.0);
        optimizer.update(&mut student.params, &grads, 1e-6);
        start.elapsed().as_secs_f64()
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for round in 0..args.repeats + 3 {
        for (k, (_, mode, _)) in modes.iter().enumerate() {
            let t = update(&mut student, *mode);
            if round >= 3 {
                times[k].push(t);
            }
        }
    }
    for ((name, mode, fired), t) in modes.iter().zip(times.iter_mut()) {
        let ms = 1e3 * median(t);
        let theta = match mode {
            Mode::Delta(th) => th.input,
            Mode::Dense => 0.0,
        };
        let real_time = 1000.0 / ms;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"bench": "incremental_update", "mode": name, "fired_fraction": fired,
                    "theta": theta, "ms_per_update": ms, "real_time_factor": real_time, "frames": frames,
                    "threads": 1, "repeats": args.repeats})
            );
        } else {
            println!("{name:<8} {:>6.1}% {theta:>7.4} {ms:>10.3} {real_time:>11.0}x", 100.0 * fired);
        }
    }
    Ok(())
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
