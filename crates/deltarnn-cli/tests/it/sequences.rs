//! The CLI on non-audio data: a `sequences` folder (generated waves) through train, eval, infer
//! (batch and streaming) and learn, and its bad inputs.

use crate::util::{arg, assert_only_error, deltarnn, ok_stdout};
use deltarnn::data::sequences::{split_file, Sequence, SequenceFile, SequenceLabels};
use deltarnn::data::Split;
use deltarnn::rng::Rng;
use std::path::Path;

/// `n` noisy waves of each class over 3 features: a slow sine, a fast sine, a square wave.
fn waves(seed: u64, n: usize) -> SequenceFile {
    let mut rng = Rng::seed(seed);
    let sequences = (0..3 * n)
        .map(|i| {
            let class = i % 3;
            let (frames, phase, offset) =
                (20 + rng.below(20), rng.uniform() * std::f64::consts::TAU, rng.normal() * 3.0);
            let mut values = Vec::new();
            for t in 0..frames {
                let x = phase + t as f64 * if class == 0 { 0.2 } else { 0.9 };
                let wave = if class == 2 { x.sin().signum() } else { x.sin() };
                values.extend([offset + wave, offset + 0.1 * rng.normal(), 2.0 * wave].map(|v| v as f32));
            }
            Sequence { frames: values, labels: SequenceLabels::Sequence(class) }
        })
        .collect();
    SequenceFile { n_features: 3, sequences, classes: Some(vec!["slow".into(), "fast".into(), "square".into()]) }
}

fn write_folder(dir: &Path) {
    waves(1, 30).write(&split_file(dir, Split::Train)).unwrap();
    waves(2, 10).write(&split_file(dir, Split::Valid)).unwrap();
    waves(3, 10).write(&split_file(dir, Split::Test)).unwrap();
}

#[test]
fn train_eval_infer_and_learn_work_on_a_sequences_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("waves");
    std::fs::create_dir(&data).unwrap();
    write_folder(&data);
    let run = dir.path().join("run");
    let common = ["--hidden", "16", "--layers", "1", "--batch", "8", "--lr", "1e-2", "--threads", "2"];
    let mut train = vec!["train", "--data", arg(&data), "--out", arg(&run), "--epochs", "15"];
    train.extend_from_slice(&common);
    train.extend_from_slice(&["--readout", "mean-over-frames"]);
    ok_stdout(&deltarnn(&train));
    let model = run.join("model.safetensors");
    let eval = ok_stdout(&deltarnn(&[
        "eval",
        "--model",
        arg(&model),
        "--data",
        arg(&data),
        "--readout",
        "mean-over-frames",
        "--json",
    ]));
    let eval: serde_json::Value = serde_json::from_str(&eval).unwrap();
    assert!(eval["accuracy"].as_f64().unwrap() >= 0.9, "{eval}");
    let test = split_file(&data, Split::Test);
    let lines = ok_stdout(&deltarnn(&["infer", "--model", arg(&model), arg(&test), "--readout", "mean-over-frames"]));
    assert_eq!(lines.lines().count(), 30, "{lines}");
    let right = lines.lines().enumerate().filter(|(i, l)| l.contains(["slow", "fast", "square"][i % 3])).count();
    assert!(right >= 27, "{right} of 30 right:\n{lines}");
    assert!(lines.starts_with(&format!("{}#0\t", test.display())), "{lines}");
    let streamed = ok_stdout(&deltarnn(&["infer", "--model", arg(&model), arg(&test), "--stream"]));
    let frames: usize = waves(3, 10).sequences.iter().map(|s| s.frames.len() / 3).sum();
    assert_eq!(streamed.lines().count(), frames);
    let learn_out = dir.path().join("learn");
    let mut learn = vec!["learn", "--data", arg(&data), "--out", arg(&learn_out), "--base", "2"];
    learn.extend_from_slice(&["--step", "1", "--epochs", "3", "--memory", "12", "--compare-dense", "false"]);
    learn.extend_from_slice(&common);
    let table = ok_stdout(&deltarnn(&learn));
    assert_eq!(table.lines().filter(|l| l.starts_with("delta ")).count(), 2, "{table}");
}

#[test]
fn bad_sequences_inputs_give_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("waves");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(split_file(&data, Split::Train), b"garbage").unwrap();
    let run = dir.path().join("run");
    assert_only_error(&deltarnn(&["train", "--data", arg(&data), "--out", arg(&run)]), "not a valid safetensors file");
    write_folder(&data);
    let mut one_feature = waves(4, 1);
    one_feature.n_features = 1;
    one_feature.sequences.iter_mut().for_each(|s| s.frames.truncate(s.frames.len() / 3));
    one_feature.write(&split_file(&data, Split::Test)).unwrap();
    assert_only_error(
        &deltarnn(&["train", "--data", arg(&data), "--out", arg(&run), "--epochs", "1"]),
        "1 features per frame, the training file has 3",
    );
    write_folder(&data);
    let mut train = vec!["train", "--data", arg(&data), "--out", arg(&run), "--epochs", "1", "--hidden", "8"];
    train.extend_from_slice(&["--layers", "1"]);
    ok_stdout(&deltarnn(&train));
    let model = run.join("model.safetensors");
    let other = dir.path().join("other.safetensors");
    one_feature.write(&other).unwrap();
    assert_only_error(
        &deltarnn(&["infer", "--model", arg(&model), arg(&other)]),
        "1 features per frame, the model takes 3",
    );
}
