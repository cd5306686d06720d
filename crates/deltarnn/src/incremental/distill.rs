//! The training objective of an increment: per-frame softmax cross-entropy over every class
//! seen so far, plus binary cross-entropy distillation on the old outputs against the frozen
//! network before the update (iCaRL's distillation term, spec section 4).
//!
//! Decision (documented in ARCHITECTURE.md): the distillation is **per frame**, on every frame
//! the cross-entropy counts, because the model is a per-frame classifier trained with per-frame
//! cross-entropy; distilling only the readout frame would leave the old classes' silence/word
//! boundary unconstrained on every other frame. The old outputs include silence (output 0).

use crate::nn::loss::{frame_cross_entropy, frame_distillation};
use crate::train::Objective;

/// Cross-entropy plus `weight` x BCE distillation on the first `n_old` outputs.
#[derive(Debug, Clone)]
pub struct DistillationObjective<'a> {
    /// Per training sequence (same index as the training slice), the teacher's logits
    /// (steps x n_old); empty vectors (or `n_old` = 0) disable the term for that sequence.
    pub teacher_logits: &'a [Vec<f32>],
    /// Outputs of the network before the update (1 + old classes, silence included).
    pub n_old: usize,
    /// Multiplier of the distillation term.
    pub weight: f64,
}

impl Objective for DistillationObjective<'_> {
    fn loss(
        &self,
        index: usize,
        logits: &[f32],
        labels: &[i64],
        n_classes: usize,
        scale: f64,
        dlogits: &mut [f32],
    ) -> (f64, usize) {
        let (mut loss, frames) = frame_cross_entropy(dlogits, logits, labels, n_classes, scale);
        let teacher = self.teacher_logits.get(index).map(|t| &t[..]).unwrap_or(&[]);
        if self.n_old > 0 && self.weight != 0.0 && !teacher.is_empty() {
            let scale = scale * self.weight;
            loss += self.weight * frame_distillation(dlogits, logits, teacher, labels, n_classes, self.n_old, scale);
        }
        (loss, frames)
    }
}
