//! Front-end costs: log-mel of one second of audio, and resampling one second to 16 kHz.
use std::path::Path;

use deltarnn::audio::{resample::resample, FeatureConfig, LogMel};

fn main() {
    divan::main();
}

fn noise(n: usize) -> Vec<f32> {
    let mut rng = deltarnn::rng::Rng::seed(1);
    (0..n).map(|_| (0.1 * rng.normal()) as f32).collect()
}

#[divan::bench]
fn log_mel_one_second(bencher: divan::Bencher) {
    let mel = LogMel::new(&FeatureConfig::default()).unwrap();
    let samples = noise(16_000);
    bencher.bench_local(|| mel.compute(divan::black_box(&samples)));
}

#[divan::bench(args = [8000, 22050, 44100])]
fn resample_one_second(bencher: divan::Bencher, from_hz: u32) {
    let samples = noise(from_hz as usize);
    bencher.bench_local(|| resample(Path::new("bench"), divan::black_box(&samples), from_hz, 16_000));
}
