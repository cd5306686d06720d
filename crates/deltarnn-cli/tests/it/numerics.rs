//! End-to-end tests of the `deltarnn` binary: the numerics commands and their error handling.

use crate::fixtures::{init_model, write_input};
use crate::util::{assert_only_error, deltarnn, stderr, stdout, Scratch};
use deltarnn::checkpoint::{config_metadata, to_named_tensors};
use deltarnn::tensorfile;
use std::path::Path;
use std::process::Command;

#[test]
fn init_forward_grad_round_trip() {
    let dir = Scratch::new();
    for cell in ["lstm", "gru"] {
        let model = init_model(&dir, cell);
        let input = dir.file("x.safetensors");
        write_input(&input, 12, 5, |i| ((i as f32) * 0.3).sin());
        let out_path = dir.file("y.safetensors");
        let out = deltarnn(&["forward", "--model", &model, "--input", &input, "--out", &out_path]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(report["frames"], 12);
        assert_eq!(report["mode"], "delta");
        assert!(report["cost"]["sparsity"]["overall"].as_f64().unwrap() > 0.0);
        let logits = tensorfile::read_float(Path::new(&out_path), "logits").unwrap();
        assert_eq!(logits.shape, vec![12, 4]);
        for k in 0..2 {
            let h = tensorfile::read_float(Path::new(&out_path), &format!("h_l{k}")).unwrap();
            assert_eq!(h.shape, vec![12, 8]);
        }

        // Threshold 0 equals the dense network.
        let zero = dir.file("zero.safetensors");
        let dense = dir.file("dense.safetensors");
        let a = deltarnn(&[
            "forward",
            "--model",
            &model,
            "--input",
            &input,
            "--theta-x",
            "0",
            "--theta-h",
            "0",
            "--out",
            &zero,
        ]);
        let b = deltarnn(&["forward", "--model", &model, "--input", &input, "--dense", "--out", &dense]);
        assert!(a.status.success() && b.status.success());
        let za = tensorfile::read_float(Path::new(&zero), "logits").unwrap().data;
        let zb = tensorfile::read_float(Path::new(&dense), "logits").unwrap().data;
        for (x, y) in za.iter().zip(&zb) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }

        let labels = dir.file("labels.safetensors");
        tensorfile::write_i64(Path::new(&labels), "y", &[12], &[0, 1, 2, 3, -100, 1, 1, 2, 0, 0, 3, 3]).unwrap();
        let grads = dir.file("g.safetensors");
        let out = deltarnn(&[
            "grad",
            "--model",
            &model,
            "--input",
            &input,
            "--labels",
            &labels,
            "--theta-h",
            "0",
            "--out",
            &grads,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        let loss = report["loss"].as_f64().unwrap();
        assert!(loss > 0.5 && loss < 3.0, "loss {loss}");
        let stored = tensorfile::read_float(Path::new(&grads), "loss").unwrap();
        assert!((stored.data[0] - loss).abs() < 1e-5);
        let gates = if cell == "lstm" { 4 } else { 3 };
        for (name, shape) in [
            ("rnn.weight_ih_l0", vec![gates * 8, 5]),
            ("rnn.weight_hh_l1", vec![gates * 8, 8]),
            ("rnn.bias_ih_l1", vec![gates * 8]),
            ("fc.weight", vec![4, 8]),
            ("fc.bias", vec![4]),
        ] {
            let g = tensorfile::read_float(Path::new(&grads), name).unwrap();
            assert_eq!(g.shape, shape, "{name}");
            assert!(g.data.iter().any(|&v| v != 0.0), "{name} is all zero");
        }
    }
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = Scratch::new();
    let model = init_model(&dir, "lstm");
    let input = dir.file("x.safetensors");
    write_input(&input, 6, 5, |i| i as f32 * 0.1);
    let out = dir.file("out.safetensors");

    let missing = dir.file("missing.safetensors");
    assert_only_error(
        &deltarnn(&["forward", "--model", &missing, "--input", &input, "--out", &out]),
        "missing.safetensors",
    );

    let garbage = dir.file("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a checkpoint").unwrap();
    assert_only_error(
        &deltarnn(&["forward", "--model", &garbage, "--input", &input, "--out", &out]),
        "not a valid safetensors file",
    );

    // A checkpoint whose tensor has the wrong shape, and one with a tensor missing.
    let (m, _) = deltarnn::checkpoint::load(Path::new(&model)).unwrap();
    let mut tensors = to_named_tensors(&m.config, &m.params);
    tensors[1].1 = vec![16, 16];
    tensors[1].2 = vec![0.0; 256];
    let wrong_shape = dir.file("wrong-shape.safetensors");
    tensorfile::write(Path::new(&wrong_shape), &tensors, Some(config_metadata(&m.config))).unwrap();
    assert_only_error(
        &deltarnn(&["forward", "--model", &wrong_shape, "--input", &input, "--out", &out]),
        "'rnn.weight_hh_l0' has shape [16, 16]",
    );
    let mut tensors = to_named_tensors(&m.config, &m.params);
    tensors.retain(|t| t.0 != "fc.bias");
    let no_bias = dir.file("no-bias.safetensors");
    tensorfile::write(Path::new(&no_bias), &tensors, Some(config_metadata(&m.config))).unwrap();
    assert_only_error(
        &deltarnn(&["forward", "--model", &no_bias, "--input", &input, "--out", &out]),
        "missing tensor 'fc.bias'",
    );

    let nan_input = dir.file("nan.safetensors");
    write_input(&nan_input, 6, 5, |i| if i == 7 { f32::NAN } else { 0.0 });
    assert_only_error(&deltarnn(&["forward", "--model", &model, "--input", &nan_input, "--out", &out]), "non-finite");

    let narrow = dir.file("narrow.safetensors");
    write_input(&narrow, 6, 3, |_| 0.0);
    assert_only_error(
        &deltarnn(&["forward", "--model", &model, "--input", &narrow, "--out", &out]),
        "has 3 features per frame, the model expects 5",
    );

    assert_only_error(
        &deltarnn(&["forward", "--model", &model, "--input", &input, "--theta-x=-1", "--out", &out]),
        "--theta-x / --theta-h: theta_x must be",
    );

    let labels = dir.file("labels.safetensors");
    tensorfile::write_i64(Path::new(&labels), "y", &[6], &[0, 1, 9, 0, 0, 0]).unwrap();
    assert_only_error(
        &deltarnn(&["grad", "--model", &model, "--input", &input, "--labels", &labels, "--out", &out]),
        "label 9 at frame 2",
    );
    let short = dir.file("short.safetensors");
    tensorfile::write_i64(Path::new(&short), "y", &[4], &[0, 1, 2, 0]).unwrap();
    assert_only_error(
        &deltarnn(&["grad", "--model", &model, "--input", &input, "--labels", &short, "--out", &out]),
        "the input has 6 frames",
    );

    let unwritable = dir.file("no-such-dir/out.safetensors");
    assert_only_error(
        &deltarnn(&["forward", "--model", &model, "--input", &input, "--out", &unwritable]),
        "no-such-dir",
    );
    assert_only_error(&deltarnn(&["init", "--hidden", "0", "--out", &out]), "hidden must be between 1");
}

#[test]
fn bench_prints_one_json_line_per_case() {
    let out =
        deltarnn(&["bench", "--json", "--sections", "step", "--shapes", "gscd", "--fired", "1,0.2", "--repeats", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["shape"], "gscd");
    assert_eq!(lines[0]["fired_fraction"], 1.0);
    let fired = lines[1]["fired_fraction"].as_f64().unwrap();
    assert!((fired - 0.2).abs() < 0.02, "calibrated fired fraction {fired}");
    for key in ["delta_ms", "dense_ms", "speedup", "ideal"] {
        assert!(lines[1][key].as_f64().unwrap() > 0.0, "{key}");
    }

    // Default sections: kernels (2 kernels x 2 fractions), step (2), batch (1).
    let out = deltarnn(&["bench", "--json", "--shapes", "paper", "--fired", "1,0.5", "--repeats", "1", "--batch", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["bench"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["kernel", "kernel", "kernel", "kernel", "train_step", "train_step", "train_batch"]);
    assert_eq!(lines[6]["batch"], 2);
    assert!(lines[6]["delta_seq_per_s"].as_f64().unwrap() > 0.0);

    // The batch on two threads: cut in two parts, timed by the wall clock.
    let out = deltarnn(&[
        "bench",
        "--json",
        "--sections",
        "batch",
        "--shapes",
        "gscd",
        "--repeats",
        "1",
        "--batch",
        "4",
        "--batch-threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let record: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!((record["threads"].as_u64(), record["clock"].as_str()), (Some(2), Some("wall")));
    assert!(record["dense_ms"].as_f64().unwrap() > 0.0 && record["delta_ms"].as_f64().unwrap() > 0.0);
    for bad in ["0", "5"] {
        assert_only_error(
            &deltarnn(&["bench", "--sections", "batch", "--batch", "4", "--batch-threads", bad]),
            "--batch-threads must be between 1 and --batch (4)",
        );
    }

    assert_only_error(&deltarnn(&["bench", "--shapes", "huge"]), "unknown shape 'huge'");
    assert_only_error(&deltarnn(&["bench", "--sections", "epoch"]), "needs --data");
    assert_only_error(&deltarnn(&["bench", "--fired", "0"]), "fired fractions must be in (0, 1]");
}

#[test]
fn a_closed_standard_output_ends_quietly_without_a_panic() {
    // As `deltarnn bench | head -0`: the reader is gone before the first line is printed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_deltarnn"))
        .args(["bench", "--sections", "kernels", "--shapes", "gscd", "--fired", "1", "--repeats", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(out.status.success() || out.status.code() == Some(141), "status {:?}: {err}", out.status);
}
