//! Flags several subcommands share (flattened into their `Args`), and what each set of flags
//! means to the library: a model's shape, how to train, which network runs, where the data's
//! cache goes.

use anyhow::{bail, Context, Result};
use deltarnn::audio::Limits;
use deltarnn::data::{BadFilePolicy, LoadOptions};
use deltarnn::nn::datapath::{Datapath, QFormat};
use deltarnn::nn::loss::Readout;
use deltarnn::nn::{CellKind, Mode, Model};
use deltarnn::sim::Format;
use deltarnn::train::TrainConfig;
use deltarnn::{Protocol, Thresholds};
use std::path::{Path, PathBuf};

/// The protocol of every command that does not say: the authors', which measured better on
/// held-out speakers (docs/fidelity.md, "The default").
pub const DEFAULT_PROTOCOL: Protocol = Protocol::Authors;

/// All cores of this machine: the default of every `--threads`.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
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

impl ModelArgs {
    /// theta_x and theta_h.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds { input: self.theta_x, hidden: self.theta_h }
    }
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
    /// Run every Delta product per fired column: never the matrix product form a Delta layer
    /// uses for a matrix whose inputs mostly fired (which multiplies unfired columns too).
    #[arg(long)]
    pub no_product_form: bool,
    /// The accelerator's arithmetic for the Delta network's matrix products (forward MxV,
    /// backward MTxV, weight gradient VxV), computed as its RTL does: f32 (off), bf16 (every
    /// product and sum rounded) or fxp16 (16-bit words, Q format from --q-format or the data).
    /// Everything else stays f32. `sweep` takes a list and trains each.
    #[arg(long, value_delimiter = ',', default_value = "f32")]
    pub arith: Vec<ArithArg>,
    /// FXP16 fraction bits of the weights, deltas and gradients, "W,D,G" (default: chosen from
    /// the first 32 training sequences, docs/arith.md).
    #[arg(long, value_name = "W,D,G")]
    pub q_format: Option<String>,
    /// Keep the recurrent weights in the --arith format (rounded after every update) instead of
    /// f32 master weights: what a chip without f32 would do.
    #[arg(long)]
    pub weights_in_format: bool,
}

/// The arithmetic of `--arith`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArithArg {
    /// f32 throughout (the default).
    F32,
    /// BF16 as the accelerator's DesignWare units compute it.
    Bf16,
    /// 16-bit fixed point as the accelerator's PE array computes it.
    Fxp16,
}

impl ArithArg {
    /// "f32", "bf16" or "fxp16".
    pub fn name(self) -> &'static str {
        match self {
            ArithArg::F32 => "f32",
            ArithArg::Bf16 => "bf16",
            ArithArg::Fxp16 => "fxp16",
        }
    }
}

impl TrainArgs {
    /// The library's configuration for these flags; errors on a malformed or misplaced
    /// --q-format or --weights-in-format.
    pub fn config(&self) -> Result<TrainConfig> {
        let format = match self.arith[..] {
            [] => ArithArg::F32,
            [one] => one,
            _ => bail!("--arith takes one format here (sweep takes a list)"),
        };
        let (arith, calibrate) = datapath(format, self.q_format.as_deref())?;
        Ok(TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            clip_norm: self.clip_norm,
            warmup_steps: self.warmup,
            early_stop_patience: self.early_stop,
            dense: self.dense,
            pretrain_dense_epochs: self.pretrain_dense_epochs,
            l1_beta: self.l1_beta,
            seed: self.seed,
            threads: self.threads.unwrap_or_else(default_threads),
            readout: self.readout.into(),
            product_form: !self.no_product_form,
            arith,
            weights_in_format: self.weights_in_format,
            calibrate_q_format: calibrate,
            ..TrainConfig::default()
        })
    }
}

/// The library's datapath of `--arith format` and `--q-format q_format`, and whether the Q
/// format is still to be chosen from the data (FXP16 without `--q-format`). Errors on a malformed
/// `--q-format` or one given without FXP16.
pub fn datapath(format: ArithArg, q_format: Option<&str>) -> Result<(Option<Datapath>, bool)> {
    let q = q_format.map(QFormat::parse).transpose()?;
    if q.is_some() && format != ArithArg::Fxp16 {
        bail!("--q-format applies to --arith fxp16");
    }
    let unset = QFormat { weights: 0, deltas: 0, grads: 0 };
    Ok(match format {
        ArithArg::F32 => (None, false),
        ArithArg::Bf16 => (Some(Datapath { format: Format::Bf16, q: unset }), false),
        ArithArg::Fxp16 => (Some(Datapath { format: Format::Fxp16, q: q.unwrap_or(unset) }), q.is_none()),
    })
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

/// Thresholds that override a trained model's own.
#[derive(clap::Args, Clone, Debug)]
pub struct ThresholdArgs {
    /// Input threshold theta_x (default: the model's).
    #[arg(long)]
    pub theta_x: Option<f64>,
    /// Hidden threshold theta_h (default: the model's).
    #[arg(long)]
    pub theta_h: Option<f64>,
}

impl ThresholdArgs {
    /// The model's thresholds, overridden by the values given, checked.
    pub fn resolve(&self, model: &Model<f32>) -> Result<Thresholds> {
        let thresholds = Thresholds {
            input: self.theta_x.unwrap_or(model.config.thresholds.input),
            hidden: self.theta_h.unwrap_or(model.config.thresholds.hidden),
        };
        thresholds.validate().context("--theta-x / --theta-h")?;
        Ok(thresholds)
    }
}

/// Which network runs a trained model: the Delta network at its thresholds (or those given), or
/// the standard network.
#[derive(clap::Args, Clone, Debug)]
pub struct ModeArgs {
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Run the standard (dense) LSTM/GRU instead of the Delta network.
    #[arg(long)]
    pub dense: bool,
}

impl ModeArgs {
    /// The mode these flags select for `model`.
    pub fn resolve(&self, model: &Model<f32>) -> Result<Mode> {
        Ok(Mode::new(self.dense, self.thresholds.resolve(model)?))
    }
}

/// Where the cache goes and how bad files and long utterances are handled.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Feature cache folder [default: <DATA>/.deltarnn-cache].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Stop at the first bad audio file instead of reporting and skipping it.
    #[arg(long)]
    pub stop_on_bad_file: bool,
    /// Longest utterance accepted, seconds.
    #[arg(long, default_value_t = Limits::default().max_utterance_seconds)]
    pub max_utterance_seconds: f64,
    /// Largest audio file accepted, bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    pub max_file_bytes: u64,
    /// Whose choices to follow where deltarnn and the authors' code differ: ours or authors
    /// (normalisation, frame labels, and in `learn` the incremental protocol; docs/fidelity.md)
    /// [default: authors; a trained model's own in `eval`].
    #[arg(long)]
    pub protocol: Option<Protocol>,
}

impl Default for DataArgs {
    fn default() -> Self {
        let limits = Limits::default();
        DataArgs {
            cache_dir: None,
            stop_on_bad_file: false,
            max_utterance_seconds: limits.max_utterance_seconds,
            max_file_bytes: limits.max_file_bytes,
            protocol: None,
        }
    }
}

impl DataArgs {
    /// The audio limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits { max_utterance_seconds: self.max_utterance_seconds, max_file_bytes: self.max_file_bytes }
    }

    /// Load options for the dataset in `dir` (default cache inside it), default front end.
    pub fn options(&self, dir: &Path) -> LoadOptions {
        LoadOptions {
            limits: self.limits(),
            on_bad_file: if self.stop_on_bad_file { BadFilePolicy::Stop } else { BadFilePolicy::Skip },
            cache_dir: Some(self.cache_dir.clone().unwrap_or_else(|| LoadOptions::default_cache_dir(dir))),
            protocol: self.protocol(),
            ..LoadOptions::default()
        }
    }

    /// `--protocol`, or [`DEFAULT_PROTOCOL`].
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or(DEFAULT_PROTOCOL)
    }

    /// The protocol of a trained model whose metadata says `recorded` (None: written before
    /// protocols were recorded, which followed ours): the model's own, and `--protocol` when
    /// given must name it.
    pub fn model_protocol(&self, model: &Path, recorded: Option<Protocol>) -> Result<Protocol> {
        match (self.protocol, recorded) {
            (None, recorded) => Ok(recorded.unwrap_or(Protocol::LEGACY)),
            (Some(wanted), Some(recorded)) if wanted == recorded => Ok(recorded),
            (Some(wanted), Some(recorded)) => bail!(
                "{} was trained under protocol {recorded}, not {wanted}; drop --protocol to use the model's own",
                model.display()
            ),
            (Some(wanted), None) => bail!(
                "{} records no protocol (it predates them and follows ours); --protocol {wanted} cannot be checked, drop it",
                model.display()
            ),
        }
    }
}
