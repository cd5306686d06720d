//! Generated signals for benchmarks and tests: slowly changing feature frames, and a threshold
//! calibrated so that a requested fraction of the matrix columns fires.

use crate::cost::CostReport;
use crate::kernels::Real;
use crate::nn::{Mode, Model, SequenceTape};
use crate::rng::Rng;
use crate::Thresholds;

/// `steps` frames of `features` values: each feature is a Gaussian random walk with steps of
/// standard deviation `step_std`, pulled back towards 0 (an AR(1) process with unit variance),
/// so it changes slowly like normalised speech features.
pub fn random_walk<T: Real>(rng: &mut Rng, steps: usize, features: usize, step_std: f64) -> Vec<T> {
    let pull = 1.0 - step_std * step_std / 2.0;
    let mut state: Vec<f64> = (0..features).map(|_| rng.normal()).collect();
    let mut out = Vec::with_capacity(steps * features);
    for _ in 0..steps {
        for s in state.iter_mut() {
            *s = pull * *s + step_std * rng.normal();
            out.push(T::from_f64(*s));
        }
    }
    out
}

/// The fraction of forward matrix work that a delta forward pass at `thresholds` performs
/// (actual / dense MACs over all layers).
pub fn fired_fraction<T: Real>(model: &Model<T>, x: &[T], thresholds: Thresholds, tape: &mut SequenceTape<T>) -> f64 {
    let mode = Mode::Delta(thresholds);
    model.forward(x, mode, tape);
    let cost = CostReport::from_tape(&model.config, tape, mode).total().forward_mxv;
    cost.actual_macs as f64 / cost.dense_macs.max(1) as f64
}

/// A single threshold (used for theta_x and theta_h) at which about `target` of the forward
/// matrix work fires on `x`, found by bisection. Returns the threshold and the measured fraction.
/// A target of 1 or more returns threshold 0 (everything fires).
pub fn calibrate_threshold<T: Real>(model: &Model<T>, x: &[T], target: f64) -> (f64, f64) {
    let mut tape = SequenceTape::default();
    if target >= 1.0 {
        return (0.0, fired_fraction(model, x, Thresholds::ZERO, &mut tape));
    }
    let (mut low, mut high) = (0.0f64, 4.0f64);
    for _ in 0..40 {
        let mid = 0.5 * (low + high);
        if fired_fraction(model, x, Thresholds::both(mid), &mut tape) > target {
            low = mid;
        } else {
            high = mid;
        }
    }
    (high, fired_fraction(model, x, Thresholds::both(high), &mut tape))
}
