//! deltarnn's gradients against the authors' own code: their Delta LSTM with its hand-written
//! sparse-form backward (`deltalstm3.py`) and their Delta GRU differentiated by autograd
//! (`deltagru.py`), run once in f64 by `tools/golden/authors_grad.py` on small fixed cases (1
//! and 2 layers, theta 0, 0.1 and 0.3, with and without the L1 term on delta_h) and pinned in
//! `tests/golden/authors_gradients.json`. Every parameter's gradient must agree to 1e-9 of the
//! tensor's largest value in f64 and 1e-5 in f32; the loss likewise.

use deltarnn::checkpoint::{from_pytorch_tensors, to_named_values};
use deltarnn::kernels::Real;
use deltarnn::nn::{CellKind, Mode, Model, ModelConfig, Params, SequenceTape};
use deltarnn::Thresholds;
use std::collections::HashMap;

/// One golden case as the generator wrote it.
struct Case {
    name: String,
    config: ModelConfig,
    x: Vec<f64>,
    labels: Vec<i64>,
    beta: f64,
    weights: HashMap<String, Vec<f64>>,
    loss: f64,
    gradients: HashMap<String, Vec<f64>>,
}

fn tensors(value: &serde_json::Value) -> HashMap<String, Vec<f64>> {
    value
        .as_object()
        .expect("a map of tensors")
        .iter()
        .map(|(name, t)| {
            let values = t["values"].as_array().expect("values").iter().map(|v| v.as_f64().expect("a number"));
            (name.clone(), values.collect())
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/authors_gradients.json");
    let text = std::fs::read_to_string(path).expect("the golden file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let number = |v: &serde_json::Value| v.as_f64().expect("a number");
    let count = |v: &serde_json::Value| v.as_u64().expect("a count") as usize;
    json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let cell: CellKind = c["cell"].as_str().expect("cell").parse().expect("lstm or gru");
            let theta = number(&c["theta"]);
            let config = ModelConfig {
                cell,
                n_features: count(&c["features"]),
                n_layers: count(&c["layers"]),
                n_hidden: count(&c["hidden"]),
                n_classes: count(&c["classes"]),
                thresholds: Thresholds::both(theta),
            };
            Case {
                name: format!("{cell} {} layers theta {theta} beta {}", config.n_layers, number(&c["beta"])),
                config,
                x: c["x"].as_array().expect("x").iter().map(number).collect(),
                labels: c["labels"].as_array().expect("labels").iter().map(|v| v.as_i64().expect("label")).collect(),
                beta: number(&c["beta"]),
                weights: tensors(&c["weights"]),
                loss: number(&c["loss"]),
                gradients: tensors(&c["gradients"]),
            }
        })
        .collect()
}

/// The loss and every gradient (PyTorch names and layout) of `case` computed by deltarnn in `T`.
fn ours<T: Real>(case: &Case, mode: Mode) -> (f64, HashMap<String, Vec<f64>>) {
    let model = Model { config: case.config, params: from_pytorch_tensors::<T>(&case.config, &case.weights) };
    let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
    let mut grads = Params::zeros(&case.config);
    let mut tape = SequenceTape::default();
    let frames = case.labels.len();
    let loss = model.loss_and_gradient(&mut grads, &mut tape, &x, &case.labels, mode, 1.0 / frames as f64, case.beta);
    let value = loss.cross_entropy_sum / frames as f64 + loss.l1_penalty;
    (value, to_named_values(&case.config, &grads).into_iter().map(|(name, _, v)| (name, v)).collect())
}

/// Asserts every tensor of `ours` within `tolerance` of the tensor's largest reference value.
#[track_caller]
fn assert_agree(case: &Case, ours: &(f64, HashMap<String, Vec<f64>>), tolerance: f64, what: &str) {
    let (loss, gradients) = ours;
    assert!(
        (loss - case.loss).abs() <= tolerance * case.loss.abs(),
        "{}, {what}: loss {loss} against {}",
        case.name,
        case.loss
    );
    assert_eq!(gradients.len(), case.gradients.len(), "{}: the same tensors", case.name);
    for (name, reference) in &case.gradients {
        let got = &gradients[name];
        let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        let worst = got.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst <= tolerance * scale, "{}, {what}: {name} differs by {worst:e} (largest {scale:e})", case.name);
    }
}

#[test]
fn gradients_equal_the_authors_code_on_every_golden_case() {
    let cases = cases();
    assert_eq!(cases.len(), 16, "2 cells x 2 depths x 4 threshold and L1 settings");
    for case in &cases {
        let thresholds = case.config.thresholds;
        for mode in [Mode::Delta(thresholds), Mode::DeltaPerColumn(thresholds)] {
            assert_agree(case, &ours::<f64>(case, mode), 1e-9, &format!("f64 {mode:?}"));
            assert_agree(case, &ours::<f32>(case, mode), 1e-5, &format!("f32 {mode:?}"));
        }
    }
}

#[test]
fn a_planted_error_breaks_the_golden_check() {
    let cases = cases();
    let case = &cases[5];
    let (loss, mut gradients) = ours::<f64>(case, Mode::Delta(case.config.thresholds));
    gradients.get_mut("rnn.weight_hh_l0").expect("a tensor")[3] *= 1.0 + 1e-6;
    let result = std::panic::catch_unwind(|| assert_agree(case, &(loss, gradients.clone()), 1e-9, "planted"));
    assert!(result.is_err(), "a relative error of 1e-6 in one element must fail the 1e-9 check");
}
