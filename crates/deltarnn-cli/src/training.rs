//! The training pipeline `train`, `sweep` and `demo` share: a run directory from a loaded
//! dataset (fresh or resumed), training with a progress bar and a line per epoch, the best model
//! scored on validation and test, metrics.json and report.md.

use crate::args::ModelArgs;
use crate::report;
use anyhow::{bail, Context, Result};
use deltarnn::bundle::Bundle;
use deltarnn::data::{Dataset, Example};
use deltarnn::nn::{init_params, Model, ModelConfig};
use deltarnn::train::run::{RunDir, MODEL_FILE};
use deltarnn::train::{evaluate, fit, resolve_q_format, EpochRecord, Evaluation, Event, TrainConfig, TrainState};
use deltarnn::Protocol;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::Path;

/// Trains on a loaded dataset into `out`, writes every file of the run and returns metrics.json.
/// With `resume`, continues the run's saved state (same model flags required); `quiet` hides the
/// progress bar and the per-epoch lines.
pub fn train_run(
    dataset: &Dataset,
    out: &Path,
    model_args: &ModelArgs,
    config: TrainConfig,
    resume: bool,
    quiet: bool,
) -> Result<serde_json::Value> {
    if dataset.train.examples.is_empty() {
        bail!("the training split of the dataset is empty");
    }
    let run = RunDir::open(out).with_context(|| format!("opening run directory {}", out.display()))?;
    let model_config = ModelConfig {
        cell: model_args.cell,
        n_features: dataset.n_features(),
        n_layers: model_args.layers,
        n_hidden: model_args.hidden,
        n_classes: dataset.n_classes(),
        thresholds: model_args.thresholds(),
    };
    let resume_protocol = resume.then_some(dataset.protocol);
    let (mut model, mut state, mut config) = start_or_resume(&run, out, model_config, config, resume_protocol, quiet)?;
    if let Some(q) = resolve_q_format(&mut config, &model, &dataset.train.examples)? {
        if !quiet {
            eprintln!("fxp16 Q format from the first training sequences: W,D,G = {q} fraction bits");
        }
    }
    let mut extra = BTreeMap::new();
    extra.insert("train_config".to_string(), serde_json::to_string(&config)?);
    extra.insert("dataset_kind".to_string(), dataset.kind.name().to_string());
    let bundle_of = |model: &Model<f32>| Bundle {
        model: model.clone(),
        feature_config: dataset.feature_config.clone(),
        normalizer: dataset.normalizer.clone(),
        labels: dataset.labels.clone(),
        protocol: Some(dataset.protocol),
        extra: extra.clone(),
    };
    let epochs = EpochProgress::new(quiet, config.mode(model.config.thresholds).kind().name());
    let result = fit(&mut model, &mut state, &config, &dataset.train.examples, &dataset.valid.examples, |event| {
        match event {
            Event::Batch { epoch, batch, batches, .. } => epochs.batch(epoch, batch, batches),
            Event::Epoch { model, state, improved } => {
                if improved {
                    bundle_of(model).save(&run.path(MODEL_FILE))?;
                }
                run.save_state(model, state, &config)?;
                if let Some(record) = state.history.last() {
                    epochs.epoch(record, improved);
                }
            }
        }
        Ok(())
    });
    epochs.finish();
    if let Err(err) = result {
        let kept = if run.path(MODEL_FILE).exists() {
            format!("the last good model is {}", run.path(MODEL_FILE).display())
        } else {
            "no model was saved yet".to_string()
        };
        return Err(anyhow::Error::new(err).context(format!("training {} stopped; {kept}", out.display())));
    }
    score_best_model(&run, dataset, &config, &state)
}

/// A fresh model and state (seeded), or, when resuming and the run (`run`, in folder `dir`) has
/// a saved state, the run's own, whose model must match `model_config`; the saved configuration
/// then rules but for the epochs and threads given now. When resuming (`resume` is the protocol
/// of the data loaded now), a model already in the run must have been trained under it.
fn start_or_resume(
    run: &RunDir,
    dir: &Path,
    model_config: ModelConfig,
    config: TrainConfig,
    resume: Option<Protocol>,
    quiet: bool,
) -> Result<(Model<f32>, TrainState, TrainConfig)> {
    if let (Some(protocol), true) = (resume, run.path(MODEL_FILE).exists()) {
        let recorded = Bundle::load(&run.path(MODEL_FILE)).context("reading the run's model")?.protocol;
        let recorded = recorded.unwrap_or(Protocol::LEGACY);
        if recorded != protocol {
            bail!(
                "{}: the run was trained under protocol {recorded}; resume with --protocol {recorded}",
                dir.display()
            );
        }
    }
    if !(resume.is_some() && run.has_state()) {
        let model = init_params::<f32>(&model_config, config.seed)?;
        let state = TrainState::new(&model, &config);
        return Ok((model, state, config));
    }
    let (model, state, saved) = run.load_state().with_context(|| format!("resuming from {}", dir.display()))?;
    if model.config != model_config {
        bail!(
            "{}: the saved run has a different model ({:?}); resume with the same flags",
            dir.display(),
            model.config
        );
    }
    if !quiet {
        eprintln!("resuming {} after epoch {}", dir.display(), state.epochs_done);
    }
    Ok((model, state, TrainConfig { epochs: config.epochs, threads: config.threads, ..saved }))
}

/// The progress bar of a training run and its one line per epoch on stderr (both hidden when
/// quiet).
struct EpochProgress {
    bar: ProgressBar,
    quiet: bool,
    mode: &'static str,
}

impl EpochProgress {
    fn new(quiet: bool, mode: &'static str) -> Self {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} batches {elapsed_precise} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        EpochProgress { bar, quiet, mode }
    }

    fn batch(&self, epoch: usize, batch: usize, batches: usize) {
        self.bar.set_length(batches as u64);
        self.bar.set_position(batch as u64 + 1);
        self.bar.set_message(format!("{} epoch {epoch}", self.mode));
    }

    fn epoch(&self, r: &EpochRecord, improved: bool) {
        if self.quiet {
            return;
        }
        self.bar.suspend(|| {
            eprintln!(
                "{} epoch {:>3}: loss {:.4}  valid loss {:.4}  valid acc {:5.1}%  sparsity {:4.1}%  ops -{:4.1}% (executed -{:4.1}%)  {:.1} s{}",
                self.mode,
                r.epoch,
                r.train_loss,
                r.valid_loss,
                100.0 * r.valid_accuracy,
                100.0 * r.sparsity.overall,
                100.0 * (1.0 - r.ops_actual as f64 / r.ops_dense.max(1) as f64),
                100.0 * (1.0 - r.ops_executed as f64 / r.ops_dense.max(1) as f64),
                r.train_seconds,
                if improved { "  *" } else { "" }
            )
        });
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Scores the best model (the one on disk) on validation and test, writes metrics.json and
/// report.md, and returns the metrics.
fn score_best_model(
    run: &RunDir,
    dataset: &Dataset,
    config: &TrainConfig,
    state: &TrainState,
) -> Result<serde_json::Value> {
    let best = Bundle::load(&run.path(MODEL_FILE)).context("reloading the best model")?;
    let mode = config.mode(best.model.config.thresholds);
    let valid = evaluate(&best.model, &dataset.valid.examples, mode, config.readout, config.threads)?;
    let test_is_valid = dataset.test.examples.is_empty();
    let test_examples: &[Example] = if test_is_valid { &dataset.valid.examples } else { &dataset.test.examples };
    let test = evaluate(&best.model, test_examples, mode, config.readout, config.threads)?;
    let metrics = metrics_json(&best.model.config, config, state, &valid, &test, test_is_valid, dataset.protocol);
    run.save_metrics(&metrics)?;
    report::write(run, state, &test, &metrics).context("writing report.md")?;
    Ok(metrics)
}

/// metrics.json: the figures a user compares runs by, and the full configuration.
fn metrics_json(
    model: &ModelConfig,
    config: &TrainConfig,
    state: &TrainState,
    valid: &Evaluation,
    test: &Evaluation,
    test_is_valid: bool,
    protocol: Protocol,
) -> serde_json::Value {
    let (dense, actual, executed) = state
        .history
        .iter()
        .fold((0u64, 0u64, 0u64), |(d, a, e), r| (d + r.ops_dense, a + r.ops_actual, e + r.ops_executed));
    let train_sparsity = state.history.last().map(|r| r.sparsity).unwrap_or_default();
    serde_json::json!({
        "test_accuracy": test.accuracy,
        "test_split": if test_is_valid { "valid (the dataset has no test split)" } else { "test" },
        "valid_accuracy": valid.accuracy,
        "test_loss": test.loss,
        "sparsity": {
            "delta_x": train_sparsity.delta_x,
            "delta_h": train_sparsity.delta_h,
            "overall": train_sparsity.overall,
        },
        "inference_sparsity": test.cost.sparsity(),
        "ops": {
            "dense": dense,
            "actual": actual,
            "executed": executed,
            "reduction": if dense == 0 { 0.0 } else { 1.0 - actual as f64 / dense as f64 },
            "executed_reduction": if dense == 0 { 0.0 } else { 1.0 - executed as f64 / dense as f64 },
        },
        "train_seconds": state.train_seconds(),
        "params": model.n_params(),
        "epochs": state.epochs_done,
        "best_epoch": state.best_epoch,
        "mode": config.mode(model.thresholds).kind(),
        "protocol": protocol,
        "config": { "model": model, "train": config },
    })
}

/// Which network a recorded trace runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TraceMode {
    /// The Delta network in f32 at the model's thresholds.
    DeltaF32,
    /// The network the run trained (its arithmetic included, `--arith`).
    Trained,
}

/// The final model of the run in `out` on the first `n` training sequences of its final epoch's
/// order, recorded in `mode`; also returns the epochs the run did.
pub fn record_final_trace(
    dataset: &Dataset,
    out: &Path,
    n: usize,
    mode: TraceMode,
) -> Result<(deltarnn::tracefile::TraceFile, usize)> {
    let run = RunDir::open(out).with_context(|| format!("opening run directory {}", out.display()))?;
    let (model, state, config) =
        run.load_state().with_context(|| format!("loading the final model of {}", out.display()))?;
    let train = &dataset.train.examples;
    let order = deltarnn::train::epoch_order(config.seed, state.epochs_done.saturating_sub(1), train.len());
    let frames = order.iter().take(n).map(|&i| train[i].frames.as_slice());
    let thresholds = model.config.thresholds;
    let mode = match mode {
        TraceMode::DeltaF32 => deltarnn::nn::Mode::Delta(thresholds),
        TraceMode::Trained => config.mode(thresholds),
    };
    Ok((deltarnn::tracefile::record_in_mode(&model, mode, frames), state.epochs_done))
}
