//! Tiny datasets of each layout, made of tones: detection, splits, label maps, frame labels,
//! normalisation and cache reuse/invalidation.
use std::path::Path;

use deltarnn::audio::FeatureConfig;
use deltarnn::data::{dataset_stats, detect, load_dataset, CacheStatus, DatasetKind, LabelMap, LoadOptions, Split};

use super::util::write_tone;

fn fsc(root: &Path) {
    let header = ",path,speakerId,transcription,action,object,location\n";
    let rows = [
        ("train", "a", "activate", "lights", "kitchen", 500.0),
        ("train", "a", "bring", "shoes", "none", 2000.0),
        ("train", "b", "activate", "lights", "kitchen", 500.0),
        ("valid", "c", "bring", "shoes", "none", 2000.0),
        ("test", "d", "activate", "lights", "kitchen", 500.0),
    ];
    std::fs::create_dir_all(root.join("data")).unwrap();
    for split in ["train", "valid", "test"] {
        let mut csv = header.to_string();
        for (i, row) in rows.iter().enumerate().filter(|(_, r)| r.0 == split) {
            let rel = format!("wavs/speakers/{}/{i}.wav", row.1);
            write_tone(&root.join(&rel), row.5, 16000, 1.0);
            csv.push_str(&format!("{i},{rel},{},\"Say, something\",{},{},{}\n", row.1, row.2, row.3, row.4));
        }
        std::fs::write(root.join(format!("data/{split}_data.csv")), csv).unwrap();
    }
}

fn speech_commands(root: &Path) {
    for (word, freq) in [("yes", 700.0), ("no", 2500.0)] {
        for speaker in ["aa11", "bb22", "cc33"] {
            write_tone(&root.join(format!("{word}/{speaker}_nohash_0.wav")), freq, 16000, 1.0);
        }
    }
    write_tone(&root.join("_background_noise_/white.wav"), 100.0, 16000, 1.0);
    std::fs::write(root.join("validation_list.txt"), "yes/bb22_nohash_0.wav\nno/bb22_nohash_0.wav\n").unwrap();
    std::fs::write(root.join("testing_list.txt"), "yes/cc33_nohash_0.wav\n").unwrap();
}

fn fsdd(root: &Path) {
    for digit in [3, 7] {
        for take in [0, 5, 10, 11] {
            let freq = 400.0 + 300.0 * f64::from(digit);
            write_tone(&root.join(format!("recordings/{digit}_bob_{take}.wav")), freq, 8000, 0.6);
        }
    }
}

#[test]
fn each_layout_is_detected_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("fsc"), dir.path().join("gsc"), dir.path().join("fsdd"));
    fsc(&a);
    speech_commands(&b);
    fsdd(&c);
    assert_eq!(detect(&a).unwrap(), DatasetKind::FluentSpeechCommands);
    assert_eq!(detect(&b).unwrap(), DatasetKind::SpeechCommands);
    assert_eq!(detect(&c).unwrap(), DatasetKind::Fsdd);

    let options = LoadOptions::default();
    let fsc = load_dataset(&a, &options, |_| {}).unwrap();
    assert_eq!(fsc.labels.names, ["_silence_", "activate|lights|kitchen", "bring|shoes|none"]);
    let sizes = |d: &deltarnn::data::Dataset| (d.train.examples.len(), d.valid.examples.len(), d.test.examples.len());
    assert_eq!(sizes(&fsc), (3, 1, 1));
    assert_eq!(fsc.valid.examples[0].label, 2);
    assert_eq!(fsc.valid.examples[0].speaker, "c");

    let gsc = load_dataset(&b, &options, |_| {}).unwrap();
    assert_eq!(gsc.labels.names, ["_silence_", "no", "yes"]);
    assert_eq!(sizes(&gsc), (3, 2, 1));
    assert_eq!(gsc.test.examples[0].path, "yes/cc33_nohash_0.wav");
    assert_eq!(gsc.test.examples[0].speaker, "cc33");

    let digits = load_dataset(&c, &options, |_| {}).unwrap();
    assert_eq!(digits.labels.names, ["_silence_", "3", "7"]);
    assert_eq!(sizes(&digits), (4, 2, 2));
    assert!(digits.test.examples.iter().all(|e| e.path.ends_with("_0.wav")));
    assert!(digits.valid.examples.iter().all(|e| e.path.ends_with("_5.wav")));
    // 0.6 s at 8 kHz -> 9600 samples at 16 kHz -> 36 whole frames of 262.
    assert!(digits.train.examples.iter().all(|e| e.n_frames == 36));

    let stats = dataset_stats(&b, None, |_| {}).unwrap();
    assert_eq!(stats.splits[0].n_files, 3);
    assert_eq!(stats.classes, ["no", "yes"]);
    // cc33 says "no" in train and "yes" in test.
    assert_eq!(stats.shared_speakers, ["cc33"]);
}

#[test]
fn frame_labels_cover_the_tone_and_frames_are_normalised() {
    let dir = tempfile::tempdir().unwrap();
    fsc(dir.path());
    let dataset = load_dataset(dir.path(), &LoadOptions::default(), |_| {}).unwrap();
    let hop_s = FeatureConfig::default().hop_seconds();
    for example in &dataset.train.examples {
        assert_eq!(example.frames.len(), example.n_frames * 16);
        assert_eq!(example.frame_labels.len(), example.n_frames);
        // The tone runs from 0.2 s to 0.7 s; allow one frame of slack on each side.
        let first = example.frame_labels.iter().position(|&l| l != 0).unwrap();
        let last = example.frame_labels.iter().rposition(|&l| l != 0).unwrap();
        assert!((first as f64 * hop_s - 0.2).abs() <= hop_s * 1.01, "{first}");
        assert!(((last + 1) as f64 * hop_s - 0.7).abs() <= hop_s * 1.01, "{last}");
        assert!(example.frame_labels[first..=last].iter().all(|&l| l == example.label as i64));
    }
    // Train frames are zero-mean, unit-variance per feature.
    let all: Vec<f32> = dataset.train.examples.iter().flat_map(|e| e.frames.clone()).collect();
    let n = (all.len() / 16) as f64;
    for f in 0..16 {
        let mean = all.iter().skip(f).step_by(16).map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = all.iter().skip(f).step_by(16).map(|&x| f64::from(x).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-3 && (var - 1.0).abs() < 1e-2, "feature {f}: {mean} {var}");
    }
}

#[test]
fn cache_is_reused_and_rebuilt_when_config_files_or_bytes_change() {
    let dir = tempfile::tempdir().unwrap();
    fsc(dir.path());
    let cache = dir.path().join("cache");
    let options = LoadOptions { cache_dir: Some(cache.clone()), ..LoadOptions::default() };
    let first = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert!(first.cache.iter().all(|(_, s)| *s == CacheStatus::Built));
    let mut reported = Vec::new();
    let second = load_dataset(dir.path(), &options, |p| reported.push(*p)).unwrap();
    assert!(second.cache.iter().all(|(_, s)| *s == CacheStatus::Hit));
    assert!(reported.is_empty(), "a cache hit featurizes nothing");
    assert_eq!(first.train, second.train);

    // Another feature config rebuilds.
    let other =
        LoadOptions { feature_config: FeatureConfig { n_mels: 20, ..FeatureConfig::default() }, ..options.clone() };
    let rebuilt = load_dataset(dir.path(), &other, |_| {}).unwrap();
    assert!(matches!(rebuilt.cache[0].1, CacheStatus::Rebuilt { .. }));
    assert_eq!(rebuilt.train.n_features, 20);

    let back = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert!(back.cache.iter().all(|(_, s)| matches!(s, CacheStatus::Rebuilt { .. })));

    // Transcriptions are not part of the key; the file list is, split by split.
    let csv = dir.path().join("data/test_data.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replace("\"Say, something\"", "other words")).unwrap();
    let same = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert!(same.cache.iter().all(|(_, s)| *s == CacheStatus::Hit));
    let csv = dir.path().join("data/train_data.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let fewer: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&csv, fewer.join("\n") + "\n").unwrap();
    let after = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert!(matches!(after.cache[0].1, CacheStatus::Rebuilt { .. }));
    assert_eq!(after.cache[2].1, CacheStatus::Hit);
    assert_eq!(after.train.examples.len(), 2);
    std::fs::write(&csv, text).unwrap();
    load_dataset(dir.path(), &options, |_| {}).unwrap();

    // A half-written cache file is detected and rebuilt, never read.
    let train_cache = cache.join("train.feat");
    let bytes = std::fs::read(&train_cache).unwrap();
    std::fs::write(&train_cache, &bytes[..bytes.len() / 2]).unwrap();
    let repaired = load_dataset(dir.path(), &options, |_| {}).unwrap();
    match &repaired.cache[0].1 {
        CacheStatus::Rebuilt { reason } => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(repaired.train, first.train);
    assert_eq!(std::fs::read(&train_cache).unwrap(), bytes);
}

#[test]
fn a_saved_label_map_fixes_class_indices() {
    let dir = tempfile::tempdir().unwrap();
    fsc(dir.path());
    let saved = LabelMap::new(["bring|shoes|none".to_string(), "activate|lights|kitchen".to_string()]);
    let options = LoadOptions { labels: Some(saved.clone()), ..LoadOptions::default() };
    let dataset = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert_eq!(dataset.labels, saved);
    assert_eq!(dataset.valid.examples[0].label, 1);
    let too_small =
        LoadOptions { labels: Some(LabelMap::new(["bring|shoes|none".to_string()])), ..LoadOptions::default() };
    let err = load_dataset(dir.path(), &too_small, |_| {}).unwrap_err();
    assert!(err.to_string().contains("is not in the label map"), "{err}");
    assert_eq!(Split::ALL.len(), 3);
}
