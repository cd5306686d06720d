//! Class-incremental learning (spec section 4, iCaRL on a Delta RNN): a base task, then
//! increments of new classes; an exemplar memory chosen by [`herding`](mod@herding) on the L2-normalised hidden
//! state at the last valid frame; BCE distillation on the old outputs against the network before
//! the update ([`distill`]); nearest-mean-of-exemplars classification ([`nme`]) or the head.
//!
//! Flow of one increment ([`run_incremental`]): grow the head ([`crate::nn::Model::grow_classes`])
//! -> training set = new classes' utterances + the exemplars -> the frozen network's logits on it
//! -> [`crate::train::fit_with`] (the shared trainer: AdamW, batches or batch 1, sparse BPTT) with
//! [`distill::DistillationObjective`] -> shrink the old exemplar lists, herd the new classes'
//! -> class means -> score the seen classes -> an [`IncrementRecord`].
//!
//! Classes are renumbered by arrival: the k-th class of the schedule is output k + 1 (0 stays
//! silence), so the head grows by appending rows.

pub mod distill;
pub mod exemplars;
pub mod herding;
pub mod nme;
mod record;
mod run;
pub mod schedule;

pub use distill::{DistillationObjective, DistillationScale};
pub use exemplars::{AudioSource, ExemplarMemory, Storage};
pub use herding::herding;
pub use nme::{l2_normalize, ClassMeans};
pub use record::{Event, IncrementRecord};
pub use run::{readout_feature, resolve_incremental_q_format, run_incremental};
pub use schedule::ClassSchedule;

use crate::nn::{CellKind, Mode};
use crate::train::TrainConfig;
use crate::{Error, Protocol, Result, Thresholds};

/// How utterances are classified after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classifier {
    /// Nearest mean of exemplars (needs a memory).
    #[default]
    Nme,
    /// The per-frame head, read out at the last non-silence frame.
    Head,
}

/// Everything that shapes an incremental run besides the class schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrementalConfig {
    /// Recurrent cell.
    pub cell: CellKind,
    /// Stacked layers.
    pub n_layers: usize,
    /// Hidden units per layer.
    pub n_hidden: usize,
    /// theta_x and theta_h of the Delta network (stored with the model).
    pub thresholds: Thresholds,
    /// The trainer's settings, used for every increment (`batch_size` 1 is the online mode;
    /// `dense` trains the standard network with dense BPTT).
    pub train: TrainConfig,
    /// Exemplar memory in utterances over all classes (0: no exemplars).
    pub memory: usize,
    /// How exemplars are stored.
    pub storage: Storage,
    /// How utterances are classified.
    pub classifier: Classifier,
    /// Weight of the distillation term (0: no distillation).
    pub distillation_weight: f64,
    /// Whose choices the run follows ([`crate::protocol`]): readout frame, herding, memory split,
    /// distillation scale, learning-rate schedule and new head biases.
    #[serde(default = "Protocol::legacy")]
    pub protocol: Protocol,
}

impl IncrementalConfig {
    /// The network mode of this run.
    pub fn mode(&self) -> Mode {
        self.train.mode(self.thresholds)
    }

    /// Checks the run's settings against each other and `audio` (whether an audio source is
    /// given).
    pub fn validate(&self, has_audio: bool) -> Result<()> {
        self.train.validate()?;
        self.thresholds.validate()?;
        if self.classifier == Classifier::Nme && self.memory == 0 {
            return Err(Error::Invalid("nearest-mean-of-exemplars needs a memory of at least 1 utterance".into()));
        }
        if self.storage == Storage::Audio && !has_audio {
            return Err(Error::Invalid("audio exemplars need an audio source".into()));
        }
        Error::check_non_negative("distillation weight", self.distillation_weight)
    }
}
