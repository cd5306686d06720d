//! Per-frame softmax cross-entropy and the utterance decision.

use crate::kernels::simd::dispatch;
use crate::kernels::{map_in_place, Real};

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
    ) -> (f64, usize) => cross_entropy_body::<lanes>;
}

#[inline(always)]
#[track_caller]
fn cross_entropy_body<const W: usize, T: Real>(
    dlogits: &mut [T],
    logits: &[T],
    labels: &[i64],
    n_classes: usize,
    scale: f64,
) -> (f64, usize) {
    assert_eq!(logits.len(), labels.len() * n_classes, "logits length");
    assert_eq!(dlogits.len(), logits.len(), "dlogits length");
    // Three passes over the whole sequence: z - max per frame, then exp of every entry in one
    // flat loop (whole vectors, no tail per frame), then per frame the sum, the loss and the
    // gradient. Each value is the one a frame-by-frame loop computes, bit for bit.
    let mut maxima = Vec::with_capacity(labels.len());
    for (z, dz) in logits.chunks_exact(n_classes).zip(dlogits.chunks_exact_mut(n_classes)) {
        let max = z.iter().copied().fold(z[0], |a, b| if b > a { b } else { a });
        for (d, &v) in dz.iter_mut().zip(z) {
            *d = v - max;
        }
        maxima.push(max);
    }
    map_in_place::<W, T>(dlogits, T::exp);
    let mut total = 0.0;
    let mut frames = 0;
    let step = T::from_f64(scale);
    for (((z, dz), &label), &max) in
        logits.chunks_exact(n_classes).zip(dlogits.chunks_exact_mut(n_classes)).zip(labels).zip(&maxima)
    {
        if is_ignored(label) {
            dz.fill(T::ZERO);
            continue;
        }
        let label = label as usize;
        assert!(label < n_classes, "label {label} out of range");
        // The sum of at most a few hundred terms in (0, 1] is exact enough in T, the loss sums
        // in f64.
        let mut sum_t = T::ZERO;
        for &d in dz.iter() {
            sum_t += d;
        }
        let sum = sum_t.to_f64();
        total += max.to_f64() + sum.ln() - z[label].to_f64();
        frames += 1;
        let norm = T::from_f64(scale / sum);
        for d in dz.iter_mut() {
            *d *= norm;
        }
        dz[label] -= step;
    }
    (total, frames)
}

/// Binary cross-entropy distillation (iCaRL, spec section 4) on the first `n_old` outputs of every
/// counted frame: the targets are the frozen teacher's sigmoid outputs q = sig(teacher), the
/// loss per frame and old output is softplus(z) - q z (BCE with logits), its gradient sig(z) - q.
///
/// Shapes: `logits` (steps x C), `teacher` (steps x n_old, the network before the update),
/// `labels` (steps; frames with a negative label are skipped, as in [`frame_cross_entropy`]),
/// `dlogits` (steps x C; `scale` * dL/dlogits is **added**, the columns >= n_old are untouched).
/// Returns the summed loss (f64). Computed in f64: it is O(steps x n_old), off the hot path.
#[track_caller]
pub fn frame_distillation<T: Real>(
    dlogits: &mut [T],
    logits: &[T],
    teacher: &[T],
    labels: &[i64],
    n_classes: usize,
    n_old: usize,
    scale: f64,
) -> f64 {
    assert!(n_old <= n_classes, "n_old {n_old} > n_classes {n_classes}");
    assert_eq!(logits.len(), labels.len() * n_classes, "logits length");
    assert_eq!(dlogits.len(), logits.len(), "dlogits length");
    assert_eq!(teacher.len(), labels.len() * n_old, "teacher length");
    if n_old == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for (((z, dz), q), &label) in logits
        .chunks_exact(n_classes)
        .zip(dlogits.chunks_exact_mut(n_classes))
        .zip(teacher.chunks_exact(n_old))
        .zip(labels)
    {
        if is_ignored(label) {
            continue;
        }
        for ((z, dz), q) in z[..n_old].iter().zip(&mut dz[..n_old]).zip(q) {
            let (z, q) = (z.to_f64(), sigmoid(q.to_f64()));
            // softplus(z) = max(z, 0) + ln(1 + e^-|z|), stable for any z.
            total += z.max(0.0) + (-z.abs()).exp().ln_1p() - q * z;
            *dz += T::from_f64(scale * (sigmoid(z) - q));
        }
    }
    total
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
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
    fn distillation_matches_hand_computation() {
        // One frame, 3 outputs, 2 of them old; a second, ignored frame.
        let logits = [0.5f64, -1.0, 3.0, 9.0, 9.0, 9.0];
        let teacher = [0.0f64, 2.0, 9.0, 9.0];
        let mut d = [1.0; 6];
        let loss = frame_distillation(&mut d, &logits, &teacher, &[1, -1], 3, 2, 0.5);
        let bce = |z: f64, q: f64| -(q * sigmoid(z).ln() + (1.0 - q) * (1.0 - sigmoid(z)).ln());
        let want = bce(0.5, 0.5) + bce(-1.0, sigmoid(2.0));
        assert!((loss - want).abs() < 1e-12, "{loss} vs {want}");
        assert!((d[0] - (1.0 + 0.5 * (sigmoid(0.5) - 0.5))).abs() < 1e-12);
        assert!((d[1] - (1.0 + 0.5 * (sigmoid(-1.0) - sigmoid(2.0)))).abs() < 1e-12);
        assert_eq!(&d[2..], &[1.0; 4], "new outputs and ignored frames untouched");
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
