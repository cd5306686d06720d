//! `deltarnn train`: train a Delta (or dense) model on a dataset into a run directory.

use super::dataset::{self, DataArgs};
use super::report;
use anyhow::{bail, Context, Result};
use deltarnn::bundle::Bundle;
use deltarnn::data::{Dataset, Example};
use deltarnn::nn::loss::Readout;
use deltarnn::nn::{init_params, CellKind, Mode, ModelConfig};
use deltarnn::tracefile;
use deltarnn::train::run::{RunDir, MODEL_FILE};
use deltarnn::train::{epoch_order, evaluate, fit, Evaluation, Event, TrainConfig, TrainState};
use deltarnn::Thresholds;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Train a model on a dataset (layout detected from the folder) and write a run directory:
/// model.safetensors (best by validation accuracy), state.safetensors (resumable), history.csv,
/// metrics.json and report.md with plots.
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (Fluent Speech Commands, Speech Commands v2, keyword CSV splits or FSDD).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory to write (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub training: TrainArgs,
    #[command(flatten)]
    pub dataset: DataArgs,
    /// Continue an interrupted run from its state.safetensors (same result, bit for bit).
    #[arg(long)]
    pub resume: bool,
    /// Print the final metrics as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// After training, write the activity trace (fired indices and deltas per layer and step,
    /// docs/trace-format.md) of the final model on the first --trace-sequences training
    /// sequences of the final epoch's order. With --resume and no epochs left, records an
    /// existing run.
    #[arg(long, value_name = "FILE")]
    pub record_trace: Option<PathBuf>,
    /// Training sequences --record-trace records.
    #[arg(long, default_value_t = 4)]
    pub trace_sequences: usize,
}

/// The model's shape and thresholds.
#[derive(clap::Args, Clone, Debug)]
pub struct ModelArgs {
    /// Recurrent cell.
    #[arg(long, default_value = "lstm")]
    pub cell: CellKind,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Input threshold theta_x.
    #[arg(long, default_value_t = 0.1)]
    pub theta_x: f64,
    /// Hidden threshold theta_h.
    #[arg(long, default_value_t = 0.1)]
    pub theta_h: f64,
}

/// How to train.
#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    /// Maximum epochs.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Sequences per update.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Gradient norm clip.
    #[arg(long, default_value_t = 200.0)]
    pub clip_norm: f64,
    /// Warm-up updates (linear ramp of the learning rate).
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// Stop after this many epochs without a better validation accuracy (0 = never).
    #[arg(long, default_value_t = 8)]
    pub early_stop: usize,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Ordinary dense BPTT of the same model (the baseline).
    #[arg(long)]
    pub dense: bool,
    /// Epochs of dense pretraining before retraining as a Delta network.
    #[arg(long, default_value_t = 0)]
    pub pretrain_dense_epochs: usize,
    /// L1 penalty on delta_h (encourages sparsity).
    #[arg(long, default_value_t = 0.0)]
    pub l1_beta: f64,
    /// Utterance readout: last-non-silence (the authors') or mean-over-frames.
    #[arg(long, default_value = "last-non-silence")]
    pub readout: ReadoutArg,
}

/// Readout as a command-line value.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ReadoutArg {
    /// Class of the last frame whose arg-max is not silence.
    LastNonSilence,
    /// Highest mean probability over frames.
    MeanOverFrames,
}

impl From<ReadoutArg> for Readout {
    fn from(r: ReadoutArg) -> Self {
        match r {
            ReadoutArg::LastNonSilence => Readout::LastNonSilence,
            ReadoutArg::MeanOverFrames => Readout::MeanOverFrames,
        }
    }
}

/// All cores of this machine.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl TrainArgs {
    /// The library's configuration for these flags.
    pub fn config(&self, model: &ModelArgs) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            clip_norm: self.clip_norm,
            warmup_steps: self.warmup,
            early_stop_patience: self.early_stop,
            dense: self.dense,
            pretrain_dense_epochs: self.pretrain_dense_epochs,
            thresholds: Thresholds { input: model.theta_x, hidden: model.theta_h },
            l1_beta: self.l1_beta,
            seed: self.seed,
            threads: self.threads.unwrap_or_else(default_threads),
            readout: self.readout.into(),
            ..TrainConfig::default()
        }
    }
}

/// Runs `deltarnn train`.
pub fn run(args: Args) -> Result<()> {
    let dataset = dataset::load(&args.data, &args.dataset, None, false)?;
    let config = args.training.config(&args.model);
    if args.record_trace.is_some() && (config.dense || args.trace_sequences == 0) {
        bail!("--record-trace needs a delta run (not --dense) and --trace-sequences of at least 1");
    }
    let summary = train_run(&dataset, &args.out, &args.model, config, args.resume, false)?;
    if let Some(path) = &args.record_trace {
        record_trace(&dataset, &args.out, path, args.trace_sequences)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", report::summary_line(&summary));
    }
    Ok(())
}

/// Records the final model of the run in `out` on the first `n` training sequences of its final
/// epoch's order into the trace file `path`.
fn record_trace(dataset: &Dataset, out: &Path, path: &Path, n: usize) -> Result<()> {
    let run = RunDir::open(out).with_context(|| format!("opening run directory {}", out.display()))?;
    let (model, state, config) =
        run.load_state().with_context(|| format!("loading the final model of {}", out.display()))?;
    let train = &dataset.train.examples;
    let order = epoch_order(config.seed, state.epochs_done.saturating_sub(1), train.len());
    let frames = order.iter().take(n).map(|&i| train[i].frames.as_slice());
    let file = tracefile::record(&model, config.thresholds, frames);
    tracefile::write(path, &file).with_context(|| format!("writing trace file {}", path.display()))?;
    eprintln!("recorded {} sequences of epoch {} into {}", file.sequences.len(), state.epochs_done, path.display());
    Ok(())
}

/// Trains on a loaded dataset into `out`, writes every file of the run and returns metrics.json.
pub fn train_run(
    dataset: &Dataset,
    out: &Path,
    model_args: &ModelArgs,
    mut config: TrainConfig,
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
        thresholds: config.thresholds,
    };
    let (mut model, mut state) = if resume && run.has_state() {
        let (model, state, saved) = run.load_state().with_context(|| format!("resuming from {}", out.display()))?;
        if model.config != model_config {
            bail!(
                "{}: the saved run has a different model ({:?}); resume with the same flags",
                out.display(),
                model.config
            );
        }
        let (epochs, threads) = (config.epochs, config.threads);
        config = TrainConfig { epochs, threads, ..saved };
        if !quiet {
            eprintln!("resuming {} after epoch {}", out.display(), state.epochs_done);
        }
        (model, state)
    } else {
        let model = init_params::<f32>(&model_config, config.seed)?;
        let state = TrainState::new(&model, &config);
        (model, state)
    };
    let mut extra = BTreeMap::new();
    extra.insert("train_config".to_string(), serde_json::to_string(&config)?);
    extra.insert("dataset_kind".to_string(), dataset.kind.name().to_string());
    let bundle_of = |model: &deltarnn::nn::Model<f32>| Bundle {
        model: model.clone(),
        feature_config: dataset.feature_config.clone(),
        normalizer: dataset.normalizer.clone(),
        labels: dataset.labels.clone(),
        extra: extra.clone(),
    };

    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} batches {elapsed_precise} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mode_name = if config.dense { "dense" } else { "delta" };
    let result = fit(&mut model, &mut state, &config, &dataset.train.examples, &dataset.valid.examples, |event| {
        match event {
            Event::Batch { epoch, batch, batches, .. } => {
                bar.set_length(batches as u64);
                bar.set_position(batch as u64 + 1);
                bar.set_message(format!("{mode_name} epoch {epoch}"));
            }
            Event::Epoch { model, state, improved } => {
                if improved {
                    bundle_of(model).save(&run.path(MODEL_FILE))?;
                }
                run.save_state(model, state, &config)?;
                if let Some(r) = state.history.last() {
                    bar.suspend(|| {
                        if !quiet {
                            eprintln!(
                                "{mode_name} epoch {:>3}: loss {:.4}  valid loss {:.4}  valid acc {:5.1}%  sparsity {:4.1}%  ops -{:4.1}%  {:.1} s{}",
                                r.epoch,
                                r.train_loss,
                                r.valid_loss,
                                100.0 * r.valid_accuracy,
                                100.0 * r.sparsity.overall,
                                100.0 * (1.0 - r.ops_actual as f64 / r.ops_dense.max(1) as f64),
                                r.train_seconds,
                                if improved { "  *" } else { "" }
                            )
                        }
                    });
                }
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    if let Err(err) = result {
        let kept = if run.path(MODEL_FILE).exists() {
            format!("the last good model is {}", run.path(MODEL_FILE).display())
        } else {
            "no model was saved yet".to_string()
        };
        return Err(anyhow::Error::new(err).context(format!("training {} stopped; {kept}", out.display())));
    }

    // Score the best model (the one on disk) on validation and test.
    let best = Bundle::load(&run.path(MODEL_FILE)).context("reloading the best model")?;
    let mode = if config.dense { Mode::Dense } else { Mode::Delta(config.thresholds) };
    let valid = evaluate(&best.model, &dataset.valid.examples, mode, config.readout, config.threads)?;
    let test_examples: &[Example] =
        if dataset.test.examples.is_empty() { &dataset.valid.examples } else { &dataset.test.examples };
    let test = evaluate(&best.model, test_examples, mode, config.readout, config.threads)?;
    let metrics = metrics_json(&best.model.config, &config, &state, &valid, &test, dataset.test.examples.is_empty());
    run.save_metrics(&metrics)?;
    report::write(&run, &state, &test, &metrics).context("writing report.md")?;
    Ok(metrics)
}

/// metrics.json: the figures a user compares runs by, and the full configuration.
pub fn metrics_json(
    model: &ModelConfig,
    config: &TrainConfig,
    state: &TrainState,
    valid: &Evaluation,
    test: &Evaluation,
    test_is_valid: bool,
) -> serde_json::Value {
    let (dense, actual) = state.history.iter().fold((0u64, 0u64), |(d, a), r| (d + r.ops_dense, a + r.ops_actual));
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
            "reduction": if dense == 0 { 0.0 } else { 1.0 - actual as f64 / dense as f64 },
        },
        "train_seconds": state.train_seconds(),
        "params": model.n_params(),
        "epochs": state.epochs_done,
        "best_epoch": state.best_epoch,
        "mode": if config.dense { "dense" } else { "delta" },
        "config": { "model": model, "train": config },
    })
}
