//! `deltarnn features`: build or refresh a dataset's feature cache.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use deltarnn::data::{load_dataset, BadFilePolicy, CacheStatus, LoadOptions};

use crate::progress::Bars;

/// Build or refresh the feature cache of a dataset (log-mel frames, one file per split).
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (layout detected automatically).
    #[arg(long)]
    data: PathBuf,
    /// Cache folder [default: <DATA>/.deltarnn-cache].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Feature config as JSON (fields of FeatureConfig; missing fields take defaults).
    #[arg(long)]
    feature_config: Option<PathBuf>,
    /// Stop at the first bad file instead of skipping it.
    #[arg(long)]
    stop_on_bad_file: bool,
    /// Longest utterance accepted, seconds.
    #[arg(long, default_value_t = 30.0)]
    max_utterance_seconds: f64,
    /// Largest file accepted, bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_file_bytes: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let feature_config = match &args.feature_config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading feature config {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing feature config {}", path.display()))?
        }
        None => Default::default(),
    };
    let options = LoadOptions {
        feature_config,
        limits: deltarnn::audio::Limits {
            max_utterance_seconds: args.max_utterance_seconds,
            max_file_bytes: args.max_file_bytes,
        },
        on_bad_file: if args.stop_on_bad_file { BadFilePolicy::Stop } else { BadFilePolicy::Skip },
        cache_dir: Some(args.cache_dir.clone().unwrap_or_else(|| LoadOptions::default_cache_dir(&args.data))),
        ..LoadOptions::default()
    };
    let start = Instant::now();
    let mut bars = Bars::default();
    let dataset = load_dataset(&args.data, &options, |p| bars.update(p))
        .with_context(|| format!("loading dataset {}", args.data.display()))?;
    bars.finish();
    let seconds = start.elapsed().as_secs_f64();
    for (split, skipped) in &dataset.skipped {
        eprintln!("skipped ({}): {}", split.name(), skipped.reason);
    }
    let splits: Vec<_> = dataset
        .cache
        .iter()
        .map(|(split, status)| {
            let examples = &dataset.split(*split).examples;
            let n_frames: usize = examples.iter().map(|e| e.n_frames).sum();
            let status = match status {
                CacheStatus::Disabled => "disabled".to_string(),
                CacheStatus::Hit => "reused".to_string(),
                CacheStatus::Built => "built".to_string(),
                CacheStatus::Rebuilt { reason } => format!("rebuilt ({reason})"),
                CacheStatus::WriteFailed { reason } => format!("not written ({reason})"),
            };
            let speech: usize = examples.iter().map(|e| e.frame_labels.iter().filter(|&&l| l != 0).count()).sum();
            let speech_fraction = speech as f64 / n_frames.max(1) as f64;
            (split.name(), examples.len(), n_frames, speech_fraction, status)
        })
        .collect();
    if args.json {
        let json = serde_json::json!({
            "kind": dataset.kind,
            "classes": dataset.labels.names.len() - 1,
            "n_features": dataset.feature_config.n_mels,
            "seconds": seconds,
            "skipped": dataset.skipped.len(),
            "splits": splits.iter().map(|(name, n, frames, speech, status)| serde_json::json!({
                "split": name, "utterances": n, "frames": frames, "speech_fraction": speech,
                "cache": status,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!(
            "{} dataset, {} classes, {} features per frame, {:.1} s",
            dataset.kind.name(),
            dataset.labels.names.len() - 1,
            dataset.feature_config.n_mels,
            seconds
        );
        for (name, n, frames, speech, status) in splits {
            println!(
                "{name:>6}: {n:>6} utterances {frames:>9} frames ({:>3.0}% speech)  cache {status}",
                100.0 * speech
            );
        }
        if !dataset.skipped.is_empty() {
            println!("skipped {} bad files (listed on stderr)", dataset.skipped.len());
        }
    }
    Ok(())
}
