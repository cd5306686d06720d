//! The `step` section: one training step of the Delta network against dense BPTT of the same
//! model (our fastest dense code: matrix-matrix products for everything that is not sequential in
//! time), single-threaded. The shapes' models and inputs (`setup`, `work_fractions`) are shared
//! with the batch section.

use super::{alternate, Output, Settings, Shape};
use deltarnn::cost::CostReport;
use deltarnn::nn::{init_params, CellKind, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::{calibrate_threshold, random_walk};
use deltarnn::Thresholds;

/// One input sequence (steps x F, row-major) and its frame labels.
pub type Sequence = (Vec<f32>, Vec<i64>);

/// A model of `shape` and `count` speech-like random-walk sequences with random frame labels.
pub fn setup(shape: Shape, cell: CellKind, count: usize, seed: u64) -> (Model<f32>, Vec<Sequence>) {
    let (_, features, layers, hidden, frames, classes) = shape;
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
    let sequences = (0..count)
        .map(|_| {
            let x: Vec<f32> = random_walk(&mut rng, frames, features, 0.15);
            let labels: Vec<i64> = (0..frames).map(|_| rng.below(classes) as i64).collect();
            (x, labels)
        })
        .collect();
    (model, sequences)
}

/// Fractions of the training matrix work over `sequences` in `mode`, of the dense work: the
/// fired columns (the algorithm's work) and what the kernels executed (the matrix product form
/// multiplies unfired columns too).
pub fn work_fractions(model: &Model<f32>, sequences: &[Sequence], mode: Mode) -> (f64, f64) {
    let mut tape = SequenceTape::default();
    let mut cost = CostReport::default();
    for (x, _) in sequences {
        model.forward(x, mode, &mut tape);
        cost.add(&CostReport::from_tape(&model.config, &tape, mode));
    }
    let work = cost.total().training();
    let dense = work.dense_macs as f64;
    (work.actual_macs as f64 / dense, work.executed_macs as f64 / dense)
}

/// The step section: one sequence's training step, Delta at each target fired fraction against
/// dense.
pub fn run_steps(out: &Output, shapes: &[Shape], fired: &[f64], settings: &Settings) {
    let (cell, repeats) = (settings.cell, settings.repeats);
    let form = if settings.product_form { "" } else { ", no product form" };
    out.header(
        &format!("training step (forward + backward), 1 sequence, 1 thread, {cell}{form}, median of {repeats} alternating runs (thread CPU time)"),
        &format!(
            "{:<6} {:>7} {:>7} {:>9} {:>7} {:>10} {:>10} {:>8} {:>7}",
            "shape", "target", "fired", "executed", "theta", "delta ms", "dense ms", "speedup", "ideal"
        ),
    );
    for &shape in shapes {
        let (model, sequences) = setup(shape, cell, 1, settings.seed);
        let (x, labels) = &sequences[0];
        let frames = shape.4;
        for &target in fired {
            let (theta, _) = calibrate_threshold(&model, x, target);
            let sparse = settings.delta(theta);
            let grads = std::cell::RefCell::new(Params::zeros(&model.config));
            let tape = std::cell::RefCell::new(SequenceTape::default());
            let step = |mode: Mode| {
                let (mut grads, mut tape) = (grads.borrow_mut(), tape.borrow_mut());
                grads.fill_zero();
                model.loss_and_gradient(&mut grads, &mut tape, x, labels, mode, 1.0 / frames as f64, 0.0);
            };
            let (sparse_s, dense_s) = alternate(3, repeats, || step(sparse), || step(Mode::Dense));
            let (actual, executed) = work_fractions(&model, &sequences, sparse);
            out.case(
                format!(
                    "{:<6} {:>6.0}% {:>6.1}% {:>8.1}% {theta:>7.4} {:>10.3} {:>10.3} {:>7.2}x {:>6.2}x",
                    shape.0,
                    target * 100.0,
                    actual * 100.0,
                    executed * 100.0,
                    sparse_s * 1e3,
                    dense_s * 1e3,
                    dense_s / sparse_s,
                    1.0 / actual
                ),
                serde_json::json!({
                    "bench": "train_step", "shape": shape.0, "cell": cell, "threads": 1, "frames": frames,
                    "target_fired": target, "fired_fraction": actual, "executed_fraction": executed,
                    "product_form": settings.product_form, "theta": theta,
                    "delta_ms": sparse_s * 1e3, "dense_ms": dense_s * 1e3, "speedup": dense_s / sparse_s,
                    "ideal": 1.0 / actual, "repeats": repeats, "clock": "thread_cpu",
                }),
            );
        }
    }
}
