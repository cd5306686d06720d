//! The `batch` section: one update on a batch of sequences (forward, backward, AdamW), the step
//! peers report (`benches/peers/`). Delta at one fired fraction against dense BPTT both per
//! sequence and batched across sequences (the recurrent products of the whole batch as one matrix
//! product per step), Delta against the faster dense path.
//!
//! With `--batch-threads N` the batch is cut into N contiguous parts whose gradients run in
//! parallel (one gradient buffer each, summed in part order), then AdamW runs on the same pool,
//! and every variant is timed by the wall clock; on one thread it is timed by the thread's CPU
//! time.

use super::step::{setup, work_fractions, Sequence};
use super::{alternate_all, Clock, Output, Settings, Shape};
use deltarnn::nn::loss::frame_cross_entropy;
use deltarnn::nn::{Mode, Model, Params, SequenceTape};
use deltarnn::signals::calibrate_threshold;
use deltarnn::train::optim::AdamW;
use rayon::prelude::*;

/// How the batch section computes a batch's gradient.
#[derive(Clone, Copy)]
enum BatchPath {
    /// One sequence after another, in `mode` (Delta, or dense with per-sequence products).
    PerSequence(Mode),
    /// Dense, every sequence at once: the recurrent products as one matrix product per step.
    DenseBatched,
}

/// One thread's share of a batch: its gradient buffer and tapes.
struct Part {
    grads: Params<f32>,
    tapes: Vec<SequenceTape<f32>>,
}

/// Model, optimizer and per-thread parts of one variant of the batch section.
struct BatchRun {
    model: Model<f32>,
    optimizer: AdamW,
    parts: Vec<Part>,
}

impl BatchRun {
    fn new(model: &Model<f32>, threads: usize) -> Self {
        let parts = (0..threads).map(|_| Part { grads: Params::zeros(&model.config), tapes: Vec::new() }).collect();
        BatchRun { model: model.clone(), optimizer: AdamW::new(&model.config, 0.01), parts }
    }

    /// One update on `batch`: each part's gradient (in parallel on the current rayon pool when
    /// there are several parts), the parts summed into the first, then AdamW.
    fn step(&mut self, batch: &[Sequence], path: BatchPath) {
        let frames: usize = batch.iter().map(|(_, labels)| labels.len()).sum();
        let scale = 1.0 / frames as f64;
        let per_part = batch.len().div_ceil(self.parts.len());
        let model = &self.model;
        if self.parts.len() == 1 {
            part_gradient(model, &mut self.parts[0], batch, path, scale);
        } else {
            self.parts
                .par_iter_mut()
                .zip(batch.par_chunks(per_part))
                .for_each(|(part, sequences)| part_gradient(model, part, sequences, path, scale));
        }
        let (first, rest) = self.parts.split_at_mut(1);
        for part in rest {
            first[0].grads.add_assign(&part.grads);
        }
        self.optimizer.update(&mut self.model.params, &first[0].grads, 1e-3);
    }
}

/// The gradient of `sequences` (one thread) into `part.grads`, the loss scaled by `scale`.
fn part_gradient(model: &Model<f32>, part: &mut Part, sequences: &[Sequence], path: BatchPath, scale: f64) {
    let Part { grads, tapes } = part;
    grads.fill_zero();
    match path {
        BatchPath::PerSequence(mode) => {
            tapes.resize_with(1, SequenceTape::default);
            for (x, labels) in sequences {
                model.loss_and_gradient(grads, &mut tapes[0], x, labels, mode, scale, 0.0);
            }
        }
        BatchPath::DenseBatched => {
            let xs: Vec<&[f32]> = sequences.iter().map(|(x, _)| x.as_slice()).collect();
            let classes = model.config.n_classes;
            model.dense_batch_loss_and_gradient_with(grads, tapes, &xs, |s, logits, dlogits| {
                frame_cross_entropy(dlogits, logits, &sequences[s].1, classes, scale)
            });
        }
    }
}

/// The batch section: one update on a batch on `threads` threads, Delta at `target` fired
/// against both dense paths.
pub fn run_batches(out: &Output, shapes: &[Shape], batch: usize, target: f64, threads: usize, settings: &Settings) {
    let (cell, seed) = (settings.cell, settings.seed);
    let repeats = settings.repeats.div_ceil(2).max(3);
    let clock = if threads == 1 { Clock::ThreadCpu } else { Clock::Wall };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("bench threads start");
    out.header(
        &format!(
            "training update (batch of {batch}: forward, backward, AdamW), {threads} thread{}, {cell}, median of {repeats} alternating runs ({})",
            if threads == 1 { "" } else { "s" },
            clock.name()
        ),
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
        let paths = [BatchPath::PerSequence(sparse), BatchPath::PerSequence(Mode::Dense), BatchPath::DenseBatched];
        let mut runs: Vec<BatchRun> = paths.iter().map(|_| BatchRun::new(&model, threads)).collect();
        let medians = pool.install(|| {
            let mut variants: Vec<Box<dyn FnMut() + '_>> = runs
                .iter_mut()
                .zip(paths)
                .map(|(run, path)| {
                    let sequences = &sequences;
                    Box::new(move || run.step(sequences, path)) as Box<dyn FnMut()>
                })
                .collect();
            let mut refs: Vec<&mut dyn FnMut()> = variants.iter_mut().map(|v| &mut **v as &mut dyn FnMut()).collect();
            alternate_all(clock, 1, repeats, &mut refs)
        });
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
                "bench": "train_batch", "shape": shape.0, "cell": cell, "threads": threads, "batch": batch,
                "frames": shape.4, "fired_fraction": actual, "executed_fraction": executed,
                "product_form": settings.product_form, "theta": theta,
                "delta_ms": sparse_s * 1e3, "dense_ms": dense_s * 1e3,
                "dense_per_sequence_ms": per_sequence_s * 1e3, "dense_batched_ms": batched_s * 1e3,
                "delta_seq_per_s": batch as f64 / sparse_s, "dense_seq_per_s": batch as f64 / dense_s,
                "speedup": dense_s / sparse_s, "repeats": repeats, "clock": clock.name(),
            }),
        );
    }
}
