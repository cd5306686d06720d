//! Per-frame softmax cross-entropy and the utterance decision.

use crate::kernels::simd::dispatch;
use crate::kernels::Real;

/// Frames whose label is negative are ignored (padding or "don't care"; PyTorch's
/// `ignore_index = -100` is one such value).
pub fn is_ignored(label: i64) -> bool {
    label < 0
}

dispatch! {
    /// Softmax cross-entropy on every frame of one sequence.
    ///
    /// Shapes: `logits` (steps x C), `labels` (steps; class id or negative to ignore), `dlogits`
    /// (steps x C, overwritten with `scale` * dL/dlogits, zero on ignored frames).
    /// Returns the summed loss (f64) and the number of frames counted.
    /// Labels must be below C (check with [`check_labels`] at the input boundary).
    pub fn frame_cross_entropy / frame_cross_entropy_portable <T: Real>(
        dlogits: &mut [T], logits: &[T], labels: &[i64], n_classes: usize, scale: f64
    ) -> (f64, usize) => cross_entropy_body;
}

#[inline(always)]
#[track_caller]
fn cross_entropy_body<T: Real>(
    dlogits: &mut [T],
    logits: &[T],
    labels: &[i64],
    n_classes: usize,
    scale: f64,
) -> (f64, usize) {
    assert_eq!(logits.len(), labels.len() * n_classes, "logits length");
    assert_eq!(dlogits.len(), logits.len(), "dlogits length");
    let mut total = 0.0;
    let mut frames = 0;
    for ((z, dz), &label) in logits.chunks_exact(n_classes).zip(dlogits.chunks_exact_mut(n_classes)).zip(labels) {
        if is_ignored(label) {
            dz.fill(T::ZERO);
            continue;
        }
        let label = label as usize;
        assert!(label < n_classes, "label {label} out of range");
        let max = z.iter().copied().fold(z[0], |a, b| if b > a { b } else { a });
        // exp(z - max) once per class, in the engine's precision (a vectorised loop); the sum of
        // at most a few hundred terms in (0, 1] is exact enough in T, the loss sums in f64.
        for (d, &v) in dz.iter_mut().zip(z) {
            *d = (v - max).exp();
        }
        let mut sum_t = T::ZERO;
        for &d in dz.iter() {
            sum_t += d;
        }
        let sum = sum_t.to_f64();
        total += max.to_f64() + sum.ln() - z[label].to_f64();
        frames += 1;
        let norm = T::from_f64(scale / sum);
        let step = T::from_f64(scale);
        for d in dz.iter_mut() {
            *d *= norm;
        }
        dz[label] -= step;
    }
    (total, frames)
}

/// Checks that every label is negative (ignored) or a class id below `n_classes`; returns the
/// first offending position and value otherwise.
pub fn check_labels(labels: &[i64], n_classes: usize) -> Result<(), (usize, i64)> {
    match labels.iter().position(|&l| l >= n_classes as i64) {
        Some(t) => Err((t, labels[t])),
        None => Ok(()),
    }
}

/// How one class is read out of the per-frame outputs of an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The class of the last frame whose arg-max is not silence (class 0), as the authors do;
    /// 0 when every frame is silence.
    #[default]
    LastNonSilence,
    /// The non-silence class with the highest softmax probability averaged over all frames.
    MeanOverFrames,
}

/// The utterance's class from its per-frame logits (steps x C). Class 0 is silence.
#[track_caller]
pub fn utterance_decision<T: Real>(logits: &[T], n_classes: usize, readout: Readout) -> usize {
    assert_eq!(logits.len() % n_classes, 0, "logits length");
    match readout {
        Readout::LastNonSilence => logits.chunks_exact(n_classes).rev().map(argmax).find(|&c| c != 0).unwrap_or(0),
        Readout::MeanOverFrames => {
            let mut mean = vec![0.0f64; n_classes];
            for z in logits.chunks_exact(n_classes) {
                let max = z.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v.to_f64() - max).exp()).sum();
                for (m, v) in mean.iter_mut().zip(z) {
                    *m += (v.to_f64() - max).exp() / sum;
                }
            }
            if n_classes == 1 {
                return 0;
            }
            1 + argmax(&mean[1..])
        }
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax<T: Real>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_matches_hand_computation_and_ignores_negative_labels() {
        let logits = [1.0f64, 2.0, 0.5, 0.0, 0.0, 0.0];
        let labels = [1, -100];
        let mut d = [9.0; 6];
        let (loss, frames) = frame_cross_entropy(&mut d, &logits, &labels, 3, 1.0);
        let lse = (1f64.exp() + 2f64.exp() + 0.5f64.exp()).ln();
        assert!((loss - (lse - 2.0)).abs() < 1e-12);
        assert_eq!(frames, 1);
        assert!((d[1] - ((2.0 - lse).exp() - 1.0)).abs() < 1e-12);
        assert_eq!(&d[3..], &[0.0, 0.0, 0.0]);
        assert!(d[..3].iter().sum::<f64>().abs() < 1e-12);
    }

    #[test]
    fn decisions() {
        // Frames: silence, class 2, class 1, silence.
        let logits = [5.0f32, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 4.0, 0.0, 6.0, 0.0, 0.0];
        assert_eq!(utterance_decision(&logits, 3, Readout::LastNonSilence), 1);
        assert_eq!(utterance_decision(&[1.0f32, 0.0], 2, Readout::LastNonSilence), 0);
        assert_eq!(utterance_decision(&logits, 3, Readout::MeanOverFrames), 2);
        assert_eq!(check_labels(&[0, 2, -1], 3), Ok(()));
        assert_eq!(check_labels(&[0, 3], 3), Err((1, 3)));
    }
}
