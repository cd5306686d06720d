//! The real-speech suite: every FSDD and asc10 file loads, resamples and featurizes, frame counts
//! match durations, and the front end matches the numpy reference on real WAVs.
//!
//! Run: `DELTARNN_SHARED_DATA=/path/to/shared/data cargo test -p deltarnn --features real-data
//! --test real_data`. Without the variable, `<repo>/../shared/data` is used; when neither holds
//! the data the suite fails (it never skips silently).
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use deltarnn::audio::{featurize_file, FeatureConfig, Limits, LogMel};
use deltarnn::data::{load_dataset, CacheStatus, DatasetKind, LoadOptions, Split};

fn shared_data() -> PathBuf {
    let root = match std::env::var_os("DELTARNN_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    assert!(
        root.join("fsdd/recordings").is_dir() && root.join("asc10/train.csv").is_file(),
        "real-data suite: shared data not found at {} (need fsdd/recordings and asc10/train.csv); \
         set DELTARNN_SHARED_DATA to the folder holding fsdd/ and asc10/",
        root.display()
    );
    root
}

/// Frames expected for a file of `n_samples` at `rate_hz`: resampled length, whole frames only.
fn expected_frames(n_samples: u64, rate_hz: u64) -> usize {
    let resampled = (n_samples * 16000 + rate_hz / 2) / rate_hz;
    ((resampled - 262) / 262 + 1) as usize
}

fn header_frames(path: &std::path::Path) -> usize {
    let reader = hound::WavReader::open(path).unwrap();
    expected_frames(u64::from(reader.duration()), u64::from(reader.spec().sample_rate))
}

fn speech_fraction(dataset: &deltarnn::data::Dataset) -> f64 {
    let (mut speech, mut total) = (0usize, 0usize);
    for split in Split::ALL {
        for e in &dataset.split(split).examples {
            speech += e.frame_labels.iter().filter(|&&l| l != 0).count();
            total += e.n_frames;
        }
    }
    speech as f64 / total as f64
}

#[test]
fn all_fsdd_files_load_with_frame_counts_matching_durations() {
    let root = shared_data().join("fsdd");
    let start = Instant::now();
    let dataset = load_dataset(&root, &LoadOptions::default(), |_| {}).unwrap();
    eprintln!("fsdd: 3,000 files featurized in {:.1} s", start.elapsed().as_secs_f64());
    assert_eq!(dataset.kind, DatasetKind::Fsdd);
    assert!(dataset.skipped.is_empty(), "{:?}", dataset.skipped);
    let sizes = [&dataset.train, &dataset.valid, &dataset.test].map(|s| s.examples.len());
    assert_eq!(sizes, [2400, 300, 300]);
    assert_eq!(dataset.labels.names.len(), 11);
    assert_eq!(dataset.labels.names[1..], ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let mut n_frames = 0;
    for split in Split::ALL {
        for e in &dataset.split(split).examples {
            assert_eq!(e.n_frames, header_frames(&root.join(&e.path)), "{}", e.path);
            assert_eq!(dataset.labels.names[e.label], e.path[11..12], "{}", e.path);
            assert!(e.frames.iter().all(|x| x.is_finite()), "{}", e.path);
            assert!(e.frame_labels.iter().any(|&l| l != 0), "{}: no speech frame", e.path);
            n_frames += e.n_frames;
        }
    }
    // 1,312.3 s of audio at 16.375 ms per frame, less the partial frame of each file.
    assert!((78_000..80_200).contains(&n_frames), "{n_frames}");
    let fraction = speech_fraction(&dataset);
    eprintln!("fsdd: {:.0}% of frames labelled speech", 100.0 * fraction);
    // The clips are trimmed around the word, so most frames are speech.
    assert!((0.5..0.98).contains(&fraction), "{fraction}");
    let speakers: BTreeSet<&str> = dataset.test.examples.iter().map(|e| e.speaker.as_str()).collect();
    assert_eq!(speakers.len(), 6, "the official split is by take, so all speakers are in test");
}

#[test]
fn all_asc10_files_load_and_cache_round_trips() {
    let root = shared_data().join("asc10");
    let cache = tempfile::tempdir().unwrap();
    let options = LoadOptions { cache_dir: Some(cache.path().to_path_buf()), ..LoadOptions::default() };
    let start = Instant::now();
    let dataset = load_dataset(&root, &options, |_| {}).unwrap();
    eprintln!("asc10: 2,400 files featurized in {:.1} s", start.elapsed().as_secs_f64());
    assert_eq!(dataset.kind, DatasetKind::KeywordCsv);
    assert!(dataset.skipped.is_empty(), "{:?}", dataset.skipped);
    let sizes = [&dataset.train, &dataset.valid, &dataset.test].map(|s| s.examples.len());
    assert_eq!(sizes, [1800, 600, 0], "asc10 has no test.csv, so test stays empty");
    assert_eq!(
        dataset.labels.names[1..],
        ["close", "down", "left", "no", "open", "right", "start", "stop", "up", "yes"]
    );
    // Every clip is exactly 16,000 samples at 16 kHz: 61 whole frames of 262.
    for split in [Split::Train, Split::Valid] {
        for e in &dataset.split(split).examples {
            assert_eq!(e.n_frames, 61, "{}", e.path);
            assert_eq!(e.n_frames, header_frames(&root.join(&e.path)), "{}", e.path);
            assert!(e.frame_labels.iter().any(|&l| l != 0), "{}: no speech frame", e.path);
        }
    }
    let train_speakers: BTreeSet<&str> = dataset.train.examples.iter().map(|e| e.speaker.as_str()).collect();
    let valid_speakers: BTreeSet<&str> = dataset.valid.examples.iter().map(|e| e.speaker.as_str()).collect();
    assert_eq!((train_speakers.len(), valid_speakers.len()), (18, 6));
    assert!(train_speakers.is_disjoint(&valid_speakers));
    let fraction = speech_fraction(&dataset);
    eprintln!("asc10: {:.0}% of frames labelled speech", 100.0 * fraction);
    // 1 s windows around words of 0.15-0.5 s.
    assert!((0.15..0.8).contains(&fraction), "{fraction}");

    let again = load_dataset(&root, &options, |_| {}).unwrap();
    assert!(again.cache.iter().all(|(_, s)| *s == CacheStatus::Hit), "{:?}", again.cache);
    assert_eq!(again.train, dataset.train);
    assert_eq!(again.normalizer, dataset.normalizer);
}

/// From `python3 tools/golden/mel.py <the two files>` (numpy, float64); tolerance 0.01 dB, as in
/// tests/it/golden.rs. Frames 0, 10, 30 and 60 of each file.
/// Frame index and its 16 log-mel values.
type GoldenFrame = (usize, [f32; 16]);

#[rustfmt::skip]
const GOLDEN: [(&str, [GoldenFrame; 4]); 2] = [
    ("yes/00000021_NO_06.wav", [
        (0, [-11.4979, -21.3095, -17.9828, -20.1343, -21.7938, -21.2852, -17.1241, -18.9773, -20.1201, -16.1756, -17.9537, -14.0396, -14.5575, -16.4702, -14.0312, -16.0268]),
        (10, [-19.3169, -24.9282, -24.3879, -23.0854, -22.3206, -20.4502, -19.5341, -19.2226, -21.9432, -23.6685, -21.5403, -18.0299, -14.5613, -18.3564, -16.2110, -16.8035]),
        (30, [34.0546, 38.1303, 29.1617, 29.1813, 29.2670, 31.7524, 34.7024, 30.5570, 23.8457, 19.7586, 20.0319, 10.0373, 6.0272, -0.3719, -4.3871, 1.8215]),
        (60, [-26.2865, -31.0458, -28.3191, -19.3388, -26.4297, -29.2940, -29.7950, -42.4359, -34.6795, -23.0705, -22.3130, -15.4895, -16.5216, -13.4698, -14.5421, -16.4385]),
    ]),
    ("open/00000002_NO_01.wav", [
        (0, [-4.8634, -0.1150, -6.0032, -6.0297, -3.9071, -4.0873, -7.9475, -9.2266, -12.0470, -13.6252, -11.5206, -7.3940, -7.4887, -9.0882, -8.4342, -13.0078]),
        (10, [34.0565, 36.8867, 42.8642, 35.3374, 30.0840, 30.5126, 33.6885, 24.2546, 15.9600, 21.6402, 20.6184, 16.2536, 6.9174, -3.9658, -0.8449, 0.7994]),
        (30, [-8.5224, -10.7300, -13.4760, 4.9499, 8.9965, -1.2803, 4.6237, 14.3564, 6.4732, 14.6910, 13.5588, 14.4866, 13.4475, 1.2768, -4.1790, -11.1191]),
        (60, [-5.9438, -0.6677, -4.7309, -7.5575, -8.4577, -8.5072, -6.2779, -8.7629, -9.0408, -7.2707, -7.9789, -8.5722, -5.9027, -5.0434, -9.7682, -13.9312]),
    ]),
];

#[test]
fn asc10_log_mel_matches_numpy_reference() {
    let root = shared_data().join("asc10");
    let mel = LogMel::new(&FeatureConfig::default()).unwrap();
    for (rel, rows) in GOLDEN {
        let features = featurize_file(&root.join(rel), &mel, &Limits::default()).unwrap();
        assert_eq!(features.n_frames, 61);
        for (frame_idx, expected) in rows {
            let got = &features.data[frame_idx * 16..(frame_idx + 1) * 16];
            for (band, (g, e)) in got.iter().zip(expected).enumerate() {
                assert!((g - e).abs() < 0.01, "{rel} frame {frame_idx} band {band}: rust {g}, numpy {e}");
            }
        }
    }
}
