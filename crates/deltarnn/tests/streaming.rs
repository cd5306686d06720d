//! Featurising a dataset streams: however many files there are, at most one raw audio buffer per
//! worker thread is alive at once. Its own test binary, so no other test's audio is counted.
use deltarnn::audio::{audio_buffers, wav::write_wav_i16};
use deltarnn::data::{load_dataset, LoadOptions};

#[test]
fn featurising_holds_at_most_one_raw_buffer_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let n_files = 48;
    let mut csv = String::from("path,speaker,keyword\n");
    for i in 0..n_files {
        let (word, freq) = if i % 2 == 0 { ("low", 300.0) } else { ("high", 3000.0) };
        let rel = format!("{word}/{i}.wav");
        std::fs::create_dir_all(dir.path().join(word)).unwrap();
        let samples: Vec<f32> =
            (0..16_000).map(|t| (0.3 * (std::f64::consts::TAU * freq * t as f64 / 16_000.0).sin()) as f32).collect();
        write_wav_i16(&dir.path().join(&rel), 16_000, &samples).unwrap();
        csv.push_str(&format!("{rel},s{},{word}\n", i % 3));
    }
    std::fs::write(dir.path().join("train.csv"), &csv).unwrap();
    std::fs::write(dir.path().join("valid.csv"), "path,speaker,keyword\nlow/0.wav,s0,low\n").unwrap();

    let dataset = load_dataset(dir.path(), &LoadOptions::default(), |_| {}).unwrap();
    assert_eq!(dataset.train.examples.len(), n_files);
    let buffers = audio_buffers();
    assert_eq!(buffers.live, 0, "every raw buffer is released");
    let threads = rayon::current_num_threads();
    assert!(
        buffers.peak >= 1 && buffers.peak <= threads,
        "peak {} raw audio buffers with {threads} threads and {n_files} files",
        buffers.peak
    );
}
