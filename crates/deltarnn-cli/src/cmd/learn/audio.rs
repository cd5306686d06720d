//! Audio exemplars of a loaded dataset (`--storage audio`): re-read, re-featurised on every use.

use deltarnn::audio::{featurize_file, wav::read_wav, Limits, LogMel, Normalizer};
use deltarnn::data::{frame_labels::frame_labels, Example};
use deltarnn::incremental::AudioSource;
use std::path::Path;

/// Audio exemplars of a loaded dataset: re-read the WAV, featurise, normalise, label frames.
pub struct DatasetAudio<'a> {
    /// The dataset folder (example paths are relative to it).
    pub root: &'a Path,
    /// The model's front end.
    pub mel: LogMel,
    /// The dataset's normalisation.
    pub normalizer: &'a Normalizer,
    /// Audio limits.
    pub limits: Limits,
}

impl AudioSource for DatasetAudio<'_> {
    fn audio_bytes(&self, example: &Example) -> deltarnn::Result<u64> {
        let wav = read_wav(&self.root.join(&example.path), &self.limits)?;
        let rate = self.mel.config().sample_rate_hz as f64;
        Ok(2 * (wav.duration_seconds() * rate).round() as u64)
    }

    fn featurize(&self, example: &Example) -> deltarnn::Result<Example> {
        let features = featurize_file(&self.root.join(&example.path), &self.mel, &self.limits)?;
        let n_features = self.mel.config().n_mels;
        let labels = frame_labels(&features.data, n_features, example.label);
        let mut frames = features.data;
        self.normalizer.apply(&mut frames);
        Ok(Example { n_frames: features.n_frames, frames, frame_labels: labels, ..example.clone() })
    }
}
