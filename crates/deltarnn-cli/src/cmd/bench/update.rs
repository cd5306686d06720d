//! The `update` section: the on-device incremental update of `deltarnn learn --online`, one
//! batch-1 step on a 1-second utterance (61 frames of 16.384 ms), 1 x 128 recurrent layer, 16
//! inputs, 35 keywords and silence of which 33 outputs are distilled: the frozen teacher's forward
//! pass, forward + cross-entropy + BCE distillation + sparse backward, clipping and AdamW. Reports
//! the real-time factor (1 s / time).

use super::{cpu_seconds, median, Output, Settings};
use deltarnn::nn::loss::{frame_cross_entropy, frame_distillation};
use deltarnn::nn::{init_params, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::{calibrate_threshold, random_walk};
use deltarnn::train::optim::{clip_grad_norm, AdamW};
use deltarnn::Thresholds;

pub fn run(out: &Output, fired: &[f64], settings: &Settings) {
    let (cell, repeats, seed) = (settings.cell, settings.repeats, settings.seed);
    let frames = 61; // 1 s at a hop of 16.384 ms
    let (features, hidden, classes, old) = (16, 128, 36, 33);
    let config = ModelConfig {
        cell,
        n_features: features,
        n_layers: 1,
        n_hidden: hidden,
        n_classes: old,
        thresholds: Thresholds::ZERO,
    };
    let teacher: Model<f32> = init_params(&config, seed).expect("bench shape is valid");
    let mut student = teacher.clone();
    student.grow_classes(classes, seed + 1).expect("growing is valid");
    let mut rng = Rng::seed(seed ^ 0x5EED);
    let x: Vec<f32> = random_walk(&mut rng, frames, features, 0.15);
    let labels: Vec<i64> = (0..frames).map(|t| if (10..50).contains(&t) { 34 } else { 0 }).collect();
    out.header(
        &format!(
            "incremental update: batch 1, 1 thread, {cell} 1 x {hidden}, {frames} frames (1 s), {classes} outputs ({old} distilled), median of {repeats} alternating runs (thread CPU time)"
        ),
        &format!("{:<10} {:>7} {:>7} {:>10} {:>12}", "mode", "fired", "theta", "ms/update", "x real time"),
    );
    let mut modes: Vec<(String, Mode, f64)> = Vec::new();
    for &target in fired {
        let (theta, fraction) = calibrate_threshold(&student, &x, target);
        modes.push((format!("delta {:.0}%", target * 100.0), settings.delta(theta), fraction));
    }
    modes.push(("dense".into(), Mode::Dense, 1.0));
    let mut optimizer = AdamW::new(&student.config, 0.01);
    let mut grads = Params::zeros(&student.config);
    let (mut tape, mut teacher_tape) = (SequenceTape::default(), SequenceTape::default());
    let scale = 1.0 / frames as f64;
    let mut update = |student: &mut Model<f32>, mode: Mode| {
        cpu_seconds(|| {
            teacher.forward(&x, mode, &mut teacher_tape);
            grads.fill_zero();
            student.loss_and_gradient_with(&mut grads, &mut tape, &x, mode, 0.0, |logits, dlogits| {
                let (ce, n) = frame_cross_entropy(dlogits, logits, &labels, classes, scale);
                let kd = frame_distillation(dlogits, logits, &teacher_tape.logits, &labels, classes, old, scale);
                (ce + kd, n)
            });
            clip_grad_norm(&mut grads, 200.0);
            optimizer.update(&mut student.params, &grads, 1e-6);
        })
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for round in 0..repeats + 3 {
        for (k, (_, mode, _)) in modes.iter().enumerate() {
            let t = update(&mut student, *mode);
            if round >= 3 {
                times[k].push(t);
            }
        }
    }
    for ((name, mode, fraction), t) in modes.iter().zip(times.iter_mut()) {
        let ms = 1e3 * median(t);
        let theta = mode.thresholds().map_or(0.0, |t| t.input);
        let real_time = 1000.0 / ms;
        out.case(
            format!("{name:<10} {:>6.1}% {theta:>7.4} {ms:>10.3} {real_time:>11.0}x", 100.0 * fraction),
            serde_json::json!({
                "bench": "incremental_update", "mode": name, "fired_fraction": fraction, "theta": theta,
                "ms_per_update": ms, "real_time_factor": real_time, "frames": frames, "threads": 1,
                "repeats": repeats, "clock": "thread_cpu",
            }),
        );
    }
}
