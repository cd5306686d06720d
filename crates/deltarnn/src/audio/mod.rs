//! Speech on disk to feature frames: WAV reading ([`wav`]), resampling to 16 kHz ([`resample`]),
//! and the log-mel front end of the spec's section 4 ([`mel`]), plus the global normaliser.
//!
//! Data flow: `read_wav` (any width, any rate, downmixed) -> `resample` -> mean removal ->
//! [`LogMel::compute`] -> frames `n_frames x n_mels` in dB -> [`Normalizer::apply`].
pub mod mel;
pub mod resample;
pub mod wav;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

pub use mel::LogMel;
pub use wav::{parse_wav, read_wav, Wav};

use crate::{Error, Result};

/// Analysis window applied to each frame before the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// `0.54 - 0.46 cos(2 pi n / N)` (periodic).
    Hamming,
    /// `0.5 - 0.5 cos(2 pi n / N)` (periodic).
    Hann,
    /// No window.
    Rectangular,
}

/// Every parameter of the front end; stored with the model and with each feature cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Rate that every file is resampled to before framing.
    pub sample_rate_hz: u32,
    /// Number of mel filters (= features per frame).
    pub n_mels: usize,
    /// Lower edge of the lowest filter.
    pub f_min_hz: f32,
    /// Upper edge of the highest filter.
    pub f_max_hz: f32,
    /// FFT size; each frame is zero-padded to it.
    pub n_fft: usize,
    /// Samples per frame.
    pub frame_samples: usize,
    /// Samples between frame starts.
    pub hop_samples: usize,
    /// Analysis window.
    pub window: Window,
    /// Filter-bank magnitudes below this are clamped before `20 log10` (1e-5 = -100 dB).
    pub log_floor: f32,
    /// Subtract each utterance's mean sample before framing (some recorders add a DC offset).
    pub remove_dc: bool,
}

impl Default for FeatureConfig {
    /// The authors' front end: 16 mels over 100-8000 Hz, nfft 1024, frame = hop = 262 samples
    /// (16.384 ms at 16 kHz), Hamming window.
    fn default() -> Self {
        FeatureConfig {
            sample_rate_hz: 16_000,
            n_mels: 16,
            f_min_hz: 100.0,
            f_max_hz: 8000.0,
            n_fft: 1024,
            frame_samples: 262,
            hop_samples: 262,
            window: Window::Hamming,
            log_floor: 1e-5,
            remove_dc: true,
        }
    }
}

impl FeatureConfig {
    /// Checks that the parameters describe a working front end.
    pub fn validate(&self) -> Result<()> {
        let fail = |reason: String| Err(Error::FeatureConfig { reason });
        if self.sample_rate_hz == 0 || self.n_mels == 0 || self.hop_samples == 0 {
            return fail("sample_rate_hz, n_mels and hop_samples must be positive".into());
        }
        if self.frame_samples == 0 || self.frame_samples > self.n_fft {
            return fail(format!("frame_samples {} must be in 1..=n_fft ({})", self.frame_samples, self.n_fft));
        }
        let nyquist = self.sample_rate_hz as f32 / 2.0;
        if !(0.0 <= self.f_min_hz && self.f_min_hz < self.f_max_hz && self.f_max_hz <= nyquist) {
            return fail(format!("need 0 <= f_min_hz ({}) < f_max_hz ({}) <= {nyquist}", self.f_min_hz, self.f_max_hz));
        }
        if !(self.log_floor > 0.0 && self.log_floor.is_finite()) {
            return fail(format!("log_floor {} must be positive", self.log_floor));
        }
        Ok(())
    }

    /// Frame period in seconds.
    pub fn hop_seconds(&self) -> f64 {
        self.hop_samples as f64 / f64::from(self.sample_rate_hz)
    }
}

/// Limits that keep one odd file from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Longest utterance accepted, in seconds.
    pub max_utterance_seconds: f64,
    /// Largest file accepted, in bytes (checked before reading).
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_utterance_seconds: 30.0, max_file_bytes: 64 << 20 }
    }
}

/// Reads `path` and returns mono samples at `config.sample_rate_hz` (mean removed when asked).
pub fn load_utterance(path: &Path, config: &FeatureConfig, limits: &Limits) -> Result<Vec<f32>> {
    let wav = read_wav(path, limits)?;
    // The header check in read_wav uses the declared block size; this one the decoded samples.
    let seconds = wav.duration_seconds();
    if seconds > limits.max_utterance_seconds {
        return Err(Error::UtteranceTooLong {
            path: path.to_path_buf(),
            found_seconds: seconds,
            limit_seconds: limits.max_utterance_seconds,
        });
    }
    let mut samples = resample::resample(path, &wav.samples, wav.sample_rate_hz, config.sample_rate_hz)?;
    if config.remove_dc {
        let mean = samples.iter().map(|&x| f64::from(x)).sum::<f64>() / samples.len() as f64;
        samples.iter_mut().for_each(|x| *x -= mean as f32);
    }
    Ok(samples)
}

/// Raw (unnormalised) log-mel features of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Number of frames.
    pub n_frames: usize,
    /// `n_frames x n_mels`, row-major, in dB.
    pub data: Vec<f32>,
}

/// Raw audio buffers held by [`featurize_file`], now and at most so far in this process.
/// Featurising a dataset streams, so the peak stays at most the number of worker threads
/// however many files there are (a test checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioBuffers {
    /// Held right now.
    pub live: usize,
    /// Most held at once.
    pub peak: usize,
}

static LIVE_BUFFERS: AtomicUsize = AtomicUsize::new(0);
static PEAK_BUFFERS: AtomicUsize = AtomicUsize::new(0);

/// The current and peak number of raw audio buffers held by [`featurize_file`].
pub fn audio_buffers() -> AudioBuffers {
    AudioBuffers { live: LIVE_BUFFERS.load(Ordering::SeqCst), peak: PEAK_BUFFERS.load(Ordering::SeqCst) }
}

/// Counts one raw audio buffer while it lives.
struct BufferGuard;

impl BufferGuard {
    fn new() -> Self {
        let live = LIVE_BUFFERS.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK_BUFFERS.fetch_max(live, Ordering::SeqCst);
        BufferGuard
    }
}

impl Drop for BufferGuard {
    fn drop(&mut self) {
        LIVE_BUFFERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads, resamples and featurizes `path`; errors when it is shorter than one frame. Only the
/// frames are returned: the samples are dropped before it returns.
pub fn featurize_file(path: &Path, mel: &LogMel, limits: &Limits) -> Result<Features> {
    let config = mel.config();
    let _guard = BufferGuard::new();
    let samples = load_utterance(path, config, limits)?;
    let n_frames = mel.n_frames(samples.len());
    if n_frames == 0 {
        return Err(Error::UtteranceTooShort {
            path: path.to_path_buf(),
            n_samples: samples.len(),
            frame_samples: config.frame_samples,
        });
    }
    Ok(Features { n_frames, data: mel.compute(&samples) })
}

/// One global mean and standard deviation per feature, computed on the training split only and
/// stored with the model, so that eval and inference see the same scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Standard deviation of each feature (floored at [`Normalizer::MIN_STD`]).
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Smallest standard deviation used, so a constant feature does not divide by zero.
    pub const MIN_STD: f32 = 1e-3;

    /// Fits mean and std over all frames of all `utterances` (each `n_frames x n_features`).
    pub fn fit<'a>(n_features: usize, utterances: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut sum = vec![0f64; n_features];
        let mut sum_sq = vec![0f64; n_features];
        let mut n_frames = 0u64;
        for frames in utterances {
            for frame in frames.chunks_exact(n_features) {
                for ((s, q), &x) in sum.iter_mut().zip(&mut sum_sq).zip(frame) {
                    *s += f64::from(x);
                    *q += f64::from(x) * f64::from(x);
                }
                n_frames += 1;
            }
        }
        let n = n_frames.max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum
            .iter()
            .zip(&sum_sq)
            .map(|(s, q)| {
                let m = s / n;
                ((q / n - m * m).max(0.0).sqrt() as f32).max(Self::MIN_STD)
            })
            .collect();
        Normalizer { mean, std }
    }

    /// Fits one mean and one standard deviation over every value of every frame (the authors'
    /// normalisation, `modules/gscdv2/dataloader.py`: `torch.mean`/`torch.std` of the whole
    /// training feature tensor, the standard deviation unbiased), stored for every feature.
    pub fn fit_scalar<'a>(n_features: usize, utterances: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0u64);
        for frames in utterances {
            for &x in &frames[..frames.len() - frames.len() % n_features.max(1)] {
                sum += f64::from(x);
                sum_sq += f64::from(x) * f64::from(x);
                n += 1;
            }
        }
        let count = n.max(1) as f64;
        let mean = sum / count;
        let variance = ((sum_sq - count * mean * mean) / (count - 1.0).max(1.0)).max(0.0);
        let std = (variance.sqrt() as f32).max(Self::MIN_STD);
        Normalizer { mean: vec![mean as f32; n_features], std: vec![std; n_features] }
    }

    /// The identity for `n_features` features.
    pub fn identity(n_features: usize) -> Self {
        Normalizer { mean: vec![0.0; n_features], std: vec![1.0; n_features] }
    }

    /// Normalises `frames` (`n_frames x n_features`) in place: `(x - mean) / std`.
    #[track_caller]
    pub fn apply(&self, frames: &mut [f32]) {
        let n_features = self.mean.len();
        assert_eq!(frames.len() % n_features.max(1), 0, "frames length");
        for frame in frames.chunks_exact_mut(n_features) {
            for ((x, m), s) in frame.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_normalisation_is_one_mean_and_one_unbiased_std_over_every_value() {
        // Two features over three frames: values 1..=6, mean 3.5, unbiased variance 3.5.
        let frames = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let n = Normalizer::fit_scalar(2, [&frames[..]]);
        assert_eq!(n.mean, [3.5, 3.5]);
        assert!((n.std[0] - 3.5f32.sqrt()).abs() < 1e-6 && n.std[0] == n.std[1]);
        let per_band = Normalizer::fit(2, [&frames[..]]);
        assert_eq!(per_band.mean, [3.0, 4.0], "ours: one mean per band");
    }

    #[test]
    fn default_config_is_the_authors_front_end() {
        let c = FeatureConfig::default();
        assert_eq!((c.n_mels, c.n_fft, c.frame_samples, c.hop_samples), (16, 1024, 262, 262));
        assert!((c.hop_seconds() - 0.016375).abs() < 1e-6);
        c.validate().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<FeatureConfig>(&json).unwrap(), c);
    }

    #[test]
    fn bad_configs_are_refused() {
        let bad = FeatureConfig { f_max_hz: 9000.0, ..FeatureConfig::default() };
        assert!(matches!(bad.validate(), Err(Error::FeatureConfig { .. })));
        let bad =
            FeatureConfig { n_mels: 128, n_fft: 256, frame_samples: 256, hop_samples: 256, ..FeatureConfig::default() };
        assert!(matches!(LogMel::new(&bad), Err(Error::FeatureConfig { .. })));
    }

    #[test]
    fn normalizer_gives_zero_mean_unit_std() {
        let a = [1.0, 10.0, 3.0, 10.0];
        let b = [5.0, 10.0];
        let norm = Normalizer::fit(2, [&a[..], &b[..]]);
        assert_eq!(norm.mean, vec![3.0, 10.0]);
        assert_eq!(norm.std[1], Normalizer::MIN_STD);
        let mut all = [1.0, 10.0, 3.0, 10.0, 5.0, 10.0];
        norm.apply(&mut all);
        let mean0 = (all[0] + all[2] + all[4]) / 3.0;
        let var0 = (all[0] * all[0] + all[2] * all[2] + all[4] * all[4]) / 3.0;
        assert!(mean0.abs() < 1e-6 && (var0 - 1.0).abs() < 1e-5);
    }
}
