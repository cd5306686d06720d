//! The matrix product form against the per-column path on the same trace: the same gradient to
//! round-off, and a cost report that says what each form executed.

use crate::{labels, small_model};
use deltarnn::cost::CostReport;
use deltarnn::nn::{CellKind, Mode, Params, SequenceTape, MATRIX_PRODUCT_FROM};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::Thresholds;

/// Every parameter gradient of one sequence in `mode`, and its tape.
fn gradient(model: &deltarnn::nn::Model<f64>, x: &[f64], labels: &[i64], mode: Mode) -> (Vec<f64>, SequenceTape<f64>) {
    let mut grads = Params::zeros(&model.config);
    let mut tape = SequenceTape::default();
    model.loss_and_gradient(&mut grads, &mut tape, x, labels, mode, 1e-2, 1e-3);
    (grads.slices().concat(), tape)
}

#[test]
fn both_forms_give_the_same_gradient_on_the_same_trace() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        // Low thresholds: most inputs fire, so both matrices of both layers take the product form.
        for theta in [0.0, 0.02] {
            let model = small_model::<f64>(cell, 2, 6, 9, 4, 31);
            let mut rng = Rng::seed(32);
            let x = random_walk::<f64>(&mut rng, 40, 6, 0.3);
            let y = labels(&mut rng, 40, 4);
            let thresholds = Thresholds::both(theta);
            let (matrix, matrix_tape) = gradient(&model, &x, &y, Mode::Delta(thresholds));
            let (per_column, column_tape) = gradient(&model, &x, &y, Mode::DeltaPerColumn(thresholds));
            for (a, b) in matrix_tape.layers.iter().zip(&column_tape.layers) {
                assert_eq!(a.trace.input.indices, b.trace.input.indices, "{cell} theta {theta}: same trace");
                assert_eq!(a.trace.hidden.indices, b.trace.hidden.indices, "{cell} theta {theta}: same trace");
                let fired = a.trace.input.fired() as f64 / (a.trace.steps() * a.trace.n_input) as f64;
                assert!(fired >= MATRIX_PRODUCT_FROM, "{cell} theta {theta}: the product form must run ({fired})");
            }
            let scale = matrix.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let worst = matrix.iter().zip(&per_column).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-12 * scale, "{cell} theta {theta}: differ by {worst:e} (scale {scale:e})");
            assert_ne!(matrix, per_column, "{cell} theta {theta}: different summation orders, expected round-off");
        }
    }
}

#[test]
fn the_cost_report_counts_what_each_form_executed() {
    let model = small_model::<f64>(CellKind::Lstm, 2, 6, 9, 4, 33);
    let x = random_walk::<f64>(&mut Rng::seed(34), 40, 6, 0.3);
    let thresholds = Thresholds::ZERO; // everything fires: both matrices take the product form
    let mut tape = SequenceTape::default();
    model.forward(&x, Mode::DeltaPerColumn(thresholds), &mut tape);
    let per_column = CostReport::from_tape(&model.config, &tape, Mode::DeltaPerColumn(thresholds));
    for layer in &per_column.layers {
        for op in [layer.forward_mxv, layer.backward_mxv, layer.weight_grad] {
            assert_eq!(op.executed_macs, op.actual_macs, "per column, executed = fired columns");
        }
    }
    model.forward(&x, Mode::Delta(thresholds), &mut tape);
    let matrix = CostReport::from_tape(&model.config, &tape, Mode::Delta(thresholds));
    let rows = 4 * 9;
    for (k, (layer, columns)) in matrix.layers.iter().zip(&per_column.layers).enumerate() {
        let f = if k == 0 { 6 } else { 9 };
        let (all_x, all_h) = ((40 * f * rows) as u64, (40 * 9 * rows) as u64);
        assert_eq!(layer.forward_mxv.actual_macs, columns.forward_mxv.actual_macs, "the fired columns are the same");
        assert_eq!(layer.forward_mxv.executed_macs, all_x + all_h, "layer {k}: W_x X_ref^T and the fired W_h columns");
        assert_eq!(layer.weight_grad.executed_macs, all_x + all_h, "layer {k}: both weight gradients as products");
        // The bottom layer's dL/dx is not computed in training; above it, E = G W_x is.
        let input_gradient = if k == 0 { 0 } else { all_x };
        assert_eq!(layer.backward_mxv.executed_macs, input_gradient + all_h, "layer {k}: e");
    }
}
