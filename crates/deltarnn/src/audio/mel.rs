//! The log-mel filterbank (spec section 4): frames of `frame_samples` every `hop_samples`, a
//! window, a zero-padded real FFT of `n_fft` points, triangular mel filters applied to the
//! magnitude spectrum, then `20 * log10(max(energy, log_floor))`.
//!
//! Mel scale: HTK, `mel = 2595 * log10(1 + f / 700)`. Filters are triangles with peak 1 (no area
//! normalisation), evaluated at the exact frequency of each FFT bin, their edges equally spaced in
//! mel between `f_min_hz` and `f_max_hz` (librosa's `htk=True, norm=None`).
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use super::{FeatureConfig, Window};
use crate::{Error, Result};

/// Hertz to HTK mel.
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// HTK mel to hertz.
pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// One triangular filter: weights for bins `first_bin..first_bin + weights.len()`.
#[derive(Debug, Clone)]
pub struct MelFilter {
    /// First FFT bin with a non-zero weight.
    pub first_bin: usize,
    /// Weights of consecutive bins.
    pub weights: Vec<f32>,
    /// Centre frequency of the triangle.
    pub center_hz: f64,
}

/// Builds the filters for `config`; errors when a filter would cover no FFT bin.
pub fn mel_filters(config: &FeatureConfig) -> Result<Vec<MelFilter>> {
    let n_bins = config.n_fft / 2 + 1;
    let bin_hz = f64::from(config.sample_rate_hz) / config.n_fft as f64;
    let mel_low = hz_to_mel(f64::from(config.f_min_hz));
    let mel_high = hz_to_mel(f64::from(config.f_max_hz));
    let edges_hz: Vec<f64> = (0..config.n_mels + 2)
        .map(|i| mel_to_hz(mel_low + (mel_high - mel_low) * i as f64 / (config.n_mels + 1) as f64))
        .collect();
    let mut filters = Vec::with_capacity(config.n_mels);
    for (m, edge) in edges_hz.windows(3).enumerate() {
        let (low, center, high) = (edge[0], edge[1], edge[2]);
        let weight = |bin: usize| {
            let f = bin as f64 * bin_hz;
            let rising = (f - low) / (center - low);
            let falling = (high - f) / (high - center);
            rising.min(falling).max(0.0)
        };
        let bins: Vec<usize> = (0..n_bins).filter(|&b| weight(b) > 0.0).collect();
        let (Some(&first), Some(&last)) = (bins.first(), bins.last()) else {
            return Err(Error::FeatureConfig {
                reason: format!(
                    "mel filter {m} ({low:.1}-{high:.1} Hz) covers no fft bin; raise n_fft or lower n_mels"
                ),
            });
        };
        filters.push(MelFilter {
            first_bin: first,
            weights: (first..=last).map(|b| weight(b) as f32).collect(),
            center_hz: center,
        });
    }
    Ok(filters)
}

/// A ready-to-run log-mel extractor (window, FFT plan and filters built once, shareable across
/// threads).
#[derive(Clone)]
pub struct LogMel {
    config: FeatureConfig,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel").field("config", &self.config).finish_non_exhaustive()
    }
}

impl LogMel {
    /// Checks `config` and prepares the extractor.
    pub fn new(config: &FeatureConfig) -> Result<Self> {
        config.validate()?;
        let n = config.frame_samples;
        // Periodic window (the torch/scipy `sym=False` convention), as for spectral analysis.
        let window = (0..n)
            .map(|i| {
                let phase = std::f64::consts::TAU * i as f64 / n as f64;
                (match config.window {
                    Window::Hamming => 0.54 - 0.46 * phase.cos(),
                    Window::Hann => 0.5 - 0.5 * phase.cos(),
                    Window::Rectangular => 1.0,
                }) as f32
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(config.n_fft);
        Ok(LogMel { config: config.clone(), window, filters: mel_filters(config)?, fft })
    }

    /// The configuration this extractor implements.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The triangular filters.
    pub fn filters(&self) -> &[MelFilter] {
        &self.filters
    }

    /// Number of whole frames in `n_samples` samples (a trailing partial frame is dropped).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        let c = &self.config;
        if n_samples < c.frame_samples {
            0
        } else {
            (n_samples - c.frame_samples) / c.hop_samples + 1
        }
    }

    /// Log-mel features of `samples` (at `config.sample_rate_hz`): `n_frames x n_mels`, row-major.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let c = &self.config;
        let n_frames = self.n_frames(samples.len());
        let mut out = Vec::with_capacity(n_frames * c.n_mels);
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut magnitude = vec![0f32; spectrum.len()];
        for frame_idx in 0..n_frames {
            let start = frame_idx * c.hop_samples;
            let frame = &samples[start..start + c.frame_samples];
            input.fill(0.0);
            for ((x, &s), &w) in input.iter_mut().zip(frame).zip(&self.window) {
                *x = s * w;
            }
            self.fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffers come from the plan, so their lengths match");
            for (m, z) in magnitude.iter_mut().zip(&spectrum) {
                *m = z.norm();
            }
            for filter in &self.filters {
                let bins = &magnitude[filter.first_bin..filter.first_bin + filter.weights.len()];
                let energy: f32 = bins.iter().zip(&filter.weights).map(|(m, w)| m * w).sum();
                out.push(20.0 * energy.max(c.log_floor).log10());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f64, n: usize) -> Vec<f32> {
        (0..n).map(|i| (0.5 * (std::f64::consts::TAU * freq_hz * i as f64 / 16000.0).sin()) as f32).collect()
    }

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 100.0, 1000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
        assert!((hz_to_mel(1000.0) - 999.99).abs() < 0.1);
    }

    #[test]
    fn default_filters_cover_the_band_in_order() {
        let filters = mel_filters(&FeatureConfig::default()).unwrap();
        assert_eq!(filters.len(), 16);
        assert!(filters.windows(2).all(|w| w[0].center_hz < w[1].center_hz));
        assert!(filters[0].center_hz > 100.0 && filters[15].center_hz < 8000.0);
        for f in &filters {
            assert!(f.weights.iter().all(|&w| (0.0..=1.0).contains(&w)));
        }
    }

    #[test]
    fn triangles_sum_to_one_between_the_outer_centres() {
        // Adjacent triangles overlap as linear interpolation, so between the first and last
        // centre every bin's weights add up to 1: no band of the spectrum counts twice.
        let config = FeatureConfig::default();
        let filters = mel_filters(&config).unwrap();
        let bin_hz = 16000.0 / 1024.0;
        let mut total = vec![0f64; 513];
        for f in &filters {
            for (k, w) in f.weights.iter().enumerate() {
                total[f.first_bin + k] += f64::from(*w);
            }
        }
        let (low, high) = (filters[0].center_hz, filters[15].center_hz);
        for (bin, sum) in total.iter().enumerate() {
            let hz = bin as f64 * bin_hz;
            if (low..=high).contains(&hz) {
                assert!((sum - 1.0).abs() < 1e-5, "bin {bin} ({hz} Hz): {sum}");
            } else if !(100.0..=8000.0).contains(&hz) {
                assert_eq!(*sum, 0.0, "bin {bin} ({hz} Hz)");
            }
        }
    }

    #[test]
    fn a_sine_lands_in_the_band_whose_centre_is_nearest() {
        let mel = LogMel::new(&FeatureConfig::default()).unwrap();
        for freq in [300.0, 1000.0, 2500.0, 6000.0] {
            let features = mel.compute(&sine(freq, 16000));
            let frame = &features[10 * 16..11 * 16];
            let loudest = (0..16).max_by(|&a, &b| frame[a].total_cmp(&frame[b])).unwrap();
            let nearest = (0..16)
                .min_by(|&a, &b| {
                    let da = (hz_to_mel(mel.filters()[a].center_hz) - hz_to_mel(freq)).abs();
                    let db = (hz_to_mel(mel.filters()[b].center_hz) - hz_to_mel(freq)).abs();
                    da.total_cmp(&db)
                })
                .unwrap();
            assert_eq!(loudest, nearest, "{freq} Hz");
            // Bands far from the tone are much quieter than the tone's band.
            assert!(frame[loudest] - frame[(loudest + 8) % 16] > 30.0, "{freq} Hz: {frame:?}");
        }
    }

    #[test]
    fn frame_count_drops_the_partial_frame() {
        let mel = LogMel::new(&FeatureConfig::default()).unwrap();
        assert_eq!(mel.n_frames(261), 0);
        assert_eq!(mel.n_frames(262), 1);
        assert_eq!(mel.n_frames(16000), 61);
        assert_eq!(mel.compute(&vec![0.0; 16000]).len(), 61 * 16);
    }

    #[test]
    fn silence_sits_at_the_floor() {
        let mel = LogMel::new(&FeatureConfig::default()).unwrap();
        let features = mel.compute(&vec![0.0; 1000]);
        assert!(features.iter().all(|&x| (x - -100.0).abs() < 1e-4));
    }
}
