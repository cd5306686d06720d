//! What a trained model carries besides its weights, so it can featurise new audio exactly as its
//! training data was: the feature configuration, the normalisation statistics and the label map,
//! stored as JSON strings in the checkpoint's metadata.

use crate::audio::{FeatureConfig, Normalizer};
use crate::data::LabelMap;
use crate::nn::Model;
use crate::{checkpoint, Error, Protocol, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// A model with its front end.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Weights and shape.
    pub model: Model<f32>,
    /// How audio was turned into frames.
    pub feature_config: FeatureConfig,
    /// Global mean/std from the training split.
    pub normalizer: Normalizer,
    /// Class names (index 0 is silence).
    pub labels: LabelMap,
    /// The protocol the model was trained under ([`crate::protocol`]); None for checkpoints
    /// written before protocols were recorded, which followed [`Protocol::LEGACY`].
    pub protocol: Option<Protocol>,
    /// Any other metadata stored with the model (training configuration, dataset kind ...).
    pub extra: BTreeMap<String, String>,
}

const FEATURES: &str = "feature_config";
const NORMALIZER: &str = "normalizer";
const LABELS: &str = "labels";
const PROTOCOL: &str = "protocol";

impl Bundle {
    /// The metadata entries to store with the model.
    pub fn metadata(&self) -> Result<BTreeMap<String, String>> {
        let json = |v: serde_json::Result<String>| v.map_err(|e| Error::Invalid(format!("serialising metadata: {e}")));
        let mut out = self.extra.clone();
        out.insert(FEATURES.into(), json(serde_json::to_string(&self.feature_config))?);
        out.insert(NORMALIZER.into(), json(serde_json::to_string(&self.normalizer))?);
        out.insert(LABELS.into(), json(serde_json::to_string(&self.labels))?);
        if let Some(protocol) = self.protocol {
            out.insert(PROTOCOL.into(), protocol.name().into());
        }
        Ok(out)
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        checkpoint::save(path, &self.model, &self.metadata()?)
    }

    /// Reads a checkpoint written by [`Bundle::save`] and checks that its front end matches the
    /// model (feature count, class count).
    pub fn load(path: &Path) -> Result<Bundle> {
        Self::from_bytes(path, &crate::tensorfile::read_bytes(path)?)
    }

    /// [`Bundle::load`] on bytes in memory; `path` only names the file in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Bundle> {
        let (model, mut extra) = checkpoint::from_bytes(path, bytes)?;
        let bad = |reason: String| Error::Checkpoint { path: path.to_path_buf(), reason };
        let mut take = |key: &str| {
            extra.remove(key).ok_or_else(|| {
                bad(format!(
                    "metadata has no '{key}' (a bare model from `deltarnn init` cannot featurise audio; train one)"
                ))
            })
        };
        let (features, normalizer, labels) = (take(FEATURES)?, take(NORMALIZER)?, take(LABELS)?);
        let feature_config: FeatureConfig =
            serde_json::from_str(&features).map_err(|e| bad(format!("metadata '{FEATURES}': {e}")))?;
        let normalizer: Normalizer =
            serde_json::from_str(&normalizer).map_err(|e| bad(format!("metadata '{NORMALIZER}': {e}")))?;
        let labels: LabelMap = serde_json::from_str(&labels).map_err(|e| bad(format!("metadata '{LABELS}': {e}")))?;
        let protocol = match extra.remove(PROTOCOL) {
            None => None,
            Some(name) => Some(name.parse::<Protocol>().map_err(|e| bad(format!("metadata '{PROTOCOL}': {e}")))?),
        };
        let n = model.config.n_features;
        if normalizer.mean.len() != n || normalizer.std.len() != n || feature_config.n_mels != n {
            return Err(bad(format!(
                "the model has {n} input features but its feature configuration has {} mel bands and its normaliser {}",
                feature_config.n_mels,
                normalizer.mean.len()
            )));
        }
        let finite = normalizer.mean.iter().all(|m| m.is_finite());
        if !finite || !normalizer.std.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(bad(format!(
                "metadata '{NORMALIZER}' holds a non-finite mean or a standard deviation that is not positive and finite"
            )));
        }
        if labels.names.len() != model.config.n_classes {
            return Err(bad(format!(
                "the model has {} classes but its label map names {}",
                model.config.n_classes,
                labels.names.len()
            )));
        }
        Ok(Bundle { model, feature_config, normalizer, labels, protocol, extra })
    }
}
