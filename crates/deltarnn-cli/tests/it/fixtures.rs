//! Tiny inputs the tests build: keyword-CSV datasets (battery WAVs or generated tones), the
//! synthesized corpus shared by the training tests, tensor inputs and fresh models.

use crate::util::{arg, deltarnn, ok_stdout, stderr, Scratch};
use deltarnn::tensorfile;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A file of the bad-input battery (`tests/bad_inputs/`, scripts/make-bad-inputs.py).
pub fn battery(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bad_inputs").join(name)
}

/// The header of a keyword-CSV split file.
const KEYWORD_HEADER: &str = "path,speaker,keyword\n";

/// Writes `root/<split>.csv` of the keyword-CSV layout from `(path, speaker, keyword)` rows.
fn write_split(root: &Path, split: &str, rows: &[(String, String, String)]) {
    let mut csv = String::from(KEYWORD_HEADER);
    for (path, speaker, keyword) in rows {
        csv.push_str(&format!("{path},{speaker},{keyword}\n"));
    }
    std::fs::write(root.join(format!("{split}.csv")), csv).unwrap();
}

/// Copies battery file `name` to `root/rel`.
fn copy_battery(root: &Path, rel: &str, name: &str) {
    std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
    std::fs::copy(battery(name), root.join(rel)).unwrap();
}

fn row(path: &str, speaker: &str, keyword: &str) -> (String, String, String) {
    (path.into(), speaker.into(), keyword.into())
}

/// A keyword-CSV dataset with `train.csv` given as raw bytes (the manifest under test), a good
/// `valid.csv`, and the audio they list: copies of the battery's good WAVs, plus the battery
/// files `extra` under `high/` by their own names.
pub fn battery_dataset(root: &Path, train_csv: &[u8], extra: &[&str]) -> PathBuf {
    for (rel, src) in [("high/a.wav", "good.wav"), ("low/b.wav", "good_low.wav"), ("low/c.wav", "good_low.wav")] {
        copy_battery(root, rel, src);
    }
    for name in extra {
        copy_battery(root, &format!("high/{name}"), name);
    }
    std::fs::write(root.join("train.csv"), train_csv).unwrap();
    write_split(root, "valid", &[row("high/a.wav", "s2", "high"), row("low/c.wav", "s2", "low")]);
    root.to_path_buf()
}

/// A keyword-CSV dataset of `n` copies of the battery's two good tones ("high", "low") in
/// training, one of each in validation.
pub fn battery_tones(root: &Path, n: usize) -> PathBuf {
    let mut train = Vec::new();
    for i in 0..n {
        for (word, src) in [("high", "good.wav"), ("low", "good_low.wav")] {
            let rel = format!("{word}/{i}.wav");
            copy_battery(root, &rel, src);
            train.push(row(&rel, &format!("s{}", i % 4), word));
        }
    }
    write_split(root, "train", &train);
    write_split(root, "valid", &[row("high/0.wav", "s9", "high"), row("low/0.wav", "s9", "low")]);
    root.to_path_buf()
}

/// A tone burst of `freq_hz` at 16 kHz, 0.6 s, starting and ending at seeded jittered times,
/// over faint seeded noise: a generated "utterance" of a keyword.
fn tone(rng: &mut deltarnn::rng::Rng, freq_hz: f64) -> Vec<f32> {
    let rate = 16_000.0;
    let (start, end) = (0.1 + 0.05 * rng.uniform(), 0.4 + 0.05 * rng.uniform());
    (0..9600)
        .map(|i| {
            let t = i as f64 / rate;
            let tone = if (start..end).contains(&t) { 0.4 * (std::f64::consts::TAU * freq_hz * t).sin() } else { 0.0 };
            (tone + 0.003 * rng.normal()) as f32
        })
        .collect()
}

/// Writes `samples` as a 16 kHz WAV at `root/rel`.
fn write_tone(root: &Path, rel: &str, samples: &[f32]) {
    std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
    deltarnn::audio::wav::write_wav_i16(&root.join(rel), 16_000, samples).unwrap();
}

/// Four generated "keywords" (tone bursts of different pitch at 16 kHz, seeded noise), 6 train
/// and 3 valid takes each, in the keyword-CSV layout.
pub fn tone_keywords(root: &Path) {
    let keywords = [("low", 300.0), ("mid", 800.0), ("high", 1800.0), ("top", 3500.0)];
    let mut rng = deltarnn::rng::Rng::seed(7);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (keyword, freq_hz) in keywords {
        for take in 0..9 {
            let rel = format!("{keyword}/s{take}.wav");
            write_tone(root, &rel, &tone(&mut rng, freq_hz));
            let split = if take < 6 { &mut train } else { &mut valid };
            split.push(row(&rel, &format!("s{take}"), keyword));
        }
    }
    write_split(root, "train", &train);
    write_split(root, "valid", &valid);
}

/// A Google Speech Commands v2 layout of generated tones: a folder per keyword of `keywords`
/// (each its own pitch), `takes` files each from speakers `s0`, `s1`, ...; the second to last
/// take of every keyword listed in `validation_list.txt`, the last in `testing_list.txt`.
pub fn gsc_tones(root: &Path, keywords: &[&str], takes: usize) {
    let mut rng = deltarnn::rng::Rng::seed(11);
    let (mut valid, mut test) = (String::new(), String::new());
    for (k, keyword) in keywords.iter().enumerate() {
        let freq_hz = 200.0 * 1.09f64.powi(k as i32);
        for take in 0..takes {
            let rel = format!("{keyword}/s{take}_nohash_0.wav");
            write_tone(root, &rel, &tone(&mut rng, freq_hz));
            if take + 2 == takes {
                valid.push_str(&format!("{rel}\n"));
            } else if take + 1 == takes {
                test.push_str(&format!("{rel}\n"));
            }
        }
    }
    std::fs::write(root.join("validation_list.txt"), valid).unwrap();
    std::fs::write(root.join("testing_list.txt"), test).unwrap();
}

/// A tiny corpus synthesized once and shared by the training tests (6 speakers, one utterance
/// per intent each; needs espeak-ng, which scripts/ensure-espeak.sh installs), features cached.
pub fn tiny_corpus() -> &'static Path {
    static CORPUS: OnceLock<(Scratch, PathBuf)> = OnceLock::new();
    &CORPUS
        .get_or_init(|| {
            let scratch = Scratch::new();
            let dir = scratch.join("corpus");
            let out = deltarnn(&["synth", "--out", arg(&dir), "--speakers", "6", "--utterances-per-speaker", "31"]);
            assert!(out.status.success(), "synth failed (is espeak-ng installed?): {}", stderr(&out));
            let out = deltarnn(&["features", "--data", arg(&dir)]);
            assert!(out.status.success(), "{}", stderr(&out));
            (scratch, dir)
        })
        .1
}

/// Writes tensor `x` (frames x features, element i = `value(i)`) to `path`.
pub fn write_input(path: &str, frames: usize, features: usize, value: impl Fn(usize) -> f32) {
    let data: Vec<f32> = (0..frames * features).map(value).collect();
    tensorfile::write(Path::new(path), &[("x".into(), vec![frames, features], data)], None).unwrap();
}

/// `deltarnn init` of a 2 x 8 `cell` model with 5 features and 4 classes in `dir`; checks the
/// parameter count it prints and returns the checkpoint's path.
pub fn init_model(dir: &Scratch, cell: &str) -> String {
    let model = dir.file(&format!("{cell}.safetensors"));
    let out = deltarnn(&[
        "init",
        "--cell",
        cell,
        "--features",
        "5",
        "--layers",
        "2",
        "--hidden",
        "8",
        "--classes",
        "4",
        "--seed",
        "3",
        "--out",
        &model,
    ]);
    let line: serde_json::Value = serde_json::from_str(ok_stdout(&out).trim()).unwrap();
    let gates = if cell == "lstm" { 4 } else { 3 };
    let expected = gates * 8 * (5 + 8) + gates * 8 * (8 + 8) + 4 * gates * 8 + 4 * 8 + 4;
    assert_eq!(line["params"], expected);
    model
}
