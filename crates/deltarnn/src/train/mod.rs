//! Training: batches of sequences in parallel (each sequence sparse on its own core), gradients
//! reduced in a fixed order, AdamW with warm-up and reduce-on-plateau, evaluation, and the run
//! directory that makes a run resumable bit for bit.

pub(crate) mod datapath;
mod fit;
pub mod optim;
/// The run directory.
pub mod run;

pub use datapath::{calibrate_q_format, resolve_q_format, CALIBRATION_SEQUENCES, GRADIENT_HEADROOM};
pub(crate) use fit::thread_pool;
pub use fit::{epoch_order, evaluate, fit, fit_with, Evaluation, Event, TrainState};

use crate::cost::Sparsity;
use crate::nn::loss::Readout;
use crate::nn::{Mode, ModeKind};
use crate::Thresholds;

/// One labelled utterance as the trainer sees it.
pub trait Utterance: Sync {
    /// Feature frames, frames x features, row-major.
    fn frames(&self) -> &[f32];
    /// Per-frame class (0 = silence; negative = ignored).
    fn frame_labels(&self) -> &[i64];
    /// The utterance's class.
    fn label(&self) -> usize;
    /// Where it came from (a file path), to name it when its loss or gradient is not finite.
    fn name(&self) -> &str {
        ""
    }
}

/// What a training sequence's objective knows of the batch it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct BatchContext<'a> {
    /// One over the batch's labelled frames: the scale of every frame's gradient.
    pub scale: f64,
    /// The indices (into the training slice) of every sequence of the batch.
    pub members: &'a [usize],
}

/// What [`fit_with`] minimises for one training sequence, given its logits.
pub trait Objective: Sync {
    /// Writes `batch.scale` x dL/dlogits of training sequence `index` into `dlogits` (steps x C,
    /// zeroed by the caller) and returns the summed (unscaled) loss and the number of frames
    /// counted.
    ///
    /// Shapes: `logits` and `dlogits` (steps x `n_classes`), `labels` (steps).
    fn loss(
        &self,
        index: usize,
        logits: &[f32],
        labels: &[i64],
        n_classes: usize,
        batch: BatchContext<'_>,
        dlogits: &mut [f32],
    ) -> (f64, usize);
}

/// The per-frame softmax cross-entropy ([`crate::nn::loss::frame_cross_entropy`]), what [`fit`]
/// minimises.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropy;

impl Objective for CrossEntropy {
    fn loss(
        &self,
        _index: usize,
        logits: &[f32],
        labels: &[i64],
        n_classes: usize,
        batch: BatchContext<'_>,
        dlogits: &mut [f32],
    ) -> (f64, usize) {
        crate::nn::loss::frame_cross_entropy(dlogits, logits, labels, n_classes, batch.scale)
    }
}

/// Everything that shapes a training run (the model's shape is in its own config).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Epochs to run at most.
    pub epochs: usize,
    /// Sequences per update.
    pub batch_size: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Gradient norm clip.
    pub clip_norm: f64,
    /// Updates over which the learning rate ramps up linearly from 0.
    pub warmup_steps: usize,
    /// Reduce-on-plateau multiplier (the criterion is the validation loss, or the training loss
    /// when there is no validation data).
    pub plateau_factor: f64,
    /// Reduce-on-plateau patience (epochs).
    pub plateau_patience: usize,
    /// Learning-rate floor.
    pub min_learning_rate: f64,
    /// Stop after this many epochs without a better validation accuracy (0 = never).
    pub early_stop_patience: usize,
    /// Ordinary BPTT of the standard network (the baseline) instead of the Delta network.
    pub dense: bool,
    /// Epochs of dense pretraining before switching to the Delta network (the first Delta epoch
    /// runs at a tenth of the learning rate).
    pub pretrain_dense_epochs: usize,
    /// L1 penalty beta on delta_h.
    pub l1_beta: f64,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Worker threads (sequences of a batch run in parallel).
    pub threads: usize,
    /// How an utterance's class is read from its frames.
    pub readout: Readout,
    /// Multiplier of the learning rate in the first epoch (the authors start each increment at a
    /// tenth).
    #[serde(default = "one")]
    pub first_epoch_lr_scale: f64,
    /// Whether a Delta layer may run a mostly-fired matrix's non-recurrent products as matrix
    /// products ([`Mode::Delta`]); false runs every product per fired column
    /// ([`Mode::DeltaPerColumn`], `--no-product-form`).
    #[serde(default = "product_form_default")]
    pub product_form: bool,
    /// The accelerator's arithmetic for the Delta network's three matrix products
    /// ([`Mode::DeltaInFormat`], [`crate::nn::datapath`]); None: f32. FXP16's Q format is
    /// resolved before training ([`calibrate_q_format`] when the user gives none).
    #[serde(default)]
    pub arith: Option<crate::nn::datapath::Datapath>,
    /// With `arith`: keep the recurrent weights themselves in the format, rounding them to it
    /// after every update (a chip without f32 master weights); else f32 master weights.
    #[serde(default)]
    pub weights_in_format: bool,
    /// With an FXP16 `arith`: choose its Q format from the data before training
    /// ([`resolve_q_format`], which then clears this flag and stores the format).
    #[serde(default)]
    pub calibrate_q_format: bool,
}

fn product_form_default() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 0.01,
            clip_norm: 200.0,
            warmup_steps: 50,
            plateau_factor: 0.8,
            plateau_patience: 4,
            min_learning_rate: 1e-5,
            early_stop_patience: 10,
            dense: false,
            pretrain_dense_epochs: 0,
            l1_beta: 0.0,
            seed: 0,
            threads: 1,
            readout: Readout::LastNonSilence,
            first_epoch_lr_scale: 1.0,
            product_form: true,
            arith: None,
            weights_in_format: false,
            calibrate_q_format: false,
        }
    }
}

impl TrainConfig {
    /// The network this configuration trains: the Delta network at `thresholds` (the model's, the
    /// one home of theta: [`crate::nn::ModelConfig::thresholds`]), or the standard network when
    /// [`TrainConfig::dense`].
    pub fn mode(&self, thresholds: Thresholds) -> Mode {
        match self.arith {
            Some(datapath) if !self.dense => Mode::DeltaInFormat(thresholds, datapath),
            _ => Mode::new(self.dense, thresholds).with_product_form(self.product_form),
        }
    }

    /// The mode of epoch `epoch` (0-based): dense during the dense pretraining epochs, else
    /// [`TrainConfig::mode`].
    pub fn epoch_mode(&self, thresholds: Thresholds, epoch: usize) -> Mode {
        if epoch < self.pretrain_dense_epochs {
            Mode::Dense
        } else {
            self.mode(thresholds)
        }
    }

    /// Checks every value for sense.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |what: String| Err(crate::Error::Invalid(what));
        if self.arith.is_some() && (self.dense || self.pretrain_dense_epochs > 0) {
            return bad("the accelerator's arithmetic (arith) applies to the Delta network's sparse products; \
                 train the dense baseline in f32, or as the Delta network at theta 0"
                .into());
        }
        if self.weights_in_format && self.arith.is_none() {
            return bad("weights in format needs an arithmetic (bf16 or fxp16)".into());
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if self.threads == 0 {
            return bad("threads must be at least 1".into());
        }
        for (name, v) in [
            ("learning rate", self.learning_rate),
            ("weight decay", self.weight_decay),
            ("clip norm", self.clip_norm),
            ("plateau factor", self.plateau_factor),
            ("first-epoch learning-rate scale", self.first_epoch_lr_scale),
            ("l1 beta", self.l1_beta),
        ] {
            crate::Error::check_non_negative(name, v)?;
        }
        if self.learning_rate == 0.0 {
            return bad("learning rate must be positive".into());
        }
        Ok(())
    }
}

/// One line of `history.csv`: what one epoch did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// The network trained in this epoch.
    pub mode: ModeKind,
    /// Mean per-frame training loss.
    pub train_loss: f64,
    /// Utterance accuracy on the training batches (as seen during the epoch).
    pub train_accuracy: f64,
    /// Mean per-frame validation loss.
    pub valid_loss: f64,
    /// Utterance accuracy on the validation split.
    pub valid_accuracy: f64,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Temporal sparsity of the training epoch.
    pub sparsity: Sparsity,
    /// Dense training matrix ops of the epoch (forward, backward, weight gradient; 2 per MAC).
    pub ops_dense: u64,
    /// Actual training matrix ops of the epoch (the fired columns).
    pub ops_actual: u64,
    /// Training matrix ops the kernels executed (the fired columns, plus the unfired ones of the
    /// matrix product form).
    #[serde(default)]
    pub ops_executed: u64,
    /// Wall-clock seconds of the epoch's training (not evaluation).
    pub train_seconds: f64,
}

impl Utterance for crate::data::Example {
    fn frames(&self) -> &[f32] {
        &self.frames
    }
    fn frame_labels(&self) -> &[i64] {
        &self.frame_labels
    }
    fn label(&self) -> usize {
        self.label
    }
    fn name(&self) -> &str {
        &self.path
    }
}
