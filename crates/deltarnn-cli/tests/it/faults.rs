//! Faults end to end: SIGKILL during feature caching and during synthesis, then a rerun that
//! never reads anything half-written; a full disk (a file size limit, `ulimit -f` with SIGXFSZ
//! ignored) that gives one clear error and keeps the previous good files; two processes on one
//! run or cache folder.

use crate::fixtures::{battery, battery_tones};
use crate::util::{arg, assert_error, bin, deltarnn, stderr};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs deltarnn with every file it writes limited to 2-4 KB (`ulimit -f 4`: 512-byte blocks in
/// dash, 1 KB in bash) and SIGXFSZ ignored, so a write past the limit fails with EFBIG, as on a
/// full disk, instead of killing the process.
fn deltarnn_disk_full(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"")
        .arg(bin())
        .args(args)
        .output()
        .expect("runs")
}

/// Files in `dir` whose name marks them temporary.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(child.try_wait().unwrap().is_none(), "finished before {what}");
        assert!(start.elapsed() < Duration::from_secs(300), "no {what} after 300 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigkill_while_caching_features_then_rerun_reads_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = battery_tones(&dir.path().join("data"), 150);
    let cache = dir.path().join("cache");
    let mut child = Command::new(bin())
        .args(["features", "--data", arg(&data), "--cache-dir", arg(&cache)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The lock appears when the train split starts building: kill it while it featurises.
    wait_for(&mut child, "the cache lock", || cache.join(".lock").exists());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The rerun takes over the dead process's lock and rebuilds; a third run reuses it.
    let out = deltarnn(&["features", "--data", arg(&data), "--cache-dir", arg(&cache)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cache built"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = deltarnn(&["features", "--data", arg(&data), "--cache-dir", arg(&cache)]);
    let third = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(third.contains("cache reused") && !third.contains("built"), "{third}");
    // Identical to a build that was never interrupted.
    let clean = dir.path().join("clean");
    let out = deltarnn(&["features", "--data", arg(&data), "--cache-dir", arg(&clean)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(cache.join("train.feat")).unwrap(), std::fs::read(clean.join("train.feat")).unwrap());
    assert!(!cache.join(".lock").exists());
}

#[test]
fn sigkill_during_synthesis_leaves_no_corpus_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("corpus");
    let args = ["synth", "--out", arg(&out_dir), "--speakers", "3", "--utterances-per-speaker", "31"];
    let mut child = Command::new(bin()).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let wavs = out_dir.join("wavs/speakers");
    let n_wavs = || {
        std::fs::read_dir(&wavs)
            .map(|d| d.flatten().map(|s| std::fs::read_dir(s.path()).map_or(0, |f| f.count())).sum::<usize>())
            .unwrap_or(0)
    };
    wait_for(&mut child, "five WAVs", || n_wavs() >= 5);
    child.kill().unwrap(); // SIGKILL mid-synthesis
    child.wait().unwrap();
    // Nothing looks like a corpus: the manifests are committed last, in one rename.
    assert!(!out_dir.join("data").exists());
    let out = deltarnn(&["data", "stats", arg(&out_dir)]);
    assert_error(&out, "not a known dataset layout");

    let out = deltarnn(&args);
    assert!(out.status.success(), "rerun: {}", stderr(&out));
    // Every WAV it lists is whole.
    let out = deltarnn(&["features", "--data", arg(&out_dir), "--stop-on-bad-file"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out_dir.join(".lock").exists());
}

#[test]
fn a_full_disk_while_saving_a_checkpoint_keeps_the_previous_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = battery_tones(&dir.path().join("data"), 3);
    let run = dir.path().join("run");
    let train = [
        "train",
        "--data",
        arg(&data),
        "--out",
        arg(&run),
        "--hidden",
        "16",
        "--layers",
        "1",
        "--batch",
        "2",
        "--seed",
        "1",
    ];
    let out = deltarnn(&[&train[..], &["--epochs", "1"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let model = std::fs::read(run.join("model.safetensors")).unwrap();
    let state = std::fs::read(run.join("state.safetensors")).unwrap();
    assert!(model.len() > 4096 && state.len() > 4096, "the files must exceed the limit");

    let out = deltarnn_disk_full(&[&train[..], &["--epochs", "3", "--resume"]].concat());
    let line = assert_error(&out, ".safetensors");
    assert!(line.contains("File too large"), "{line}");
    assert_eq!(std::fs::read(run.join("model.safetensors")).unwrap(), model, "model.safetensors changed");
    assert_eq!(std::fs::read(run.join("state.safetensors")).unwrap(), state, "state.safetensors changed");
    assert_eq!(temporaries(&run), Vec::<String>::new());
    assert!(!run.join(".lock").exists(), "the lock is released on error");
    // With space again, the run resumes from the kept state.
    let out = deltarnn(&[&train[..], &["--epochs", "2", "--resume"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_full_disk_while_writing_the_cache_keeps_the_previous_cache() {
    let dir = tempfile::tempdir().unwrap();
    let data = battery_tones(&dir.path().join("data"), 4);
    let cache = dir.path().join("cache");
    let args = ["features", "--data", arg(&data), "--cache-dir", arg(&cache)];
    let out = deltarnn(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = std::fs::read(cache.join("train.feat")).unwrap();
    assert!(good.len() > 4096, "the cache must exceed the limit");
    // Rewrite one file: its modification time changes, so the train split must be rebuilt.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::copy(battery("good_low.wav"), data.join("high/1.wav")).unwrap();

    let out = deltarnn_disk_full(&args);
    let line = assert_error(&out, "train.feat");
    assert!(line.contains("File too large"), "{line}");
    assert_eq!(std::fs::read(cache.join("train.feat")).unwrap(), good, "the previous cache is kept");
    assert_eq!(temporaries(&cache), Vec::<String>::new());
}

#[test]
fn a_second_process_on_the_same_run_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = battery_tones(&dir.path().join("data"), 3);
    let out = deltarnn(&["features", "--data", arg(&data)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = dir.path().join("run");
    let train =
        ["train", "--data", arg(&data), "--out", arg(&run), "--hidden", "8", "--layers", "1", "--epochs", "100000"];
    let child = Command::new(bin()).args(train).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let mut first = KillOnDrop(child);
    wait_for(&mut first.0, "the run lock", || run.join(".lock").exists());
    let second = deltarnn(&train);
    let line = assert_error(&second, "in use by process");
    assert!(line.contains(&first.0.id().to_string()) && line.contains(arg(&run)), "{line}");
}

/// Kills the child when the test ends, whether it passes or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_process_on_the_same_cache_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = battery_tones(&dir.path().join("data"), 2);
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    // A live process that holds the cache lock (as a concurrent `features` would).
    let holder = KillOnDrop(Command::new("sleep").arg("60").spawn().unwrap());
    std::fs::write(cache.join(".lock"), holder.0.id().to_string()).unwrap();
    let out = deltarnn(&["features", "--data", arg(&data), "--cache-dir", arg(&cache)]);
    let line = assert_error(&out, "in use by process");
    assert!(line.contains(&holder.0.id().to_string()) && line.contains("cache"), "{line}");
    assert!(!cache.join("train.feat").exists(), "nothing written beside the holder");
    drop(holder);
    // Once the holder is gone, its lock is stale and taken over.
    let out = deltarnn(&["features", "--data", arg(&data), "--cache-dir", arg(&cache)]);
    assert!(out.status.success(), "{}", stderr(&out));
}
