//! Helpers: raw WAV bytes with any header, tones, and tiny datasets on disk.
use std::path::Path;

/// A WAV file with a free-form fmt chunk and a data chunk that may lie about its size.
pub fn wav_bytes(
    format_tag: u16,
    n_channels: u16,
    sample_rate_hz: u32,
    bits: u16,
    data: &[u8],
    declared_data_bytes: Option<u32>,
) -> Vec<u8> {
    let block = n_channels * bits.div_ceil(8);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format_tag.to_le_bytes());
    b.extend_from_slice(&n_channels.to_le_bytes());
    b.extend_from_slice(&sample_rate_hz.to_le_bytes());
    b.extend_from_slice(&(sample_rate_hz * u32::from(block)).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&declared_data_bytes.unwrap_or(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// 16-bit PCM bytes of `samples`.
pub fn pcm16(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|&x| ((x * 32767.0).round() as i16).to_le_bytes()).collect()
}

/// A tone of `freq_hz` between `start_s` and `end_s`, silence (plus faint noise) elsewhere.
pub fn tone_burst(freq_hz: f64, rate_hz: u32, seconds: f64, start_s: f64, end_s: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate_hz)) as usize;
    let mut rng = deltarnn::rng::Rng::seed(freq_hz as u64);
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate_hz);
            let tone =
                if (start_s..end_s).contains(&t) { 0.5 * (std::f64::consts::TAU * freq_hz * t).sin() } else { 0.0 };
            (tone + 1e-4 * rng.normal()) as f32
        })
        .collect()
}

/// Writes a 16-bit mono WAV.
pub fn write_tone(path: &Path, freq_hz: f64, rate_hz: u32, seconds: f64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let samples = tone_burst(freq_hz, rate_hz, seconds, 0.2 * seconds, 0.7 * seconds);
    deltarnn::audio::wav::write_wav_i16(path, rate_hz, &samples).unwrap();
}
