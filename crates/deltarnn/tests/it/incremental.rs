//! Class-incremental learning: the distillation gradient by central differences in f64, head
//! growth, forgetting with and without exemplars and distillation, determinism, and learning in
//! the accelerator's arithmetic.

use super::small_model;
use deltarnn::data::Example;
use deltarnn::incremental::{
    resolve_incremental_q_format, run_incremental, ClassSchedule, Classifier, IncrementRecord, IncrementalConfig,
    Storage,
};
use deltarnn::nn::datapath::{Datapath, QFormat};
use deltarnn::nn::loss::{frame_cross_entropy, frame_distillation};
use deltarnn::nn::{CellKind, Mode, Model, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::sim::Format;
use deltarnn::train::TrainConfig;
use deltarnn::{Protocol, Thresholds};

/// Cross-entropy over all outputs plus `weight` x BCE distillation on the first `n_old`, per frame,
/// divided by the frame count: the loss a training step of an increment minimises.
fn objective(model: &Model<f64>, x: &[f64], labels: &[i64], teacher: &[f64], n_old: usize, mode: Mode) -> f64 {
    let mut tape = SequenceTape::default();
    model.forward(x, mode, &mut tape);
    let c = model.config.n_classes;
    let mut d = vec![0.0; tape.logits.len()];
    let (ce, frames) = frame_cross_entropy(&mut d, &tape.logits, labels, c, 1.0);
    let kd = frame_distillation(&mut d, &tape.logits, teacher, labels, c, n_old, 1.0);
    (ce + 0.7 * kd) / frames as f64
}

#[test]
fn distillation_gradient_matches_central_differences_in_f64() {
    for (cell, mode) in [
        (CellKind::Lstm, Mode::Dense),
        (CellKind::Lstm, Mode::Delta(Thresholds::ZERO)),
        (CellKind::Gru, Mode::Delta(Thresholds::ZERO)),
    ] {
        let model = small_model::<f64>(cell, 1, 3, 5, 5, 11);
        let mut rng = Rng::seed(12);
        let steps = 9;
        let x: Vec<f64> = random_walk(&mut rng, steps, 3, 0.4);
        let labels: Vec<i64> = (0..steps).map(|t| if t == 4 { -1 } else { rng.below(5) as i64 }).collect();
        let n_old = 3;
        let teacher: Vec<f64> = (0..steps * n_old).map(|_| 2.0 * rng.normal()).collect();
        let frames = labels.iter().filter(|&&l| l >= 0).count();
        let scale = 1.0 / frames as f64;
        let mut grads = Params::zeros(&model.config);
        let mut tape = SequenceTape::default();
        model.loss_and_gradient_with(&mut grads, &mut tape, &x, mode, 0.0, |logits, dlogits| {
            let (ce, n) = frame_cross_entropy(dlogits, logits, &labels, 5, scale);
            let kd = frame_distillation(dlogits, logits, &teacher, &labels, 5, n_old, 0.7 * scale);
            (ce + 0.7 * kd, n)
        });
        let mut probe = model.clone();
        let step = 1e-6;
        let mut checked = 0;
        for s in 0..grads.slices().len() {
            for i in 0..grads.slices()[s].len() {
                let original = probe.params.slices()[s][i];
                probe.params.slices_mut()[s][i] = original + step;
                let up = objective(&probe, &x, &labels, &teacher, n_old, mode);
                probe.params.slices_mut()[s][i] = original - step;
                let down = objective(&probe, &x, &labels, &teacher, n_old, mode);
                probe.params.slices_mut()[s][i] = original;
                let numeric = (up - down) / (2.0 * step);
                let analytic = grads.slices()[s][i];
                let tolerance = 1e-7 + 1e-5 * analytic.abs().max(numeric.abs());
                assert!(
                    (numeric - analytic).abs() <= tolerance,
                    "{cell:?} {mode:?} tensor {s} element {i}: analytic {analytic:e}, numeric {numeric:e}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, model.config.n_params());
    }
}

#[test]
fn growing_the_head_keeps_old_rows_and_old_logits() {
    let model = small_model::<f32>(CellKind::Lstm, 1, 3, 6, 4, 2);
    let mut grown = model.clone();
    grown.grow_classes(7, 99).unwrap();
    assert_eq!(grown.config.n_classes, 7);
    assert_eq!(grown.params.layers, model.params.layers);
    for col in 0..6 {
        assert_eq!(&grown.params.head.w.col(col)[..4], model.params.head.w.col(col), "old rows kept bit for bit");
        assert!(grown.params.head.w.col(col)[4..].iter().all(|&w| w != 0.0 && w.abs() < 1.0));
    }
    assert_eq!(&grown.params.head.b[..4], &model.params.head.b[..]);
    let mean_old: f32 = model.params.head.b[1..].iter().sum::<f32>() / 3.0;
    for &b in &grown.params.head.b[4..] {
        assert!((b - mean_old).abs() < 1e-6);
    }
    // Old outputs are unchanged up to the head product's summation order.
    let x: Vec<f32> = random_walk(&mut Rng::seed(3), 12, 3, 0.3);
    let (mut a, mut b) = (SequenceTape::default(), SequenceTape::default());
    model.forward(&x, Mode::Delta(Thresholds::both(0.1)), &mut a);
    grown.forward(&x, Mode::Delta(Thresholds::both(0.1)), &mut b);
    for (za, zb) in a.logits.chunks_exact(4).zip(b.logits.chunks_exact(7)) {
        for (p, q) in za.iter().zip(&zb[..4]) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }
    assert!(grown.clone().grow_classes(3, 0).is_err(), "the head never shrinks");
}

/// Silence, then a "word" that raises feature (class - 1) with a class-specific wobble, then
/// silence; `n_per_class` utterances of each of `n_classes` classes.
fn toy_examples(seed: u64, n_classes: usize, n_per_class: usize) -> Vec<Example> {
    let mut rng = Rng::seed(seed);
    let n_features = n_classes;
    let mut out = Vec::new();
    for i in 0..n_classes * n_per_class {
        let label = 1 + i % n_classes;
        let (start, len) = (3 + rng.below(4), 6 + rng.below(4));
        let steps = start + len + 3;
        let (mut frames, mut frame_labels) = (Vec::new(), Vec::new());
        for t in 0..steps {
            let word = t >= start && t < start + len;
            for f in 0..n_features {
                let signal = if word && f == label - 1 { 1.5 } else { 0.0 };
                frames.push((signal + 0.15 * rng.normal()) as f32);
            }
            frame_labels.push(if word { label as i64 } else { 0 });
        }
        out.push(Example {
            path: format!("toy/{i}.wav"),
            speaker: String::new(),
            label,
            n_frames: steps,
            frames,
            frame_labels,
        });
    }
    out
}

fn toy_config(memory: usize, distillation_weight: f64, classifier: Classifier, threads: usize) -> IncrementalConfig {
    IncrementalConfig {
        cell: CellKind::Lstm,
        n_layers: 1,
        n_hidden: 16,
        thresholds: Thresholds::both(0.05),
        train: TrainConfig {
            epochs: 12,
            batch_size: 8,
            learning_rate: 1e-2,
            warmup_steps: 0,
            seed: 3,
            threads,
            ..TrainConfig::default()
        },
        memory,
        storage: Storage::Features,
        classifier,
        distillation_weight,
        protocol: Protocol::Ours,
    }
}

fn run(config: &IncrementalConfig) -> (Model<f32>, Vec<IncrementRecord>) {
    let (train, test) = (toy_examples(1, 6, 16), toy_examples(2, 6, 10));
    let schedule = ClassSchedule::new(6, 2, 2, None, 5).unwrap();
    run_incremental(config, &schedule, 6, &train, &test, None, |_| Ok(())).unwrap()
}

#[test]
fn without_exemplars_and_distillation_old_classes_are_forgotten_with_them_they_are_not() {
    let (_, naive) = run(&toy_config(0, 0.0, Classifier::Head, 2));
    let (_, icarl) = run(&toy_config(30, 1.0, Classifier::Nme, 2));
    assert_eq!(naive.len(), 3);
    assert!(naive[0].accuracy > 0.9, "the base task is learnt: {:?}", naive[0].accuracy);
    let naive_old = naive[2].old_accuracy.unwrap();
    let icarl_old = icarl[2].old_accuracy.unwrap();
    let both = format!("old-class accuracy after the last increment: naive {naive_old}, iCaRL {icarl_old}");
    assert!(naive_old <= 0.3, "old classes collapse without exemplars or distillation; {both}");
    assert!(icarl_old >= 0.8, "exemplars + distillation + NME keep them; {both}");
    assert!(icarl[2].accuracy > 0.8, "{}", icarl[2].accuracy);
    assert_eq!(icarl[2].memory_utterances, 30);
    assert_eq!(icarl[1].exemplars_used, 30, "15 of each base class");
    assert!(icarl[2].train_ops < icarl[2].train_ops_dense);
}

#[test]
fn same_seed_same_bits_whatever_the_thread_count() {
    let strip = |records: Vec<IncrementRecord>| -> Vec<IncrementRecord> {
        records
            .into_iter()
            .map(|r| IncrementRecord { train_seconds: 0.0, seconds_per_update: 0.0, seconds: 0.0, ..r })
            .collect()
    };
    let (model_a, a) = run(&toy_config(12, 1.0, Classifier::Nme, 1));
    let (model_b, b) = run(&toy_config(12, 1.0, Classifier::Nme, 2));
    assert_eq!(model_a, model_b);
    assert_eq!(strip(a), strip(b));
}

#[test]
fn the_authors_protocol_learns_and_splits_the_memory_with_silence() {
    let config = IncrementalConfig { protocol: Protocol::Authors, ..toy_config(30, 1.0, Classifier::Nme, 2) };
    let (model, records) = run(&config);
    // int(30 / (2 + 1)) = 10 per base class, int(30 / 7) = 4 per class at the end.
    assert_eq!(records[0].memory_utterances, 20);
    assert_eq!(records[2].memory_utterances, 24);
    assert!(records[0].accuracy > 0.9, "the base task is learnt: {}", records[0].accuracy);
    assert!(records[2].accuracy > 0.6, "{}", records[2].accuracy);
    // The last increment's new rows (outputs 5 and 6) started at bias 0; the old ones moved.
    assert_eq!(model.config.n_classes, 7);
    let (ours, _) = run(&toy_config(30, 1.0, Classifier::Nme, 2));
    assert_ne!(ours, model, "the protocols differ");
}

/// The datapath of `format`, its Q format to be chosen from the data.
fn arith(format: Format) -> Option<Datapath> {
    Some(Datapath { format, q: QFormat { weights: 0, deltas: 0, grads: 0 } })
}

#[test]
fn learning_in_bf16_and_fxp16_keeps_the_accuracy_and_the_format() {
    let (train, schedule) = (toy_examples(1, 6, 16), ClassSchedule::new(6, 2, 2, None, 5).unwrap());
    let base = toy_config(30, 1.0, Classifier::Nme, 2);
    let (_, f32_records) = run(&base);
    // BF16 with the weights in the format: every recurrent weight stays a BF16 value.
    let mut bf16 = base.clone();
    bf16.train.arith = arith(Format::Bf16);
    bf16.train.weights_in_format = true;
    let (model, records) = run(&bf16);
    let all_bf16 = model.params.layers.iter().flat_map(|l| l.w_x.data.iter().chain(&l.w_h.data));
    assert!(all_bf16.clone().all(|w| w.to_bits() & 0xFFFF == 0), "the weights stay BF16");
    assert!(all_bf16.clone().any(|&w| w != 0.0));
    let (f32_final, bf16_final) = (f32_records[2].accuracy, records[2].accuracy);
    assert!(bf16_final >= f32_final - 0.15, "bf16 {bf16_final} against f32 {f32_final}");
    // FXP16: the Q format is chosen from the base classes before the run, once.
    let mut fxp16 = base.clone();
    fxp16.train.arith = arith(Format::Fxp16);
    fxp16.train.calibrate_q_format = true;
    let q = resolve_incremental_q_format(&mut fxp16, &schedule, 6, &train).unwrap().expect("a Q format is chosen");
    assert!(q.weights > 0 && q.deltas > 0 && q.grads > 0, "{q}");
    assert!(!fxp16.train.calibrate_q_format);
    assert_eq!(fxp16.train.arith.unwrap().q, q);
    assert_eq!(resolve_incremental_q_format(&mut fxp16.clone(), &schedule, 6, &train).unwrap(), None, "resolved once");
    let (_, records) = run(&fxp16);
    assert!(records[0].accuracy > 0.8, "the base task is learnt in FXP16: {}", records[0].accuracy);
}

#[test]
fn a_value_beyond_the_fxp16_format_outside_training_is_an_error_naming_where() {
    let (train, schedule) = (toy_examples(1, 6, 16), ClassSchedule::new(6, 2, 2, None, 5).unwrap());
    let mut config = toy_config(30, 1.0, Classifier::Nme, 2);
    config.train.arith = arith(Format::Fxp16);
    config.train.calibrate_q_format = true;
    config.train.epochs = 1;
    // Test utterances 1000x louder than any training one: training stays in range, scoring not.
    let mut test = toy_examples(2, 6, 10);
    for e in &mut test {
        e.frames.iter_mut().for_each(|v| *v *= 1000.0);
    }
    let err = run_incremental(&config, &schedule, 6, &train, &test, None, |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("fxp16 overflow in scoring increment 0"), "{err}");
    assert!(err.contains("toy/"), "names the utterance: {err}");
    assert!(err.contains("delta"), "names the tensor: {err}");
}
