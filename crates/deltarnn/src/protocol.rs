//! Whose choices a run follows where deltarnn and the authors' code differ. `docs/fidelity.md`
//! lists every choice with the authors' file and line and the measured effect of each.
//!
//! [`Protocol::Authors`] reproduces the authors' code (`../shared/reference/reneta/DeltaRNN_IL`):
//! - features normalised by one scalar mean and one scalar standard deviation over every feature
//!   of the training split (`modules/gscdv2/dataloader.py`, `post_mean`/`post_std`; unbiased);
//! - every frame labelled with the utterance's class except the first 2 and the last 2
//!   (`config/gscdv2/feat_fft.json` `label_head`/`label_tail`, `feat_extract.py`);
//! - incremental learning: the feature of herding and nearest-mean at the utterance's last frame
//!   (`project.py`, `construct_exemplar_sets`); herding with the class mean and every candidate
//!   mean re-normalised; `int(K / (classes + 1))` exemplars per class, silence counted as a class;
//!   BCE distillation averaged over the old outputs on the exemplars only (`train_func.py`,
//!   `calculate_loss_il`); each increment's first epoch at a tenth of the learning rate, then
//!   reduce-on-plateau on the training loss (factor 0.8, patience 4, floor 3e-4); new head rows
//!   with bias 0.
//!
//! [`Protocol::Ours`] is deltarnn's own: one mean/std per mel band, an energy-based speech span,
//! the last speech-labelled frame, the raw running mean in herding, `K / classes`, distillation
//! summed over the old outputs on every sequence, a constant learning rate and the mean old bias.

use crate::{Error, Result};

/// Whose choices a run follows. The command line defaults to [`Protocol::Authors`], which
/// measured better on held-out speakers (`docs/fidelity.md`); the library's own defaults
/// ([`crate::data::LoadOptions`]) and files written before protocols were recorded are
/// [`Protocol::LEGACY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// deltarnn's own choices.
    Ours,
    /// The authors' code, choice by choice.
    Authors,
}

impl Protocol {
    /// What models, runs and configurations written before protocols were recorded followed.
    pub const LEGACY: Protocol = Protocol::Ours;

    /// The serde default of a protocol field missing from an older file.
    pub fn legacy() -> Protocol {
        Self::LEGACY
    }

    /// "ours" or "authors".
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ours => "ours",
            Protocol::Authors => "authors",
        }
    }

    /// Frames labelled silence at each end of an utterance under the authors' labelling.
    pub const AUTHORS_LABEL_HEAD: usize = 2;
    /// See [`Protocol::AUTHORS_LABEL_HEAD`].
    pub const AUTHORS_LABEL_TAIL: usize = 2;
}

impl std::str::FromStr for Protocol {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ours" => Ok(Protocol::Ours),
            "authors" => Ok(Protocol::Authors),
            other => Err(Error::Invalid(format!("unknown protocol '{other}', expected ours or authors"))),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
