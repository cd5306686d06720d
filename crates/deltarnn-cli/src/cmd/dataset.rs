//! Dataset flags shared by every command that reads speech, and loading with progress bars.

use crate::progress::Bars;
use anyhow::{Context, Result};
use deltarnn::audio::{FeatureConfig, Limits, Normalizer};
use deltarnn::data::{load_dataset, BadFilePolicy, Dataset, LabelMap, LoadOptions};
use std::path::{Path, PathBuf};

/// Where the cache goes and how bad files and long utterances are handled.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Feature cache folder [default: <DATA>/.deltarnn-cache].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Stop at the first bad audio file instead of reporting and skipping it.
    #[arg(long)]
    pub stop_on_bad_file: bool,
    /// Longest utterance accepted, seconds.
    #[arg(long, default_value_t = Limits::default().max_utterance_seconds)]
    pub max_utterance_seconds: f64,
    /// Largest audio file accepted, bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    pub max_file_bytes: u64,
}

impl Default for DataArgs {
    fn default() -> Self {
        let limits = Limits::default();
        DataArgs {
            cache_dir: None,
            stop_on_bad_file: false,
            max_utterance_seconds: limits.max_utterance_seconds,
            max_file_bytes: limits.max_file_bytes,
        }
    }
}

impl DataArgs {
    /// Load options for the dataset in `dir` (default cache inside it), default front end.
    pub fn options(&self, dir: &Path) -> LoadOptions {
        LoadOptions {
            limits: Limits { max_utterance_seconds: self.max_utterance_seconds, max_file_bytes: self.max_file_bytes },
            on_bad_file: if self.stop_on_bad_file { BadFilePolicy::Stop } else { BadFilePolicy::Skip },
            cache_dir: Some(self.cache_dir.clone().unwrap_or_else(|| LoadOptions::default_cache_dir(dir))),
            ..LoadOptions::default()
        }
    }
}

/// The front end a model was trained with (to evaluate it on the same features).
pub struct FrontEnd<'a> {
    /// Feature configuration.
    pub feature_config: &'a FeatureConfig,
    /// Normalisation statistics.
    pub normalizer: &'a Normalizer,
    /// Label map.
    pub labels: &'a LabelMap,
}

/// Loads (and caches) a dataset with progress bars on stderr; reports skipped files on stderr.
pub fn load(dir: &Path, args: &DataArgs, front_end: Option<FrontEnd<'_>>, quiet: bool) -> Result<Dataset> {
    let mut options = args.options(dir);
    if let Some(f) = front_end {
        options.feature_config = f.feature_config.clone();
        options.normalizer = Some(f.normalizer.clone());
        options.labels = Some(f.labels.clone());
    }
    load_with(dir, &options, quiet)
}

/// Loads (and caches) a dataset with explicit options: progress bars on stderr unless `quiet`,
/// skipped files reported on stderr.
pub fn load_with(dir: &Path, options: &LoadOptions, quiet: bool) -> Result<Dataset> {
    let mut bars = Bars::default();
    let dataset = load_dataset(dir, options, |p| {
        if !quiet {
            bars.update(p)
        }
    })
    .with_context(|| format!("loading dataset {}", dir.display()))?;
    bars.finish();
    for (split, skipped) in &dataset.skipped {
        eprintln!("skipped ({}): {}", split.name(), skipped.reason);
    }
    Ok(dataset)
}
