//! Training in the accelerator's arithmetic (`TrainConfig::arith`): BF16 and FXP16 learn the toy
//! task, runs are deterministic, weights can live in the format, a Q format that cannot hold the
//! data stops with the tensor and the step named, and the Q format is chosen from the data.

use crate::trainer::toy_set;
use deltarnn::nn::datapath::{Datapath, QFormat};
use deltarnn::nn::{Mode, Model};
use deltarnn::sim::Format;
use deltarnn::train::{calibrate_q_format, evaluate, fit, TrainConfig, TrainState};
use deltarnn::Error;

/// The trainer tests' toy model and configuration, in `arith`.
fn setup(arith: Option<Datapath>) -> (Model<f32>, TrainConfig) {
    let (model, config, _, _) = crate::trainer::setup();
    (model, TrainConfig { arith, ..config })
}

fn bf16() -> Datapath {
    Datapath { format: Format::Bf16, q: QFormat { weights: 0, deltas: 0, grads: 0 } }
}

#[test]
fn bf16_and_calibrated_fxp16_learn_the_toy_task() {
    let (train_set, valid) = (toy_set(1, 96), toy_set(2, 48));
    let (model, _) = setup(None);
    let q = calibrate_q_format(&model, &train_set, 8, 0.0).unwrap();
    for arith in [bf16(), Datapath { format: Format::Fxp16, q }] {
        let (mut model, config) = setup(Some(arith));
        assert!(matches!(config.mode(model.config.thresholds), Mode::DeltaInFormat(..)));
        let mut state = TrainState::new(&model, &config);
        fit(&mut model, &mut state, &config, &train_set, &valid, |_| Ok(())).unwrap();
        let eval = evaluate(&model, &valid, config.mode(model.config.thresholds), config.readout, 1).unwrap();
        assert!(eval.accuracy >= 0.85, "{arith:?}: accuracy {}", eval.accuracy);
        let last = state.history.last().unwrap();
        assert!(last.ops_actual < last.ops_dense / 2, "{arith:?}: sparse work");
    }
}

#[test]
fn training_in_format_is_deterministic_and_weights_can_live_in_it() {
    let (train_set, valid) = (toy_set(1, 48), toy_set(2, 16));
    let run = |weights_in_format: bool, threads: usize| {
        let (mut model, mut config) = setup(Some(bf16()));
        config.epochs = 2;
        config.threads = threads;
        config.weights_in_format = weights_in_format;
        let mut state = TrainState::new(&model, &config);
        fit(&mut model, &mut state, &config, &train_set, &valid, |_| Ok(())).unwrap();
        model
    };
    assert_eq!(run(false, 1).params, run(false, 2).params);
    let in_format = run(true, 1);
    for layer in &in_format.params.layers {
        for w in layer.w_x.data.iter().chain(&layer.w_h.data) {
            assert_eq!(w.to_bits() & 0xFFFF, 0, "{w} is not a BF16 value");
        }
    }
    assert_ne!(in_format.params, run(false, 1).params);
}

#[test]
fn an_fxp16_format_too_narrow_stops_with_the_tensor_and_step() {
    let (train_set, valid) = (toy_set(1, 16), toy_set(2, 8));
    // 14 fraction bits for the deltas hold +-2: the toy's 1.5 signal plus noise may not fit, and
    // W delta has 26 fraction bits, +-2^-11: it cannot.
    let q = QFormat { weights: 12, deltas: 14, grads: 10 };
    let (mut model, config) = setup(Some(Datapath { format: Format::Fxp16, q }));
    let mut state = TrainState::new(&model, &config);
    let err = fit(&mut model, &mut state, &config, &train_set, &valid, |_| Ok(())).unwrap_err();
    assert!(matches!(err, Error::FormatOverflow { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("training epoch 1, batch 1") && text.contains("layer 0 at step"), "{text}");
    assert!(text.contains("--q-format"), "{text}");
}

#[test]
fn arith_refuses_the_dense_network_and_weights_in_format_needs_a_format() {
    let (_, mut config) = setup(Some(bf16()));
    config.dense = true;
    assert!(config.validate().unwrap_err().to_string().contains("Delta network"));
    let (_, mut config) = setup(None);
    config.weights_in_format = true;
    assert!(config.validate().unwrap_err().to_string().contains("needs an arithmetic"));
}
