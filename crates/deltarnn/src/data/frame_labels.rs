//! Per-frame labels: which frames of an utterance hold the spoken command.
//!
//! Speech frames are found on the raw log-mel frames, band by band, so that coloured background
//! noise (hum, rumble) does not hide the speech: each band's noise floor is its 10th-percentile
//! value over the utterance, and a frame's *rise* is the mean over bands of how far it sits above
//! the band floors (in dB, negative parts counted as 0). A frame is speech when its rise is at
//! least [`MIN_RISE_DB`] and at least [`PEAK_FRACTION`] of the utterance's largest rise. The
//! speech span runs from the first speech frame to the last, gaps included, so each utterance
//! has one contiguous labelled segment; frames outside it are silence (class 0). An utterance
//! with no frame rising [`MIN_RISE_DB`] (a steady sound) is labelled speech throughout.

/// The authors' frame labels (`config/gscdv2/feat_fft.json` `label_head` 2, `label_tail` -2):
/// every frame `label` but the first `head` and the last `tail`, which are silence (0); an
/// utterance of at most `head + tail` frames is silence throughout (Python's empty slice).
pub fn head_tail_labels(n_frames: usize, label: usize, head: usize, tail: usize) -> Vec<i64> {
    let end = n_frames.saturating_sub(tail);
    (0..n_frames).map(|t| if t >= head && t < end { label as i64 } else { 0 }).collect()
}

/// Smallest mean rise above the band floors, in dB, that counts as speech.
pub const MIN_RISE_DB: f32 = 3.0;
/// A speech frame rises at least this fraction of the utterance's largest rise.
pub const PEAK_FRACTION: f32 = 0.25;
/// Percentile (in percent) of each band taken as its noise floor.
pub const FLOOR_PERCENTILE: usize = 10;

/// Mean rise of each frame above the per-band noise floors, in dB.
pub fn frame_rise_db(frames: &[f32], n_features: usize) -> Vec<f32> {
    let n_frames = frames.len() / n_features;
    if n_frames == 0 {
        return Vec::new();
    }
    let floors: Vec<f32> = (0..n_features)
        .map(|band| {
            let mut values: Vec<f32> = frames.iter().skip(band).step_by(n_features).copied().collect();
            values.sort_by(f32::total_cmp);
            values[(n_frames - 1) * FLOOR_PERCENTILE / 100]
        })
        .collect();
    frames
        .chunks_exact(n_features)
        .map(|frame| frame.iter().zip(&floors).map(|(x, floor)| (x - floor).max(0.0)).sum::<f32>() / n_features as f32)
        .collect()
}

/// The speech span `[first, last]` (inclusive frame indices) of `frames` (`n_frames x n_features`).
/// Returns `None` for zero frames.
pub fn speech_span(frames: &[f32], n_features: usize) -> Option<(usize, usize)> {
    let rise = frame_rise_db(frames, n_features);
    if rise.is_empty() {
        return None;
    }
    let peak = rise.iter().copied().fold(0.0f32, f32::max);
    if peak < MIN_RISE_DB {
        return Some((0, rise.len() - 1));
    }
    let threshold = MIN_RISE_DB.max(PEAK_FRACTION * peak);
    let first = rise.iter().position(|&r| r >= threshold)?;
    let last = rise.iter().rposition(|&r| r >= threshold)?;
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

    #[test]
    fn the_authors_labels_are_the_class_but_two_frames_at_each_end() {
        assert_eq!(head_tail_labels(7, 3, 2, 2), [0, 0, 3, 3, 3, 0, 0]);
        assert_eq!(head_tail_labels(4, 3, 2, 2), [0, 0, 0, 0], "Python's label[2:-2] is empty");
        assert_eq!(head_tail_labels(1, 3, 2, 2), [0]);
        assert!(head_tail_labels(0, 3, 2, 2).is_empty());
    }
}
