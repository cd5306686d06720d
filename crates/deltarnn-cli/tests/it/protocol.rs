//! `--protocol`: the authors' choices recorded with the model and followed by eval, and every
//! way of asking for the wrong one refused with one error line, nothing overwritten.

use crate::fixtures::tone_keywords;
use crate::util::{arg, assert_only_error, deltarnn, ok_stdout, stderr, Scratch};
use deltarnn::bundle::Bundle;
use std::path::Path;

/// `train` of a tiny model on `data` into `out` for `epochs` epochs.
fn train(data: &Path, out: &Path, epochs: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--data",
        arg(data),
        "--out",
        arg(out),
        "--epochs",
        epochs,
        "--hidden",
        "8",
        "--layers",
        "1",
        "--batch",
        "8",
        "--threads",
        "2",
        "--json",
    ];
    args.extend_from_slice(extra);
    deltarnn(&args)
}

#[test]
fn the_protocol_is_recorded_with_the_model_and_checked() {
    let dir = Scratch::new();
    let data = dir.join("kw");
    tone_keywords(&data);
    let run = dir.join("authors");
    let metrics: serde_json::Value =
        serde_json::from_str(&ok_stdout(&train(&data, &run, "1", &["--protocol", "authors"]))).unwrap();
    assert_eq!(metrics["protocol"], "authors");
    let model = run.join("model.safetensors");
    let bundle = Bundle::load(&model).unwrap();
    assert_eq!(bundle.protocol, Some(deltarnn::Protocol::Authors));
    let (mean, std) = (&bundle.normalizer.mean, &bundle.normalizer.std);
    assert!(mean.iter().all(|m| *m == mean[0]) && std.iter().all(|s| *s == std[0]), "one scalar mean and std");

    // eval follows the model's protocol, and refuses another.
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", arg(&model), "--data", arg(&data), "--split", "valid", "--json"];
        args.extend_from_slice(extra);
        deltarnn(&args)
    };
    let report: serde_json::Value = serde_json::from_str(&ok_stdout(&eval(&[]))).unwrap();
    assert_eq!(report["protocol"], "authors");
    ok_stdout(&eval(&["--protocol", "authors"]));
    assert_only_error(&eval(&["--protocol", "ours"]), "trained under protocol authors, not ours");
    assert_only_error(&eval(&["--protocol", "theirs"]), "unknown protocol 'theirs', expected ours or authors");

    // A model written before protocols were recorded: its own is ours, and a flag cannot be checked.
    let mut old = bundle.clone();
    old.protocol = None;
    let old_model = dir.join("old.safetensors");
    old.save(&old_model).unwrap();
    let out = deltarnn(&["eval", "--model", arg(&old_model), "--data", arg(&data), "--protocol", "authors"]);
    assert_only_error(&out, "records no protocol");

    // Resuming under another protocol is refused before anything is written.
    let before = std::fs::read(&model).unwrap();
    let out = train(&data, &run, "2", &["--protocol", "ours", "--resume"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).lines().last().unwrap().contains("resume with --protocol authors"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&model).unwrap(), before, "the model is untouched");
}

#[test]
fn usage_errors_are_one_line() {
    let out = deltarnn(&["train", "--out", "x"]);
    assert_only_error(&out, "the following required arguments were not provided: --data <DATA>");
    assert_eq!(out.status.code(), Some(2));
    assert_only_error(&deltarnn(&["train", "--data", "d", "--out", "o", "--cell", "rnn"]), "unknown cell 'rnn'");
}
