//! Replays every input under `tests/fuzz_regressions/<target>/` through the entry point of the
//! fuzz target of the same name: each must give a value or an error, never a panic, and never
//! more memory than its own size justifies.
use std::path::{Path, PathBuf};

use deltarnn::audio::{parse_wav, Limits};
use deltarnn::bundle::Bundle;
use deltarnn::checkpoint;
use deltarnn::data::csv::Table;
use deltarnn::data::layout::{parse_fsc_csv, parse_keyword_csv, parse_list};
use deltarnn::tensorfile::{float_from_bytes, int_from_bytes};
use deltarnn::train::run::state_from_bytes;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn wav_regressions() {
    let limits = Limits { max_utterance_seconds: 30.0, max_file_bytes: 1 << 20 };
    let all = inputs("wav");
    assert!(!all.is_empty(), "the wav regression corpus is empty");
    for (path, bytes) in all {
        if let Ok(wav) = parse_wav(&path, &bytes, &limits) {
            // Never more samples than bytes.
            assert!(wav.samples.len() <= bytes.len(), "{}", path.display());
        }
    }
    // The first finding: hound and our chunk walk disagreed about the data chunk.
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_regressions/wav/oom-8f726560dabfde674917858785d3a0fb5ce5d4f8"),
    )
    .unwrap();
    let err = parse_wav(Path::new("oom.wav"), &bytes, &limits).unwrap_err();
    assert!(err.to_string().starts_with("oom.wav: not a wav file"), "{err}");
}

#[test]
fn manifest_regressions() {
    for (path, bytes) in inputs("manifest") {
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let _ = Table::parse(&path, text);
        let _ = parse_fsc_csv(&path, text);
        let _ = parse_keyword_csv(&path, text);
        let _ = parse_list(text);
    }
}

#[test]
fn checkpoint_regressions() {
    for (path, bytes) in inputs("checkpoint") {
        let _ = checkpoint::from_bytes(&path, &bytes);
        let _ = Bundle::from_bytes(&path, &bytes);
        let _ = state_from_bytes(&path, &bytes);
    }
}

#[test]
fn tensorfile_regressions() {
    for (path, bytes) in inputs("tensorfile") {
        let _ = float_from_bytes(&path, &bytes, "x");
        let _ = int_from_bytes(&path, &bytes, "y");
    }
}
