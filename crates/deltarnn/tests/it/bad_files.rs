//! The bad-file battery: each broken input gives its own error, naming the file.
use std::path::{Path, PathBuf};

use deltarnn::audio::{featurize_file, read_wav, FeatureConfig, Limits, LogMel};
use deltarnn::data::{load_dataset, BadFilePolicy, CacheStatus, LoadOptions, Split};
use deltarnn::Error;

use super::util::{pcm16, wav_bytes, write_tone};

const LIMIT: u64 = 1 << 20;
const LIMITS: Limits = Limits { max_utterance_seconds: 30.0, max_file_bytes: LIMIT };

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts that the error names the file and returns it.
#[track_caller]
fn err_naming(path: &Path) -> Error {
    let err = read_wav(path, &LIMITS).expect_err("bad file was accepted");
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(err.to_string().contains(name), "{err} does not name {name}");
    err
}

#[test]
fn each_bad_wav_gets_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav_bytes(1, 1, 16000, 16, &pcm16(&[0.1; 400]), None);

    let path = write(dir.path(), "truncated_header.wav", &good[..30]);
    let err = err_naming(&path);
    assert!(matches!(err, Error::WavTruncatedHeader { .. }), "{err}");

    let path = write(dir.path(), "zero_length.wav", &wav_bytes(1, 1, 16000, 16, &[], None));
    let err = err_naming(&path);
    assert!(matches!(err, Error::WavEmpty { .. }), "{err}");
    assert!(err.to_string().ends_with("zero_length.wav: wav holds zero samples"));

    let huge = wav_bytes(1, 1, 16000, 16, &pcm16(&[0.1; 400]), Some(0x7fff_0000));
    let err = err_naming(&write(dir.path(), "huge_declared.wav", &huge));
    match err {
        Error::WavDeclaredTooLong { declared_bytes, available_bytes, .. } => {
            assert_eq!((declared_bytes, available_bytes), (0x7fff_0000, 800))
        }
        other => panic!("{other}"),
    }

    // 8-bit PCM is supported; an 8-bit float encoding does not exist and is refused.
    let err = err_naming(&write(dir.path(), "float8.wav", &wav_bytes(3, 1, 16000, 8, &[0; 100], None)));
    assert!(matches!(&err, Error::WavUnsupported { reason, .. } if reason == "8-bit float"), "{err}");

    // 3 channels of 16 bit = 6-byte frames; 100 bytes is not a whole number of them.
    let err = err_naming(&write(dir.path(), "three_channel.wav", &wav_bytes(1, 3, 16000, 16, &[0; 100], None)));
    assert!(matches!(err, Error::WavPartialFrame { n_channels: 3, .. }), "{err}");

    let nan: Vec<u8> = [0.1f32, f32::NAN, 0.2].iter().flat_map(|x| x.to_le_bytes()).collect();
    let err = err_naming(&write(dir.path(), "nan.wav", &wav_bytes(3, 1, 16000, 32, &nan, None)));
    assert!(matches!(err, Error::WavNonFinite { sample_idx: 1, .. }), "{err}");

    let err = err_naming(&write(dir.path(), "text.wav", b"hello, I am a text file\n"));
    assert!(matches!(err, Error::NotWav { .. }), "{err}");

    let err = err_naming(&dir.path().join("does_not_exist.wav"));
    assert!(matches!(err, Error::Io { .. }), "{err}");

    let err = err_naming(&write(dir.path(), "big.wav", &vec![0u8; LIMIT as usize + 1]));
    assert!(matches!(err, Error::FileTooLarge { .. }), "{err}");

    let mel = LogMel::new(&FeatureConfig::default()).unwrap();
    let short = write(dir.path(), "short.wav", &wav_bytes(1, 1, 16000, 16, &pcm16(&[0.1; 100]), None));
    let err = featurize_file(&short, &mel, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::UtteranceTooShort { n_samples: 100, .. }), "{err}");
    let long = dir.path().join("long.wav");
    write_tone(&long, 440.0, 8000, 2.0);
    let limits = Limits { max_utterance_seconds: 1.5, ..Limits::default() };
    let err = featurize_file(&long, &mel, &limits).unwrap_err();
    assert!(err.to_string().contains("long.wav: utterance lasts 2.00 s, the limit is 1.50 s"), "{err}");
}

#[test]
fn every_supported_encoding_decodes_to_the_same_signal() {
    let dir = tempfile::tempdir().unwrap();
    let signal: Vec<f64> = (0..64).map(|i| (i as f64 / 10.0).sin() * 0.5).collect();
    let cases: Vec<(&str, u16, u16, Vec<u8>, f64)> = vec![
        ("u8.wav", 1, 8, signal.iter().map(|&x| (128.0 + x * 128.0).round() as u8).collect(), 1.0 / 128.0),
        ("i16.wav", 1, 16, signal.iter().flat_map(|&x| ((x * 32768.0).round() as i16).to_le_bytes()).collect(), 1e-4),
        (
            "i24.wav",
            1,
            24,
            signal.iter().flat_map(|&x| ((x * 8388608.0).round() as i32).to_le_bytes()[..3].to_vec()).collect(),
            1e-6,
        ),
        (
            "i32.wav",
            1,
            32,
            signal.iter().flat_map(|&x| ((x * 2147483648.0).round() as i32).to_le_bytes()).collect(),
            1e-6,
        ),
        ("f32.wav", 3, 32, signal.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect(), 1e-7),
    ];
    for (name, tag, bits, data, tolerance) in cases {
        let path = write(dir.path(), name, &wav_bytes(tag, 1, 8000, bits, &data, None));
        let wav = read_wav(&path, &LIMITS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((wav.sample_rate_hz, wav.samples.len()), (8000, 64), "{name}");
        for (got, want) in wav.samples.iter().zip(&signal) {
            assert!((f64::from(*got) - want).abs() <= tolerance, "{name}: {got} vs {want}");
        }
    }
    // Three channels are averaged.
    let frames: Vec<f32> = [0.3, 0.0, -0.3, 0.6, 0.6, 0.6].to_vec();
    let path = write(dir.path(), "three.wav", &wav_bytes(1, 3, 16000, 16, &pcm16(&frames), None));
    let wav = read_wav(&path, &LIMITS).unwrap();
    assert_eq!(wav.n_channels, 3);
    assert!(wav.samples[0].abs() < 1e-4 && (wav.samples[1] - 0.6).abs() < 1e-4, "{:?}", wav.samples);
}

/// A keyword-CSV dataset with two good files per split and one bad one in train.
fn dataset_with_a_bad_file(root: &Path) {
    let mut csv = String::from("path,speaker,keyword\n");
    for (i, (word, freq)) in [("low", 300.0), ("high", 3000.0)].into_iter().enumerate() {
        let rel = format!("{word}/s1_{i}.wav");
        write_tone(&root.join(&rel), freq, 16000, 0.5);
        csv.push_str(&format!("{rel},s1,{word}\n"));
    }
    std::fs::write(root.join("low/broken.wav"), b"not audio").unwrap();
    csv.push_str("low/broken.wav,s1,low\n");
    std::fs::write(root.join("train.csv"), csv).unwrap();
    let mut valid = String::from("path,speaker,keyword\n");
    write_tone(&root.join("high/s2_0.wav"), 3000.0, 16000, 0.5);
    valid.push_str("high/s2_0.wav,s2,high\n");
    std::fs::write(root.join("valid.csv"), valid).unwrap();
}

#[test]
fn a_bad_file_is_skipped_or_stops_the_run_and_never_enters_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    dataset_with_a_bad_file(dir.path());
    let cache_dir = dir.path().join("cache");
    let stop =
        LoadOptions { on_bad_file: BadFilePolicy::Stop, cache_dir: Some(cache_dir.clone()), ..LoadOptions::default() };
    let err = load_dataset(dir.path(), &stop, |_| {}).unwrap_err();
    assert!(matches!(err, Error::NotWav { .. }) && err.to_string().contains("broken.wav"), "{err}");
    assert!(!cache_dir.join("train.feat").exists(), "a failed split must not write its cache");

    let skip = LoadOptions { cache_dir: Some(cache_dir.clone()), ..LoadOptions::default() };
    let dataset = load_dataset(dir.path(), &skip, |_| {}).unwrap();
    assert_eq!(dataset.train.examples.len(), 2);
    assert_eq!(dataset.skipped.len(), 1);
    let (split, skipped) = &dataset.skipped[0];
    assert_eq!((*split, skipped.path.as_str()), (Split::Train, "low/broken.wav"));
    assert!(skipped.reason.contains("broken.wav: not a wav file"), "{}", skipped.reason);

    // Reloading reuses the cache and reports the same skipped file.
    let again = load_dataset(dir.path(), &skip, |_| {}).unwrap();
    assert_eq!(again.cache[0], (Split::Train, CacheStatus::Hit));
    assert_eq!(again.skipped, dataset.skipped);
    assert_eq!(again.train, dataset.train);
    // A cache that skipped files is not good enough for a run that must stop on them.
    let err = load_dataset(dir.path(), &stop, |_| {}).unwrap_err();
    assert!(err.to_string().contains("broken.wav"), "{err}");
}

#[test]
fn csv_problems_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.csv"), "path,keyword\nyes/a.wav,yes\n").unwrap();
    let err = load_dataset(dir.path(), &LoadOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(&err, Error::CsvMissingColumn { column, .. } if column == "speaker"), "{err}");
    assert!(err.to_string().contains("train.csv: csv has no column \"speaker\""), "{err}");

    let err = load_dataset(&dir.path().join("nowhere"), &LoadOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("nowhere"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = load_dataset(empty.path(), &LoadOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(err, Error::UnknownLayout { .. }), "{err}");
}
