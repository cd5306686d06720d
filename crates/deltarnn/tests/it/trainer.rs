//! The trainer on a small synthetic keyword task: it learns, it is deterministic across thread
//! counts, it resumes exactly, and it stops cleanly on divergence.

use deltarnn::nn::{init_params, CellKind, Model, ModelConfig};
use deltarnn::rng::Rng;
use deltarnn::train::run::RunDir;
use deltarnn::train::{evaluate, fit, Event, TrainConfig, TrainState, Utterance};
use deltarnn::{Error, Thresholds};

/// A toy utterance; `name` is empty unless a test names it (as a file would).
pub struct Toy {
    pub name: String,
    pub frames: Vec<f32>,
    labels: Vec<i64>,
    label: usize,
}

impl Utterance for Toy {
    fn frames(&self) -> &[f32] {
        &self.frames
    }
    fn frame_labels(&self) -> &[i64] {
        &self.labels
    }
    fn label(&self) -> usize {
        self.label
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// Silence, then a "word" that raises feature (class - 1) for a while, then silence.
pub fn toy_set(seed: u64, n: usize) -> Vec<Toy> {
    let mut rng = Rng::seed(seed);
    (0..n)
        .map(|_| {
            let label = 1 + rng.below(3);
            let (start, len) = (4 + rng.below(6), 8 + rng.below(6));
            let steps = start + len + 5;
            let mut frames = Vec::new();
            let mut labels = Vec::new();
            for t in 0..steps {
                let word = t >= start && t < start + len;
                for f in 0..4 {
                    let signal = if word && f == label - 1 { 1.5 } else { 0.0 };
                    frames.push((signal + 0.1 * rng.normal()) as f32);
                }
                labels.push(if word { label as i64 } else { 0 });
            }
            Toy { name: String::new(), frames, labels, label }
        })
        .collect()
}

pub fn setup() -> (Model<f32>, TrainConfig, Vec<Toy>, Vec<Toy>) {
    let model_config = ModelConfig {
        cell: CellKind::Lstm,
        n_features: 4,
        n_layers: 1,
        n_hidden: 16,
        n_classes: 4,
        thresholds: Thresholds::both(0.1),
    };
    let model = init_params::<f32>(&model_config, 5).unwrap();
    let config = TrainConfig {
        epochs: 6,
        batch_size: 8,
        learning_rate: 0.01,
        warmup_steps: 5,
        early_stop_patience: 0,
        seed: 9,
        ..TrainConfig::default()
    };
    (model, config, toy_set(1, 96), toy_set(2, 48))
}

fn train(mut model: Model<f32>, config: &TrainConfig, train: &[Toy], valid: &[Toy]) -> (Model<f32>, TrainState) {
    let mut state = TrainState::new(&model, config);
    fit(&mut model, &mut state, config, train, valid, |_| Ok(())).unwrap();
    (model, state)
}

#[test]
fn learns_the_toy_task_with_sparse_bptt_and_saves_work() {
    let (model, config, train_set, valid) = setup();
    let before = evaluate(&model, &valid, config.mode(model.config.thresholds), config.readout, 1).unwrap();
    let (model, state) = train(model, &config, &train_set, &valid);
    let after = evaluate(&model, &valid, config.mode(model.config.thresholds), config.readout, 1).unwrap();
    assert!(after.accuracy >= 0.9, "accuracy {} (before {})", after.accuracy, before.accuracy);
    let last = state.history.last().unwrap();
    assert!(last.ops_actual < last.ops_dense / 2, "ops {} of {}", last.ops_actual, last.ops_dense);
    assert!(last.sparsity.overall > 0.5);
}

#[test]
fn thread_count_does_not_change_a_single_bit() {
    let (model, mut config, train_set, valid) = setup();
    config.epochs = 2;
    let (one, _) = train(model.clone(), &config, &train_set, &valid);
    config.threads = 2;
    let (two, _) = train(model, &config, &train_set, &valid);
    assert_eq!(one.params, two.params);
}

#[test]
fn resuming_from_the_saved_state_is_bit_identical() {
    let (model, mut config, train_set, valid) = setup();
    config.epochs = 4;
    let (straight, straight_state) = train(model.clone(), &config, &train_set, &valid);

    let dir = std::env::temp_dir().join(format!("deltarnn-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let run = RunDir::open(&dir).unwrap();
        let mut first = config.clone();
        first.epochs = 2;
        let mut m = model.clone();
        let mut state = TrainState::new(&m, &first);
        fit(&mut m, &mut state, &first, &train_set, &valid, |event| match event {
            Event::Epoch { model, state, .. } => run.save_state(model, state, &first),
            _ => Ok(()),
        })
        .unwrap();
    }
    let run = RunDir::open(&dir).unwrap();
    let (mut resumed, mut state, saved) = run.load_state().unwrap();
    assert_eq!(state.epochs_done, 2);
    assert_eq!(saved.seed, config.seed);
    fit(&mut resumed, &mut state, &config, &train_set, &valid, |_| Ok(())).unwrap();
    assert_eq!(resumed.params, straight.params);
    assert_eq!(state.optimizer, straight_state.optimizer);
    drop(run);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_process_cannot_open_a_locked_run() {
    let dir = std::env::temp_dir().join(format!("deltarnn-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // PID 1 is always alive: a lock it holds is respected.
    std::fs::write(dir.join(".lock"), "1").unwrap();
    let err = RunDir::open(&dir).unwrap_err().to_string();
    assert!(err.contains("is in use by process 1"), "{err}");
    // A lock from a process that no longer exists is taken over.
    std::fs::write(dir.join(".lock"), "999999999").unwrap();
    assert!(RunDir::open(&dir).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn divergence_names_epoch_and_batch_and_keeps_the_last_good_parameters() {
    let (model, mut config, train_set, valid) = setup();
    config.learning_rate = 1e30;
    config.warmup_steps = 0;
    config.clip_norm = 1e30;
    let mut m = model.clone();
    let mut state = TrainState::new(&m, &config);
    let err = fit(&mut m, &mut state, &config, &train_set, &valid, |_| Ok(())).unwrap_err();
    match &err {
        Error::Diverged { epoch, batch, .. } => assert!(*epoch >= 1 && *batch >= 1),
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().starts_with("training diverged at epoch"), "{err}");
    assert!(m.params.all_finite());
}

/// Cross-entropy, except that one training sequence's gradient is infinite while its loss
/// stays finite.
struct InfiniteGradientFor(usize);

impl deltarnn::train::Objective for InfiniteGradientFor {
    fn loss(
        &self,
        index: usize,
        logits: &[f32],
        labels: &[i64],
        n_classes: usize,
        batch: deltarnn::train::BatchContext<'_>,
        dlogits: &mut [f32],
    ) -> (f64, usize) {
        let result = deltarnn::train::CrossEntropy.loss(index, logits, labels, n_classes, batch, dlogits);
        if index == self.0 {
            dlogits[0] = f32::INFINITY;
        }
        result
    }
}

#[test]
fn a_non_finite_gradient_with_a_finite_loss_names_its_sequence() {
    let (model, config, train_set, valid) = setup();
    let bad = 37;
    let mut m = model.clone();
    let mut state = TrainState::new(&m, &config);
    let err =
        deltarnn::train::fit_with(&mut m, &mut state, &config, &train_set, &valid, &InfiniteGradientFor(bad), |_| {
            Ok(())
        })
        .unwrap_err();
    match &err {
        Error::Diverged { what, utterances, .. } => {
            assert_eq!(what, "gradient norm", "{err}");
            assert_eq!(utterances, &[train_set[bad].name().to_string()], "{err}");
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(m.params.all_finite());
}
