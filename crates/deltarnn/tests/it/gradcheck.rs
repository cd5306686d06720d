//! Central-difference checks of the exact sparse backward, in f64, for every parameter and the
//! input: LSTM and GRU, 1 and 2 layers, threshold 0 and thresholds > 0 (fired fractions from
//! about 5% to 100%), skipping only perturbations that flip a fire/no-fire decision.

use super::{labels, small_model};
use deltarnn::cost::CostReport;
use deltarnn::nn::loss::frame_cross_entropy;
use deltarnn::nn::{CellKind, Mode, Model, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::Thresholds;

const STEP: f64 = 1e-6;

struct Case {
    model: Model<f64>,
    x: Vec<f64>,
    labels: Vec<i64>,
    mode: Mode,
    beta: f64,
    frames: usize,
}

impl Case {
    /// Loss (mean cross-entropy plus L1 penalty) and the fired indices of every layer and step.
    fn evaluate(&self, model: &Model<f64>, x: &[f64]) -> (f64, Vec<u32>) {
        let mut tape = SequenceTape::default();
        model.forward(x, self.mode, &mut tape);
        let mut dlogits = vec![0.0; tape.logits.len()];
        let (ce, _) = frame_cross_entropy(&mut dlogits, &tape.logits, &self.labels, model.config.n_classes, 1.0);
        let mut l1 = 0.0;
        let mut mask = Vec::new();
        for layer in &tape.layers {
            for seq in [&layer.trace.input, &layer.trace.hidden] {
                mask.extend(&seq.offsets);
                mask.extend(&seq.indices);
            }
            l1 += layer.trace.hidden.values.iter().map(|v| v.abs()).sum::<f64>();
        }
        (ce / self.frames as f64 + self.beta * l1, mask)
    }

    fn analytic(&self) -> (Params<f64>, Vec<f64>) {
        let mut grads = Params::zeros(&self.model.config);
        let mut tape = SequenceTape::default();
        self.model.forward(&self.x, self.mode, &mut tape);
        let mut dlogits = vec![0.0; tape.logits.len()];
        frame_cross_entropy(
            &mut dlogits,
            &tape.logits,
            &self.labels,
            self.model.config.n_classes,
            1.0 / self.frames as f64,
        );
        let mut dx = vec![0.0; self.x.len()];
        self.model.backward(&mut grads, Some(&mut dx), &self.x, &tape, self.mode, &dlogits, self.beta);
        (grads, dx)
    }

    fn fired_fraction(&self) -> f64 {
        let mut tape = SequenceTape::default();
        self.model.forward(&self.x, self.mode, &mut tape);
        let t = CostReport::from_tape(&self.model.config, &tape, self.mode).total();
        (t.input_fired + t.hidden_fired) as f64 / (t.input_elements + t.hidden_elements) as f64
    }
}

/// Returns (checked, skipped) counts; panics on the first mismatch.
fn check(case: &Case, label: &str) -> (usize, usize) {
    let (grads, dx) = case.analytic();
    let (_, base_mask) = case.evaluate(&case.model, &case.x);
    let (mut checked, mut skipped) = (0, 0);
    let mut compare = |what: String, analytic: f64, up: (f64, Vec<u32>), down: (f64, Vec<u32>)| {
        if up.1 != base_mask || down.1 != base_mask {
            skipped += 1;
            return;
        }
        let numeric = (up.0 - down.0) / (2.0 * STEP);
        let tolerance = 1e-7 + 1e-5 * analytic.abs().max(numeric.abs());
        assert!(
            (numeric - analytic).abs() <= tolerance,
            "{label}: {what}: analytic {analytic:.10e}, numeric {numeric:.10e}"
        );
        checked += 1;
    };
    let mut model = case.model.clone();
    let n_slices = grads.slices().len();
    for s in 0..n_slices {
        for i in 0..grads.slices()[s].len() {
            let original = model.params.slices()[s][i];
            model.params.slices_mut()[s][i] = original + STEP;
            let up = case.evaluate(&model, &case.x);
            model.params.slices_mut()[s][i] = original - STEP;
            let down = case.evaluate(&model, &case.x);
            model.params.slices_mut()[s][i] = original;
            compare(format!("parameter tensor {s} element {i}"), grads.slices()[s][i], up, down);
        }
    }
    let mut x = case.x.clone();
    for i in 0..x.len() {
        let original = x[i];
        x[i] = original + STEP;
        let up = case.evaluate(&case.model, &x);
        x[i] = original - STEP;
        let down = case.evaluate(&case.model, &x);
        x[i] = original;
        compare(format!("input element {i}"), dx[i], up, down);
    }
    (checked, skipped)
}

fn case(cell: CellKind, n_layers: usize, theta: f64, beta: f64, seed: u64) -> Case {
    let model = small_model::<f64>(cell, n_layers, 3, 5, 4, seed);
    let mut rng = Rng::seed(seed + 100);
    let steps = 16;
    let x = random_walk(&mut rng, steps, 3, 0.4);
    let labels = labels(&mut rng, steps, 4);
    let frames = labels.iter().filter(|&&l| l >= 0).count();
    let mode = Mode::Delta(Thresholds::both(theta));
    Case { model, x, labels, mode, beta, frames }
}

#[test]
fn sparse_backward_matches_finite_differences() {
    let mut fractions = Vec::new();
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for n_layers in [1, 2] {
            for (k, theta) in [0.0, 0.05, 0.2, 0.5, 1.2].into_iter().enumerate() {
                let c = case(cell, n_layers, theta, 0.0, 11 + k as u64);
                let fraction = c.fired_fraction();
                fractions.push(fraction);
                let label = format!("{cell} x{n_layers} theta {theta} (fired {:.0}%)", fraction * 100.0);
                let (checked, skipped) = check(&c, &label);
                assert!(skipped * 20 <= checked, "{label}: {skipped} skipped of {}", checked + skipped);
            }
        }
    }
    let min = fractions.iter().cloned().fold(1.0, f64::min);
    let max = fractions.iter().cloned().fold(0.0, f64::max);
    assert!(min <= 0.1, "lowest fired fraction {min}");
    assert_eq!(max, 1.0);
}

#[test]
fn l1_penalty_gradient_matches_finite_differences() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let c = case(cell, 2, 0.05, 0.01, 5);
        let (checked, skipped) = check(&c, &format!("{cell} with L1"));
        assert!(skipped * 20 <= checked);
    }
}

#[test]
fn dense_backward_matches_finite_differences() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let mut c = case(cell, 2, 0.0, 0.0, 21);
        c.mode = Mode::Dense;
        check(&c, &format!("dense {cell}"));
    }
}
