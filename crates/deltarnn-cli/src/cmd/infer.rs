//! `deltarnn infer`: classify WAV files (or the sequences of a `sequences` file) with a trained
//! model, optionally frame by frame.

use crate::args::{ReadoutArg, ThresholdArgs};
use anyhow::{bail, Context, Result};
use deltarnn::audio::{featurize_file, Limits, LogMel};
use deltarnn::bundle::Bundle;
use deltarnn::data::sequences::read_features;
use deltarnn::nn::loss::{argmax, utterance_decision, Readout};
use deltarnn::nn::{Mode, SequenceTape};
use std::path::PathBuf;

/// Classify recordings: the class and its confidence per file. `--stream` feeds the frames one at
/// a time through stateful Delta inference, as a device would, and prints the running decision.
/// A `.safetensors` file of the sequences layout (features and lengths; labels ignored) gives one
/// line per sequence, named FILE#INDEX.
#[derive(clap::Args)]
pub struct Args {
    /// Trained model (RUN/model.safetensors).
    #[arg(long)]
    model: PathBuf,
    /// WAV files to classify (or `.safetensors` files of the sequences layout).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Frame-by-frame streaming inference with per-frame output.
    #[arg(long)]
    stream: bool,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    /// Utterance readout.
    #[arg(long, default_value = "last-non-silence")]
    readout: ReadoutArg,
    /// Longest utterance accepted, seconds (checked from the WAV header before decoding).
    #[arg(long, default_value_t = Limits::default().max_utterance_seconds)]
    max_utterance_seconds: f64,
    /// Largest audio file accepted, bytes (checked before reading).
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: u64,
    /// Print one JSON object per line.
    #[arg(long)]
    json: bool,
}

/// Softmax of one frame's logits.
fn softmax(z: &[f32]) -> Vec<f64> {
    let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = z.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// Runs `deltarnn infer`.
pub fn run(args: Args) -> Result<()> {
    let bundle = Bundle::load(&args.model).with_context(|| format!("loading model {}", args.model.display()))?;
    let thresholds = args.thresholds.resolve(&bundle.model)?;
    let mel = LogMel::new(&bundle.feature_config).context("the model's feature configuration")?;
    let limits = Limits { max_utterance_seconds: args.max_utterance_seconds, max_file_bytes: args.max_file_bytes };
    let (model, names) = (&bundle.model, &bundle.labels.names);
    let classes = model.config.n_classes;
    let readout: Readout = args.readout.into();
    let n_features = model.config.n_features;
    for (path, mut frames) in inputs(&args.files, &mel, &limits, n_features)? {
        bundle.normalizer.apply(&mut frames);
        if args.stream {
            let mut state = model.new_stream();
            let mut decision = 0usize;
            for (t, frame) in frames.chunks_exact(n_features).enumerate() {
                let (fired_x, fired_h) = model.stream_step(&mut state, frame, thresholds);
                let frame_class = argmax(&state.logits);
                if frame_class != 0 {
                    decision = frame_class;
                }
                let width = n_features
                    + (model.config.n_layers - 1) * model.config.n_hidden
                    + model.config.n_layers * model.config.n_hidden;
                let fired = (fired_x + fired_h) as f64 / width as f64;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": &path, "frame": t, "frame_class": names[frame_class], "decision": names[decision], "fired_fraction": fired})
                    );
                } else {
                    println!("{path}\t{t}\t{}\t{}\tfired {:.1}%", names[frame_class], names[decision], 100.0 * fired);
                }
            }
            continue;
        }
        let mut tape = SequenceTape::default();
        model.forward(&frames, Mode::Delta(thresholds), &mut tape);
        let class = utterance_decision(&tape.logits, classes, readout);
        // Confidence: the class's probability on the last frame that voted for it, or its mean
        // probability over frames for the mean readout.
        let per_frame: Vec<Vec<f64>> = tape.logits.chunks_exact(classes).map(softmax).collect();
        let confidence = match readout {
            Readout::LastNonSilence => {
                per_frame.iter().rev().find(|p| argmax(p) == class).map(|p| p[class]).unwrap_or(0.0)
            }
            Readout::MeanOverFrames => per_frame.iter().map(|p| p[class]).sum::<f64>() / per_frame.len() as f64,
        };
        if args.json {
            println!(
                "{}",
                serde_json::json!({"file": &path, "class": names[class], "class_index": class, "confidence": confidence, "frames": tape.steps})
            );
        } else {
            println!("{path}\t{}\t{:.3}", names[class], confidence);
        }
    }
    Ok(())
}

/// Every input to classify, named, with its raw frames: a WAV file featurised by the model's
/// front end, or each sequence of a `.safetensors` sequences file (FILE#INDEX).
fn inputs(files: &[PathBuf], mel: &LogMel, limits: &Limits, n_features: usize) -> Result<Vec<(String, Vec<f32>)>> {
    let mut out = Vec::new();
    for path in files {
        let name = path.display().to_string();
        if path.extension().is_some_and(|e| e == "safetensors") {
            let (features, sequences) = read_features(path).with_context(|| format!("reading {}", path.display()))?;
            if features != n_features {
                bail!("{}: {features} features per frame, the model takes {n_features}", path.display());
            }
            out.extend(sequences.into_iter().enumerate().map(|(i, frames)| (format!("{name}#{i}"), frames)));
        } else {
            let features = featurize_file(path, mel, limits).with_context(|| format!("reading {}", path.display()))?;
            out.push((name, features.data));
        }
    }
    Ok(out)
}
