//! Cross-module tests in one binary (fast to link). Everything here is self-contained: signals are
//! generated, bad files are written by the tests, and the synth test runs espeak-ng.

mod arith;
mod bad_files;
mod batch;
mod datasets;
mod equivalence;
mod faults;
mod fuzz_regressions;
mod golden_authors;
mod golden_mel;
mod golden_rnn;
mod gradcheck;
mod incremental;
mod kernels;
mod product_form;
mod robustness;
mod sequences;
mod synth;
mod trainer;
mod training;
mod untrusted;
mod util;

use deltarnn::kernels::Real;
use deltarnn::nn::{init_params, CellKind, Model, ModelConfig};
use deltarnn::rng::Rng;
use deltarnn::Thresholds;

/// A seeded model with small random biases (zero biases would hide bias-path bugs).
pub fn small_model<T: Real>(
    cell: CellKind,
    n_layers: usize,
    n_features: usize,
    n_hidden: usize,
    n_classes: usize,
    seed: u64,
) -> Model<T> {
    let config = ModelConfig { cell, n_features, n_layers, n_hidden, n_classes, thresholds: Thresholds::both(0.1) };
    let mut model = init_params::<T>(&config, seed).unwrap();
    let mut rng = Rng::seed(seed ^ 0xB1A5);
    for s in model.params.slices_mut() {
        for v in s.iter_mut() {
            // Scale up a little so gates are not all near 0.5 and the test sees curvature.
            *v = T::from_f64(v.to_f64() * 1.5 + rng.uniform_range(-0.1, 0.1));
        }
    }
    model
}

/// Frame labels in 0..n_classes with every fifth frame ignored (-100).
pub fn labels(rng: &mut Rng, steps: usize, n_classes: usize) -> Vec<i64> {
    (0..steps).map(|t| if t % 5 == 3 { -100 } else { rng.below(n_classes) as i64 }).collect()
}
