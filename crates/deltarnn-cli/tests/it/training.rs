//! The training commands end to end on a tiny synthesized corpus (needs espeak-ng, which
//! scripts/ensure-espeak.sh installs): train, the run directory, eval, infer, resume after
//! SIGKILL (bit-identical), divergence, and the lock against a second writer.

use crate::fixtures::tiny_corpus;
use crate::util::{bin, deltarnn, stderr, Scratch};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn train_args<'a>(out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        tiny_corpus().to_str().unwrap(),
        "--out",
        out,
        "--epochs",
        epochs,
        "--hidden",
        "16",
        "--layers",
        "1",
        "--batch",
        "8",
        "--threads",
        "2",
        "--seed",
        "4",
        "--early-stop",
        "0",
    ]
}

#[test]
fn train_writes_a_complete_run_and_eval_and_infer_use_it() {
    let dir = Scratch::new();
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    let mut args = train_args(run_s, "2");
    args.push("--json");
    let out = deltarnn(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let metrics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["test_accuracy", "valid_accuracy", "train_seconds", "params", "epochs", "config"] {
        assert!(!metrics[key].is_null(), "metrics.json lacks {key}");
    }
    for key in ["delta_x", "delta_h", "overall"] {
        assert!(metrics["sparsity"][key].as_f64().unwrap() > 0.0, "sparsity {key}");
    }
    assert!(metrics["ops"]["actual"].as_u64().unwrap() < metrics["ops"]["dense"].as_u64().unwrap());
    for file in
        ["model.safetensors", "state.safetensors", "history.csv", "metrics.json", "report.md", "loss.png", "ops.png"]
    {
        assert!(run.join(file).exists(), "{file} missing");
    }
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(!run.join(".lock").exists(), "the lock is released at exit");

    let model = run.join("model.safetensors");
    let out =
        deltarnn(&["eval", "--model", model.to_str().unwrap(), "--data", tiny_corpus().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((eval["accuracy"].as_f64().unwrap() - metrics["test_accuracy"].as_f64().unwrap()).abs() < 1e-12);

    let wav = std::fs::read_dir(tiny_corpus().join("wavs/speakers")).unwrap().next().unwrap().unwrap().path();
    let wav = std::fs::read_dir(&wav).unwrap().next().unwrap().unwrap().path();
    let out = deltarnn(&["infer", "--model", model.to_str().unwrap(), wav.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(line["confidence"].as_f64().unwrap() >= 0.0);
    let out = deltarnn(&["infer", "--model", model.to_str().unwrap(), wav.to_str().unwrap(), "--stream"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 10, "one line per frame");

    let missing = dir.join("missing.wav");
    let out = deltarnn(&["infer", "--model", model.to_str().unwrap(), missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("error: ") && stderr(&out).contains("missing.wav"), "{}", stderr(&out));
}

#[test]
fn resume_after_sigkill_is_bit_identical() {
    let dir = Scratch::new();
    let straight = dir.join("straight");
    let out = deltarnn(&train_args(straight.to_str().unwrap(), "4"));
    assert!(out.status.success(), "{}", stderr(&out));

    let killed = dir.join("killed");
    let killed_s = killed.to_str().unwrap();
    let mut child = Command::new(bin())
        .args(train_args(killed_s, "4"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it during the second epoch: after the first epoch's state is on disk.
    let start = Instant::now();
    while !killed.join("state.safetensors").exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no state after 120 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "training finished before it could be killed");
    child.kill().unwrap(); // SIGKILL, during the second epoch
    child.wait().unwrap();
    let mut args = train_args(killed_s, "4");
    args.push("--resume");
    let out = deltarnn(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = std::fs::read(straight.join("model.safetensors")).unwrap();
    let b = std::fs::read(killed.join("model.safetensors")).unwrap();
    assert!(a == b, "model.safetensors differs after resume");
    // The state also holds wall-clock times; its parameters and optimiser moments must match.
    let a = std::fs::read(straight.join("state.safetensors")).unwrap();
    let b = std::fs::read(killed.join("state.safetensors")).unwrap();
    let (a, b) =
        (safetensors::SafeTensors::deserialize(&a).unwrap(), safetensors::SafeTensors::deserialize(&b).unwrap());
    assert_eq!(a.names().len(), b.names().len());
    for name in a.names() {
        assert_eq!(a.tensor(name).unwrap().data(), b.tensor(name).unwrap().data(), "state tensor {name}");
    }
}

#[test]
fn divergence_stops_with_one_line_and_keeps_the_last_good_model() {
    let dir = Scratch::new();
    let run = dir.join("run");
    let mut args = train_args(run.to_str().unwrap(), "3");
    args.extend(["--lr", "1e30", "--warmup", "0", "--clip-norm", "1e30"]);
    let out = deltarnn(&args);
    let err = stderr(&out);
    assert!(!out.status.success());
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: training") && last.contains("diverged at epoch"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_locked_run_directory_is_refused() {
    let dir = Scratch::new();
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join(".lock"), "1").unwrap(); // PID 1 is alive
    let out = deltarnn(&train_args(run.to_str().unwrap(), "1"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is in use by process 1"), "{}", stderr(&out));
}

#[test]
fn record_trace_writes_a_file_the_simulator_replays() {
    let dir = Scratch::new();
    let run = dir.join("run");
    let trace = dir.join("run.drt");
    let mut args = train_args(run.to_str().unwrap(), "1");
    args.extend(["--record-trace", trace.to_str().unwrap(), "--trace-sequences", "3"]);
    let out = deltarnn(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = deltarnn::tracefile::read(&trace).unwrap();
    assert_eq!(file.sequences.len(), 3);
    assert_eq!(file.layers.len(), 1);
    assert_eq!(file.layers[0].n_hidden, 16);
    let out = deltarnn(&["simulate", "--trace", trace.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["layer_traces"], 3);
    assert!(v["total"]["speedup"].as_f64().unwrap() > 1.0, "{v}");
    // A dense run has no trace to record.
    let dense = dir.join("dense");
    let mut args = train_args(dense.to_str().unwrap(), "1");
    args.extend(["--dense", "--record-trace", trace.to_str().unwrap()]);
    let out = deltarnn(&args);
    assert!(!out.status.success() && stderr(&out).starts_with("error: --record-trace needs a delta run"));
}
