//! The run directory: `model.safetensors` (best model), `state.safetensors` (everything needed to
//! resume exactly), `history.csv`, `metrics.json`, and a lock that keeps two processes apart.
//! Every file is written to a temporary name and renamed, so a killed run never leaves a torn file.

use super::optim::{AdamW, Plateau};
use super::{EpochRecord, TrainConfig, TrainState};
use crate::checkpoint::{self, as_checkpoint_error};
use crate::files::{write_atomic, DirLock};
use crate::nn::{Model, ModelConfig, Params};
use crate::tensorfile::{self, NamedTensor};
use crate::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File names inside a run directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// The resumable state.
pub const STATE_FILE: &str = "state.safetensors";
/// Per-epoch history.
pub const HISTORY_FILE: &str = "history.csv";
/// Final metrics.
pub const METRICS_FILE: &str = "metrics.json";

/// An open run directory, locked for this process until dropped.
#[derive(Debug)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
    _lock: DirLock,
}

impl RunDir {
    /// Opens (creating it if needed) and locks `dir` ([`DirLock`]). Fails with an "in use" error
    /// when another live process holds the lock; a lock left by a killed process is taken over.
    pub fn open(dir: &Path) -> Result<Self> {
        let lock = DirLock::acquire(dir)?;
        Ok(RunDir { dir: dir.to_path_buf(), _lock: lock })
    }

    /// Path of a file in the run.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// True when a resumable state exists.
    pub fn has_state(&self) -> bool {
        self.path(STATE_FILE).exists()
    }

    /// Saves the best model with its extra metadata (feature configuration, labels ...).
    pub fn save_model(&self, model: &Model<f32>, extra: &BTreeMap<String, String>) -> Result<()> {
        checkpoint::save(&self.path(MODEL_FILE), model, extra)
    }

    /// Saves the current parameters, the optimiser and the schedule, and rewrites history.csv.
    pub fn save_state(&self, model: &Model<f32>, state: &TrainState, config: &TrainConfig) -> Result<()> {
        let mut tensors: Vec<NamedTensor> = Vec::new();
        for (prefix, params) in
            [("param", &model.params), ("adam_m", &state.optimizer.m), ("adam_v", &state.optimizer.v)]
        {
            for (i, s) in params.slices().iter().enumerate() {
                tensors.push((format!("{prefix}.{i}"), vec![s.len()], s.to_vec()));
            }
        }
        let meta = serde_json::json!({
            "model_config": model.config,
            "train_config": config,
            "epochs_done": state.epochs_done,
            "optimizer_steps": state.optimizer.steps,
            "learning_rate": state.learning_rate,
            "plateau": state.plateau,
            "best_valid_accuracy": state.best_valid_accuracy,
            "best_epoch": state.best_epoch,
            "history": state.history,
        });
        let metadata = HashMap::from([("state".to_string(), meta.to_string())]);
        tensorfile::write(&self.path(STATE_FILE), &tensors, Some(metadata))?;
        write_atomic(&self.path(HISTORY_FILE), history_csv(&state.history).as_bytes())
    }

    /// Loads the state saved by [`RunDir::save_state`]: the current model, the state and the
    /// training configuration it was started with.
    pub fn load_state(&self) -> Result<(Model<f32>, TrainState, TrainConfig)> {
        let path = self.path(STATE_FILE);
        state_from_bytes(&path, &tensorfile::read_bytes(&path)?)
    }

    /// Writes metrics.json.
    pub fn save_metrics(&self, metrics: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(metrics).map_err(|e| Error::Invalid(e.to_string()))?;
        write_atomic(&self.path(METRICS_FILE), text.as_bytes())
    }
}

/// Parses the bytes of a `state.safetensors` ([`RunDir::load_state`]); `path` only names the file
/// in errors.
pub fn state_from_bytes(path: &Path, bytes: &[u8]) -> Result<(Model<f32>, TrainState, TrainConfig)> {
    let path = path.to_path_buf();
    let bad = |reason: String| Error::Checkpoint { path: path.clone(), reason };
    let st = tensorfile::parse(&path, bytes).map_err(as_checkpoint_error)?;
    let metadata = st.metadata();
    let text = metadata.get("state").ok_or_else(|| bad("no 'state' metadata".into()))?;
    let meta: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("state metadata is not JSON ({e})")))?;
    let field = |name: &str| meta.get(name).cloned().ok_or_else(|| bad(format!("state metadata has no '{name}'")));
    let model_config: ModelConfig =
        serde_json::from_value(field("model_config")?).map_err(|e| bad(format!("model_config: {e}")))?;
    model_config.validate().map_err(|e| bad(e.to_string()))?;
    // Parameters and two optimiser moments, 4 bytes each, must all be in the file: a header
    // claiming a huge model is refused before anything is allocated for it.
    let needed = (model_config.n_params() as u64).saturating_mul(3 * 4);
    if needed > bytes.len() as u64 {
        return Err(bad(format!(
            "the model configuration needs {needed} bytes of tensors, the file has {}",
            bytes.len()
        )));
    }
    let config: TrainConfig =
        serde_json::from_value(field("train_config")?).map_err(|e| bad(format!("train_config: {e}")))?;
    let history: Vec<EpochRecord> =
        serde_json::from_value(field("history")?).map_err(|e| bad(format!("history: {e}")))?;
    let plateau: Plateau = serde_json::from_value(field("plateau")?).map_err(|e| bad(format!("plateau: {e}")))?;
    let number =
        |name: &str| -> Result<f64> { field(name)?.as_f64().ok_or_else(|| bad(format!("'{name}' is not a number"))) };

    let mut loaded = Vec::new();
    for prefix in ["param", "adam_m", "adam_v"] {
        let mut params = Params::<f32>::zeros(&model_config);
        for (i, s) in params.slices_mut().into_iter().enumerate() {
            let name = format!("{prefix}.{i}");
            let view = st.tensor(&name).ok_or_else(|| bad(format!("missing tensor '{name}'")))?;
            if view.shape() != [s.len()] {
                return Err(bad(format!("tensor '{name}' has shape {:?}, expected [{}]", view.shape(), s.len())));
            }
            let values = tensorfile::floats(&path, &name, &view).map_err(as_checkpoint_error)?;
            for (d, v) in s.iter_mut().zip(values) {
                *d = v as f32;
            }
        }
        loaded.push(params);
    }
    let v = loaded.pop().expect("three");
    let m = loaded.pop().expect("three");
    let params = loaded.pop().expect("three");
    for (what, p) in [("parameters", &params), ("first Adam moments", &m), ("second Adam moments", &v)] {
        if !p.all_finite() {
            return Err(bad(format!("the saved {what} are not finite")));
        }
    }
    let mut optimizer = AdamW::new(&model_config, config.weight_decay);
    optimizer.m = m;
    optimizer.v = v;
    optimizer.steps = number("optimizer_steps")? as u64;
    let state = TrainState {
        epochs_done: number("epochs_done")? as usize,
        optimizer,
        learning_rate: number("learning_rate")?,
        plateau,
        best_valid_accuracy: meta.get("best_valid_accuracy").and_then(|v| v.as_f64()).unwrap_or(f64::NEG_INFINITY),
        best_epoch: number("best_epoch")? as usize,
        history,
    };
    Ok((Model { config: model_config, params }, state, config))
}

/// history.csv: one row per epoch.
pub fn history_csv(history: &[EpochRecord]) -> String {
    let mut out = String::from(
        "epoch,mode,train_loss,train_accuracy,valid_loss,valid_accuracy,learning_rate,sparsity_delta_x,sparsity_delta_h,sparsity_overall,ops_dense,ops_actual,ops_reduction,train_seconds,ops_executed\n",
    );
    for r in history {
        let reduction = if r.ops_dense == 0 { 0.0 } else { 1.0 - r.ops_actual as f64 / r.ops_dense as f64 };
        out.push_str(&format!(
            "{},{},{:.6},{:.6},{:.6},{:.6},{:.3e},{:.6},{:.6},{:.6},{},{},{:.6},{:.3},{}\n",
            r.epoch,
            r.mode,
            r.train_loss,
            r.train_accuracy,
            r.valid_loss,
            r.valid_accuracy,
            r.learning_rate,
            r.sparsity.delta_x,
            r.sparsity.delta_h,
            r.sparsity.overall,
            r.ops_dense,
            r.ops_actual,
            reduction,
            r.train_seconds,
            r.ops_executed
        ));
    }
    out
}
