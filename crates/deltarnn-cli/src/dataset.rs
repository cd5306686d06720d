//! Loading a dataset (features cached) with progress bars, for every command that reads speech.

use crate::args::DataArgs;
use crate::progress::Bars;
use anyhow::{Context, Result};
use deltarnn::audio::{FeatureConfig, Normalizer};
use deltarnn::data::{load_dataset, Dataset, LabelMap, LoadOptions};
use deltarnn::Protocol;
use std::path::Path;

/// The front end a model was trained with (to evaluate it on the same features).
pub struct FrontEnd<'a> {
    /// Feature configuration.
    pub feature_config: &'a FeatureConfig,
    /// Normalisation statistics.
    pub normalizer: &'a Normalizer,
    /// Label map.
    pub labels: &'a LabelMap,
    /// Frame labels and normalisation of the model's protocol.
    pub protocol: Protocol,
}

/// Loads (and caches) a dataset with progress bars on stderr; reports skipped files on stderr.
pub fn load(dir: &Path, args: &DataArgs, front_end: Option<FrontEnd<'_>>, quiet: bool) -> Result<Dataset> {
    let mut options = args.options(dir);
    if let Some(f) = front_end {
        options.feature_config = f.feature_config.clone();
        options.normalizer = Some(f.normalizer.clone());
        options.labels = Some(f.labels.clone());
        options.protocol = f.protocol;
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
