//! The `step` and `batch` sections: one training step of the Delta network against dense BPTT
//! of the same model (our fastest dense code: matrix-matrix products for everything that is not
//! sequential in time), single-threaded. The batch section also times dense BPTT with the
//! recurrent products of the whole batch as one matrix product per step, and compares Delta
//! against the faster of the two dense paths.

use super::{alternate, alternate_all, Output, Settings, Shape};
use deltarnn::cost::CostReport;
use deltarnn::nn::loss::frame_cross_entropy;
use deltarnn::nn::{init_params, CellKind, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::{calibrate_threshold, random_walk};
use deltarnn::train::optim::AdamW;
use deltarnn::Thresholds;

/// One input sequence (steps x F, row-major) and its frame labels.
type Sequence = (Vec<f32>, Vec<i64>);

/// A model of `shape` and `count` speech-like random-walk sequences with random frame labels.
fn setup(shape: Shape, cell: CellKind, count: usize, seed: u64) -> (Model<f32>, Vec<Sequence>) {
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
fn work_fractions(model: &Model<f32>, sequences: &[Sequence], mode: Mode) -> (f64, f64) {
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

/// How the batch section computes a batch's gradient.
#[derive(Clone, Copy)]
enum BatchPath {
    /// One sequence after another, in `mode` (Delta, or dense with per-sequence products).
    PerSequence(Mode),
    /// Dense, every sequence at once: the recurrent products as one matrix product per step.
    DenseBatched,
}

/// Model, optimizer, gradient buffer and tapes of one variant of the batch section.
type BatchRun = (Model<f32>, AdamW, Params<f32>, Vec<SequenceTape<f32>>);

/// One update on a batch: every sequence's gradient (one thread), then AdamW.
fn batch_step(run: &mut BatchRun, batch: &[Sequence], path: BatchPath) {
    let (model, optimizer, grads, tapes) = run;
    grads.fill_zero();
    let frames: usize = batch.iter().map(|(_, l)| l.len()).sum();
    let scale = 1.0 / frames as f64;
    match path {
        BatchPath::PerSequence(mode) => {
            tapes.resize_with(1, SequenceTape::default);
            for (x, labels) in batch {
                model.loss_and_gradient(grads, &mut tapes[0], x, labels, mode, scale, 0.0);
            }
        }
        BatchPath::DenseBatched => {
            let xs: Vec<&[f32]> = batch.iter().map(|(x, _)| x.as_slice()).collect();
            let classes = model.config.n_classes;
            model.dense_batch_loss_and_gradient_with(grads, tapes, &xs, |s, logits, dlogits| {
                frame_cross_entropy(dlogits, logits, &batch[s].1, classes, scale)
            });
        }
    }
    optimizer.update(&mut model.params, grads, 1e-3);
}

/// The batch section: one update on a batch, Delta at `target` fired against both dense paths.
pub fn run_batches(out: &Output, shapes: &[Shape], batch: usize, target: f64, settings: &Settings) {
    let (cell, seed) = (settings.cell, settings.seed);
    let repeats = settings.repeats.div_ceil(2).max(3);
    out.header(
        &format!("training update (batch of {batch}: forward, backward, AdamW), 1 thread, {cell}, median of {repeats} alternating runs (thread CPU time)"),
        &format!(
            "{:<6} {:>6} {:>7} {:>10} {:>10} {:>10} {:>11} {:>11} {:>8}",
            "shape", "batch", "fired", "delta ms", "dense ms", "batched ms", "delta seq/s", "dense seq/s", "speedup"
        ),
    );
    for &shape in shapes {
        let (model, sequences) = setup(shape, cell, batch, seed);
        let (theta, _) = calibrate_threshold(&model, &sequences[0].0, target);
        let sparse = settings.delta(theta);
        let (actual, executed) = work_fractions(&model, &sequences, sparse);
        let make = || {
            let model = model.clone();
            let optimizer = AdamW::new(&model.config, 0.01);
            let grads = Params::zeros(&model.config);
            (model, optimizer, grads, Vec::new())
        };
        let paths = [BatchPath::PerSequence(sparse), BatchPath::PerSequence(Mode::Dense), BatchPath::DenseBatched];
        let mut runs: Vec<BatchRun> = paths.iter().map(|_| make()).collect();
        let mut variants: Vec<Box<dyn FnMut() + '_>> = runs
            .iter_mut()
            .zip(paths)
            .map(|(run, path)| {
                let sequences = &sequences;
                Box::new(move || batch_step(run, sequences, path)) as Box<dyn FnMut()>
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut()> = variants.iter_mut().map(|v| &mut **v as &mut dyn FnMut()).collect();
        let medians = alternate_all(1, repeats, &mut refs);
        let (sparse_s, per_sequence_s, batched_s) = (medians[0], medians[1], medians[2]);
        // The baseline is the faster of the two dense paths.
        let dense_s = per_sequence_s.min(batched_s);
        out.case(
            format!(
                "{:<6} {batch:>6} {:>6.1}% {:>10.2} {:>10.2} {:>10.2} {:>11.0} {:>11.0} {:>7.2}x",
                shape.0,
                actual * 100.0,
                sparse_s * 1e3,
                per_sequence_s * 1e3,
                batched_s * 1e3,
                batch as f64 / sparse_s,
                batch as f64 / dense_s,
                dense_s / sparse_s
            ),
            serde_json::json!({
                "bench": "train_batch", "shape": shape.0, "cell": cell, "threads": 1, "batch": batch,
                "frames": shape.4, "fired_fraction": actual, "executed_fraction": executed,
                "product_form": settings.product_form, "theta": theta,
                "delta_ms": sparse_s * 1e3, "dense_ms": dense_s * 1e3,
                "dense_per_sequence_ms": per_sequence_s * 1e3, "dense_batched_ms": batched_s * 1e3,
                "delta_seq_per_s": batch as f64 / sparse_s, "dense_seq_per_s": batch as f64 / dense_s,
                "speedup": dense_s / sparse_s, "repeats": repeats, "clock": "thread_cpu",
            }),
        );
    }
}
