//! Overfitting one tiny batch: the loss falls along a pinned trajectory (llm.c style).

use super::{labels, small_model};
use deltarnn::nn::{CellKind, Mode, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::Thresholds;

/// Plain Adam on one fixed batch of 4 sequences; returns the mean loss before each update.
fn losses(cell: CellKind, mode: Mode, updates: usize) -> Vec<f64> {
    let mut model = small_model::<f32>(cell, 2, 6, 12, 4, 77);
    let mut rng = Rng::seed(78);
    let batch: Vec<(Vec<f32>, Vec<i64>)> =
        (0..4).map(|_| (random_walk(&mut rng, 25, 6, 0.3), labels(&mut rng, 25, 4))).collect();
    let frames: usize = batch.iter().map(|(_, y)| y.iter().filter(|&&l| l >= 0).count()).sum();
    let mut grads = Params::zeros(&model.config);
    let mut m = Params::<f32>::zeros(&model.config);
    let mut v = Params::<f32>::zeros(&model.config);
    let mut tape = SequenceTape::default();
    let mut out = Vec::new();
    for step in 1..=updates {
        grads.fill_zero();
        let mut total = 0.0;
        for (x, y) in &batch {
            total +=
                model.loss_and_gradient(&mut grads, &mut tape, x, y, mode, 1.0 / frames as f64, 0.0).cross_entropy_sum;
        }
        out.push(total / frames as f64);
        let (lr, b1, b2) = (0.02f32, 0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
        for (((p, g), m), v) in model
            .params
            .slices_mut()
            .into_iter()
            .flat_map(|s| s.iter_mut())
            .zip(grads.slices().into_iter().flatten())
            .zip(m.slices_mut().into_iter().flat_map(|s| s.iter_mut()))
            .zip(v.slices_mut().into_iter().flat_map(|s| s.iter_mut()))
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
    out
}

#[test]
fn overfitting_a_tiny_batch_follows_the_pinned_trajectory() {
    let mode = Mode::Delta(Thresholds::both(0.05));
    let got = losses(CellKind::Lstm, mode, 40);
    let pinned: [(usize, f64); 5] =
        [(0, PINNED[0]), (10, PINNED[1]), (20, PINNED[2]), (30, PINNED[3]), (39, PINNED[4])];
    for (step, want) in pinned {
        assert!((got[step] - want).abs() < 1e-4 * want.max(1.0), "step {step}: loss {} vs pinned {want}", got[step]);
    }
    assert!(got[39] < 0.5 * got[0], "loss fell from {} to only {}", got[0], got[39]);
}

#[test]
fn gru_and_dense_also_overfit() {
    for (cell, mode) in [(CellKind::Gru, Mode::Delta(Thresholds::both(0.05))), (CellKind::Lstm, Mode::Dense)] {
        let got = losses(cell, mode, 40);
        assert!(got[39] < 0.5 * got[0], "{cell} {mode:?}: loss fell from {} to only {}", got[0], got[39]);
    }
}

/// Mean loss at updates 0, 10, 20, 30 and 39 (measured once; the run is deterministic).
const PINNED: [f64; 5] =
    [1.3938858034636767, 1.0886949087050883, 0.8680419562842614, 0.6928091029486125, 0.5370493101327615];
