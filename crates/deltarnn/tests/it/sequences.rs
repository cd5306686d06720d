//! The `sequences` layout (any time series): files written and read back, labels per sequence
//! and per frame, normalisation, one-line errors for every malformed file, and a Delta LSTM that
//! learns a generated non-speech task from it.

use deltarnn::data::sequences::{load_sequences, split_file, SequenceFile, SequenceLabels};
use deltarnn::data::{detect, load_dataset, DatasetKind, LoadOptions, Split};
use deltarnn::nn::loss::Readout;
use deltarnn::nn::{init_params, CellKind, ModelConfig};
use deltarnn::rng::Rng;
use deltarnn::tensorfile::{mixed_to_bytes, NamedIntTensor, NamedTensor};
use deltarnn::train::{evaluate, fit, TrainConfig, TrainState};
use deltarnn::Thresholds;
use std::path::Path;

/// `n` noisy waves per class over 3 features: class 0 a slow sine, 1 a fast sine, 2 a square
/// wave, each of 20 to 39 frames at a random phase and offset.
fn waves(seed: u64, n: usize) -> SequenceFile {
    let mut rng = Rng::seed(seed);
    let mut sequences = Vec::new();
    for i in 0..3 * n {
        let class = i % 3;
        let (frames, phase, offset) = (20 + rng.below(20), rng.uniform() * std::f64::consts::TAU, rng.normal() * 3.0);
        let mut values = Vec::new();
        for t in 0..frames {
            let x = phase + t as f64 * if class == 0 { 0.2 } else { 0.9 };
            let wave = if class == 2 { x.sin().signum() } else { x.sin() };
            values.extend(
                [offset + wave, offset + 0.1 * rng.normal(), 2.0 * wave + 0.1 * rng.normal()].map(|v| v as f32),
            );
        }
        sequences.push(deltarnn::data::sequences::Sequence { frames: values, labels: SequenceLabels::Sequence(class) });
    }
    SequenceFile { n_features: 3, sequences, classes: Some(vec!["slow".into(), "fast".into(), "square".into()]) }
}

fn write_waves(dir: &Path) {
    waves(1, 30).write(&split_file(dir, Split::Train)).unwrap();
    let mut valid = waves(2, 10);
    valid.classes = None; // only the training file's names count
    valid.write(&split_file(dir, Split::Valid)).unwrap();
}

#[test]
fn a_sequences_folder_loads_with_labels_normalisation_and_class_names() {
    let dir = tempfile::tempdir().unwrap();
    write_waves(dir.path());
    assert_eq!(detect(dir.path()).unwrap(), DatasetKind::Sequences);
    let dataset = load_dataset(dir.path(), &LoadOptions::default(), |_| {}).unwrap();
    assert_eq!(dataset.kind, DatasetKind::Sequences);
    assert_eq!(dataset.labels.names, ["_silence_", "slow", "fast", "square"]);
    assert_eq!((dataset.n_features(), dataset.n_classes()), (3, 4));
    assert_eq!((dataset.train.examples.len(), dataset.valid.examples.len(), dataset.test.examples.len()), (90, 30, 0));
    let first = &dataset.train.examples[1];
    assert_eq!(first.label, 2, "file class 1 is the model's 2");
    assert!(first.frame_labels.iter().all(|&l| l == 2));
    assert_eq!(first.frames.len(), first.n_frames * 3);
    assert_eq!(first.path, "train.safetensors#1");
    // Normalised per feature on train: mean about 0, deviation about 1.
    let all: Vec<f32> = dataset.train.examples.iter().flat_map(|e| e.frames.iter().copied()).collect();
    for f in 0..3 {
        let column: Vec<f64> = all.iter().skip(f).step_by(3).map(|&v| f64::from(v)).collect();
        let mean = column.iter().sum::<f64>() / column.len() as f64;
        let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / column.len() as f64;
        assert!(mean.abs() < 1e-4 && (var.sqrt() - 1.0).abs() < 1e-3, "feature {f}: {mean} {var}");
    }
}

#[test]
fn frame_labels_map_background_to_class_zero_and_give_the_majority_label() {
    let dir = tempfile::tempdir().unwrap();
    let file = SequenceFile {
        n_features: 1,
        sequences: vec![
            deltarnn::data::sequences::Sequence {
                frames: vec![0.0, 1.0, 2.0, 3.0, 4.0],
                labels: SequenceLabels::Frames(vec![None, Some(1), Some(0), Some(1), None]),
            },
            deltarnn::data::sequences::Sequence {
                frames: vec![5.0, 6.0],
                labels: SequenceLabels::Frames(vec![Some(0), Some(1)]),
            },
        ],
        classes: None,
    };
    file.write(&split_file(dir.path(), Split::Train)).unwrap();
    let dataset = load_sequences(dir.path(), None, None, false).unwrap();
    assert_eq!(dataset.labels.names, ["_silence_", "0", "1"]);
    let (a, b) = (&dataset.train.examples[0], &dataset.train.examples[1]);
    assert_eq!(a.frame_labels, [0, 2, 1, 2, 0]);
    assert_eq!(a.label, 2, "class 1 labels two frames");
    assert_eq!(b.label, 1, "a tie goes to the smaller class");
}

/// Raw safetensors bytes for the error cases.
fn raw(floats: &[NamedTensor], ints: &[NamedIntTensor], classes: Option<&str>) -> Vec<u8> {
    let metadata = classes.map(|c| std::collections::HashMap::from([("classes".to_string(), c.to_string())]));
    mixed_to_bytes(floats, ints, metadata).unwrap()
}

#[test]
fn every_malformed_file_is_one_clear_error() {
    let features = |frames: usize, values: Vec<f32>| ("features".to_string(), vec![frames, 2], values);
    let ints = |name: &str, values: Vec<i64>| (name.to_string(), vec![values.len()], values);
    let ok_features = features(3, vec![0.0; 6]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            raw(std::slice::from_ref(&ok_features), &[ints("lengths", vec![1, 1]), ints("labels", vec![0, 1])], None),
            "the lengths sum to 2 frames, 'features' has 3",
        ),
        (
            raw(std::slice::from_ref(&ok_features), &[ints("lengths", vec![3, 0]), ints("labels", vec![0, 1])], None),
            "sequence 1 has length 0",
        ),
        (
            raw(
                &[features(3, vec![0.0, 0.0, 0.0, f32::NAN, 0.0, 0.0])],
                &[ints("lengths", vec![1, 2]), ints("labels", vec![0, 1])],
                None,
            ),
            "sequence 1 has a non-finite value at frame 0, feature 1",
        ),
        (
            raw(std::slice::from_ref(&ok_features), &[ints("lengths", vec![1, 2]), ints("labels", vec![0, -1])], None),
            "sequence 1 has label -1",
        ),
        (
            raw(std::slice::from_ref(&ok_features), &[ints("lengths", vec![1, 2]), ints("labels", vec![0])], None),
            "1 labels for 2 sequences",
        ),
        (
            raw(
                std::slice::from_ref(&ok_features),
                &[ints("lengths", vec![1, 2]), ints("labels", vec![0, 5])],
                Some("[\"a\",\"b\"]"),
            ),
            "sequence 1 has label 5 but 'classes' names only 2 classes",
        ),
        (
            raw(
                std::slice::from_ref(&ok_features),
                &[ints("lengths", vec![1, 2]), ints("labels", vec![0, 1]), ints("frame_labels", vec![0, 1, 1])],
                None,
            ),
            "give 'labels' or 'frame_labels', not both",
        ),
        (
            raw(std::slice::from_ref(&ok_features), &[ints("lengths", vec![1, 2])], None),
            "no 'labels' (per sequence) or 'frame_labels' (per frame)",
        ),
        (
            raw(
                std::slice::from_ref(&ok_features),
                &[ints("lengths", vec![1, 2]), ints("frame_labels", vec![0, -1, -1])],
                None,
            ),
            "sequence 1 has only background frames",
        ),
        (
            raw(
                std::slice::from_ref(&ok_features),
                &[ints("lengths", vec![1, 2]), ints("frame_labels", vec![0, 1])],
                None,
            ),
            "2 frame labels for 3 frames",
        ),
        (
            raw(
                &[("features".into(), vec![6], vec![0.0; 6])],
                &[ints("lengths", vec![6]), ints("labels", vec![0])],
                None,
            ),
            "expected (frames, features)",
        ),
        (
            raw(
                &[ok_features.clone(), ("extra".into(), vec![1], vec![0.0])],
                &[ints("lengths", vec![3]), ints("labels", vec![0])],
                None,
            ),
            "unknown tensor 'extra'",
        ),
        (
            raw(&[ok_features.clone(), ("labels".into(), vec![1], vec![0.0])], &[ints("lengths", vec![3])], None),
            "'labels' has dtype F32, expected I64 or I32",
        ),
        (
            raw(
                std::slice::from_ref(&ok_features),
                &[ints("lengths", vec![3]), ints("labels", vec![0])],
                Some("not json"),
            ),
            "metadata 'classes' is not a JSON list",
        ),
        (b"garbage".to_vec(), "not a valid safetensors file"),
    ];
    for (bytes, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(split_file(dir.path(), Split::Train), bytes).unwrap();
        let err = load_sequences(dir.path(), None, None, false).unwrap_err().to_string();
        assert!(err.contains(want), "want {want:?}, got {err:?}");
        assert!(err.contains("train.safetensors"), "names the file: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // Splits that disagree on the feature count.
    let dir = tempfile::tempdir().unwrap();
    write_waves(dir.path());
    let one_feature = SequenceFile {
        n_features: 1,
        sequences: vec![deltarnn::data::sequences::Sequence { frames: vec![0.0], labels: SequenceLabels::Sequence(0) }],
        classes: None,
    };
    one_feature.write(&split_file(dir.path(), Split::Test)).unwrap();
    let err = load_sequences(dir.path(), None, None, false).unwrap_err().to_string();
    assert!(err.contains("test.safetensors") && err.contains("1 features per frame, the training file has 3"), "{err}");
}

#[test]
fn a_delta_lstm_learns_a_generated_non_speech_task_from_a_sequences_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_waves(dir.path());
    let dataset = load_sequences(dir.path(), None, None, false).unwrap();
    let config = ModelConfig {
        cell: CellKind::Lstm,
        n_features: dataset.n_features(),
        n_layers: 1,
        n_hidden: 16,
        n_classes: dataset.n_classes(),
        thresholds: Thresholds::both(0.1),
    };
    let mut model = init_params::<f32>(&config, 1).unwrap();
    let train_config = TrainConfig {
        epochs: 25,
        batch_size: 8,
        learning_rate: 1e-2,
        early_stop_patience: 0,
        seed: 1,
        threads: 2,
        ..TrainConfig::default()
    };
    let mut state = TrainState::new(&model, &train_config);
    fit(&mut model, &mut state, &train_config, &dataset.train.examples, &dataset.valid.examples, |_| Ok(())).unwrap();
    let mode = train_config.mode(config.thresholds);
    let result = evaluate(&model, &dataset.valid.examples, mode, Readout::MeanOverFrames, 2).unwrap();
    assert!(result.accuracy >= 0.9, "held-out accuracy {}", result.accuracy);
}
