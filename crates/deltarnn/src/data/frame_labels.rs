//! Per-frame labels: which frames of an utterance hold the spoken command.
//!
//! Speech frames are found on the raw log-mel frames by loudness
//! ([`crate::audio::mel::frame_loudness_db`], the mean filter-bank power in dB): a frame is loud
//! when it is within [`BELOW_PEAK_DB`] of the utterance's loudest frame *and* at least
//! [`ABOVE_FLOOR_FRACTION`] of the way from the noise floor (the 10th-percentile frame) to that
//! peak. The speech span runs from the first loud frame to the last one, gaps included, so each
//! utterance has one contiguous labelled segment; everything outside it is silence (class 0).
//! The peak frame is always loud, so every utterance has at least one labelled frame.
use crate::audio::mel::frame_loudness_db;

/// A frame quieter than the peak by more than this is never speech.
pub const BELOW_PEAK_DB: f32 = 35.0;
/// A speech frame must rise this fraction of the way from the noise floor to the peak.
pub const ABOVE_FLOOR_FRACTION: f32 = 0.3;

/// The speech span `[first, last]` (inclusive frame indices) of `frames` (`n_frames x n_features`).
/// Returns `None` only for zero frames.
pub fn speech_span(frames: &[f32], n_features: usize) -> Option<(usize, usize)> {
    let loudness: Vec<f32> = frames
        .chunks_exact(n_features)
        .map(frame_loudness_db)
        .collect();
    if loudness.is_empty() {
        return None;
    }
    let peak = loudness.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sorted = loudness.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let threshold = (peak - BELOW_PEAK_DB).max(floor + ABOVE_FLOOR_FRACTION * (peak - floor));
    let first = loudness.iter().position(|&l| l >= threshold)?;
    let last = loudness.iter().rposition(|&l| l >= threshold)?;
    Some((first, last))
}

/// Frame labels: `label` inside the speech span, 0 (silence) outside.
pub fn frame_labels(frames: &[f32], n_features: usize, label: usize) -> Vec<i64> {
    let n_frames = frames.len() / n_features;
    let mut labels = vec![0i64; n_frames];
    if let Some((first, last)) = speech_span(frames, n_features) {
        labels[first..=last].fill(label as i64);
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_middle_is_labelled_quiet_edges_are_silence() {
        // 10 frames of 2 features: quiet (-80 dB) except frames 3..=6, with a dip at 5.
        let mut frames = vec![-80.0f32; 20];
        for (f, db) in [(3, -20.0), (4, -10.0), (5, -40.0), (6, -15.0)] {
            frames[2 * f] = db;
            frames[2 * f + 1] = db;
        }
        assert_eq!(speech_span(&frames, 2), Some((3, 6)));
        assert_eq!(frame_labels(&frames, 2, 7), [0, 0, 0, 7, 7, 7, 7, 0, 0, 0]);
    }

    #[test]
    fn constant_signal_is_all_speech_and_empty_has_no_span() {
        assert_eq!(frame_labels(&[-30.0; 8], 2, 1), [1, 1, 1, 1]);
        assert_eq!(speech_span(&[], 2), None);
    }
}
