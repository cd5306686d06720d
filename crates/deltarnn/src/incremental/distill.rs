//! The training objective of an increment: per-frame softmax cross-entropy over every class
//! seen so far, plus binary cross-entropy distillation on the old outputs against the frozen
//! network before the update (iCaRL's distillation term, spec section 4).
//!
//! Decision (documented in ARCHITECTURE.md): the distillation is **per frame**, on every frame
//! the cross-entropy counts, because the model is a per-frame classifier trained with per-frame
//! cross-entropy; distilling only the readout frame would leave the old classes' silence/word
//! boundary unconstrained on every other frame. The old outputs include silence (output 0).

use crate::nn::loss::{frame_cross_entropy, frame_distillation};
use crate::train::{BatchContext, Objective};

/// How the distillation term is weighed against the cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistillationScale {
    /// deltarnn's: summed over the old outputs of every frame and scaled per frame of the batch,
    /// as the cross-entropy is.
    PerFrame,
    /// The authors' (`train_func.py`, `calculate_loss_il`: `BCELoss(reduction='mean')`): the mean
    /// over the old outputs, the frames and the sequences of the batch that have teacher outputs
    /// (the exemplars), whatever the rest of the batch holds.
    MeanOverTaught,
}

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
    /// How the term is normalised.
    pub scale: DistillationScale,
}

impl DistillationObjective<'_> {
    fn taught(&self, index: usize) -> bool {
        self.teacher_logits.get(index).is_some_and(|t| !t.is_empty())
    }
}

impl Objective for DistillationObjective<'_> {
    fn loss(
        &self,
        index: usize,
        logits: &[f32],
        labels: &[i64],
        n_classes: usize,
        batch: BatchContext<'_>,
        dlogits: &mut [f32],
    ) -> (f64, usize) {
        let (mut loss, frames) = frame_cross_entropy(dlogits, logits, labels, n_classes, batch.scale);
        if self.n_old == 0 || self.weight == 0.0 || !self.taught(index) {
            return (loss, frames);
        }
        let teacher = &self.teacher_logits[index][..];
        match self.scale {
            DistillationScale::PerFrame => {
                let scale = batch.scale * self.weight;
                loss +=
                    self.weight * frame_distillation(dlogits, logits, teacher, labels, n_classes, self.n_old, scale);
            }
            DistillationScale::MeanOverTaught => {
                let taught = batch.members.iter().filter(|&&i| self.taught(i)).count();
                let elements = (taught * labels.len() * self.n_old).max(1) as f64;
                let scale = self.weight / elements;
                let sum = frame_distillation(dlogits, logits, teacher, labels, n_classes, self.n_old, scale);
                // The summed loss the trainer divides by the batch's frames.
                loss += self.weight * sum / elements / batch.scale;
            }
        }
        (loss, frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigmoid(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// The authors' scale: BCELoss(mean) over the taught sequences' frames and old outputs.
    #[test]
    fn the_authors_scale_is_the_mean_over_taught_sequences_frames_and_old_outputs() {
        let (steps, classes, n_old) = (4, 3, 2);
        let logits: Vec<f32> = (0..steps * classes).map(|i| (i as f32 * 0.37).sin()).collect();
        let teacher: Vec<f32> = (0..steps * n_old).map(|i| (i as f32 * 0.91).cos()).collect();
        let labels = vec![0i64, 1, 2, 1];
        // Sequence 0 is new (no teacher), 1 and 2 are exemplars; the batch has 12 frames.
        let teachers = vec![Vec::new(), teacher.clone(), teacher.clone()];
        let members = [0usize, 1, 2];
        let batch = BatchContext { scale: 1.0 / 12.0, members: &members };
        let objective = |scale| DistillationObjective { teacher_logits: &teachers, n_old, weight: 1.0, scale };
        let run = |scale, index| {
            let mut d = vec![0.0f32; logits.len()];
            let loss = objective(scale).loss(index, &logits, &labels, classes, batch, &mut d);
            (loss.0, d)
        };
        let (ce_loss, ce_grad) = run(DistillationScale::MeanOverTaught, 0); // untaught: CE only
        let (loss, grad) = run(DistillationScale::MeanOverTaught, 1);
        let elements = (2 * steps * n_old) as f64; // 2 taught sequences
        let mut bce = 0.0;
        for t in 0..steps {
            for c in 0..n_old {
                let (z, q) = (f64::from(logits[t * classes + c]), sigmoid(f64::from(teacher[t * n_old + c])));
                bce += -(q * sigmoid(z).ln() + (1.0 - q) * (1.0 - sigmoid(z)).ln());
                let expected = f64::from(ce_grad[t * classes + c]) + (sigmoid(z) - q) / elements;
                assert!((f64::from(grad[t * classes + c]) - expected).abs() < 1e-6, "frame {t} output {c}");
            }
        }
        // The trainer divides the summed loss by the batch's frames: this sequence's share of
        // the batch loss is its BCE over the taught elements.
        assert!(((loss - ce_loss) * batch.scale - bce / elements).abs() < 1e-6);
        // Ours, for contrast: summed over old outputs, scaled per frame of the batch.
        let (_, ours) = run(DistillationScale::PerFrame, 1);
        let (z, q) = (f64::from(logits[0]), sigmoid(f64::from(teacher[0])));
        assert!((f64::from(ours[0]) - (f64::from(ce_grad[0]) + (sigmoid(z) - q) / 12.0)).abs() < 1e-6);
    }
}
