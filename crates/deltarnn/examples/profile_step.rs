//! Runs many training steps of one variant, for `perf record` / `valgrind --tool=callgrind`.
//!
//! Usage: cargo run --release --example profile_step -- [sparse|dense|batched] [target fired] [steps] [shape]
//! `batched` runs dense BPTT of 32 copies of the sequence at once (`nn/batch.rs`); one step is
//! then one batch.
//! Shapes as in `deltarnn bench`: paper (16 in, 2 x 64 LSTM, 150 frames, 31 classes, the default),
//! gscd (16 in, 1 x 128, 62 frames, 36 classes), wide (40 in, 1 x 256, 100 frames, 31 classes).

use deltarnn::nn::{init_params, CellKind, Mode, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::{calibrate_threshold, random_walk};
use deltarnn::Thresholds;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let variant = args.get(1).map(String::as_str).unwrap_or("sparse");
    let target: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.2);
    let steps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
    let (n_features, n_layers, n_hidden, frames, n_classes) = match args.get(4).map(String::as_str) {
        None | Some("paper") => (16, 2, 64, 150, 31),
        Some("gscd") => (16, 1, 128, 62, 36),
        Some("wide") => (40, 1, 256, 100, 31),
        Some(other) => panic!("unknown shape {other} (paper, gscd, wide)"),
    };
    let config =
        ModelConfig { cell: CellKind::Lstm, n_features, n_layers, n_hidden, n_classes, thresholds: Thresholds::ZERO };
    let model = init_params::<f32>(&config, 1).expect("valid config");
    let mut rng = Rng::seed(2);
    let x: Vec<f32> = random_walk(&mut rng, frames, n_features, 0.15);
    let labels: Vec<i64> = (0..frames).map(|_| rng.below(n_classes) as i64).collect();
    let mode = match variant {
        "dense" => Mode::Dense,
        _ => Mode::Delta(Thresholds::both(calibrate_threshold(&model, &x, target).0)),
    };
    let mut grads = Params::zeros(&config);
    let mut tape = SequenceTape::default();
    let start = std::time::Instant::now();
    if variant == "batched" {
        let xs: Vec<&[f32]> = vec![&x[..]; 32];
        let mut tapes = Vec::new();
        for _ in 0..steps {
            model.dense_batch_loss_and_gradient_with(&mut grads, &mut tapes, &xs, |_, logits, dlogits| {
                deltarnn::nn::loss::frame_cross_entropy(dlogits, logits, &labels, n_classes, 1.0 / frames as f64)
            });
        }
        println!("batched: {:.3} ms per batch", start.elapsed().as_secs_f64() * 1e3 / steps as f64);
        return;
    }
    for _ in 0..steps {
        model.loss_and_gradient(&mut grads, &mut tape, &x, &labels, mode, 1.0 / frames as f64, 0.0);
    }
    println!("{variant}: {:.3} ms per step", start.elapsed().as_secs_f64() * 1e3 / steps as f64);
}
