//! `deltarnn features`: build or refresh a dataset's feature cache.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use deltarnn::data::{CacheStatus, Dataset, LoadOptions};

use crate::args::DataArgs;
use crate::dataset::load_with;

/// Build or refresh the feature cache of a dataset (log-mel frames, one file per split).
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (layout detected automatically).
    #[arg(long)]
    data: PathBuf,
    /// Feature config as JSON (fields of FeatureConfig; missing fields take defaults).
    #[arg(long)]
    feature_config: Option<PathBuf>,
    #[command(flatten)]
    dataset: DataArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// One split's line: name, utterances, frames, fraction of speech frames, what the cache did.
type SplitSummary = (&'static str, usize, usize, f64, String);

/// What each split holds and what its cache did.
fn split_summaries(dataset: &Dataset) -> Vec<SplitSummary> {
    dataset
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
        .collect()
}

/// Runs `deltarnn features`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let feature_config = match &args.feature_config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading feature config {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing feature config {}", path.display()))?
        }
        None => Default::default(),
    };
    let options = LoadOptions { feature_config, ..args.dataset.options(&args.data) };
    let start = Instant::now();
    let dataset = load_with(&args.data, &options, false)?;
    let seconds = start.elapsed().as_secs_f64();
    let splits = split_summaries(&dataset);
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
    // Writing the cache is this command's job: a cache that could not be written (full disk,
    // read-only folder) is an error here, while other commands go on with the features in memory.
    for (split, status) in &dataset.cache {
        if let CacheStatus::WriteFailed { reason } = status {
            bail!(
                "writing the {} feature cache: {reason} (the previous cache file, if any, is unchanged)",
                split.name()
            );
        }
    }
    Ok(())
}
