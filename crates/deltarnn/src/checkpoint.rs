//! Model checkpoints in safetensors with PyTorch's tensor names and layouts, so `nn.LSTM` /
//! `nn.GRU` plus `nn.Linear` load them as they are (`rnn.*` and `fc.*`).
//!
//! Tensors: `rnn.weight_ih_l{k}` (G*H, F_k), `rnn.weight_hh_l{k}` (G*H, H), `rnn.bias_ih_l{k}`,
//! `rnn.bias_hh_l{k}` (G*H), `fc.weight` (C, H), `fc.bias` (C), all F32 row-major in PyTorch's gate
//! order (G = 4: i, f, g, o; G = 3: r, z, n). Metadata: `format`, `cell`, `layers`, `hidden`,
//! `features`, `classes`, `theta_x`, `theta_h`, plus any extra keys the caller stores (feature
//! configuration, label map ...). Files are untrusted: every shape and dtype is checked against
//! the metadata before anything is allocated from it, and unknown or missing tensors are named.

use crate::files::write_atomic;
use crate::kernels::{ColMajor, Real};
use crate::nn::init::internal_gate;
use crate::nn::{CellKind, Model, ModelConfig, Params};
use crate::tensorfile::{self, NamedTensor};
use crate::{Error, Result, Thresholds};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The value of the `format` metadata key.
pub const FORMAT: &str = "deltarnn-1";
const RESERVED: [&str; 8] = ["format", "cell", "layers", "hidden", "features", "classes", "theta_x", "theta_h"];

/// Names of the tensors of layer `k`, in the order weight_ih, weight_hh, bias_ih, bias_hh.
pub fn layer_tensor_names(k: usize) -> [String; 4] {
    [
        format!("rnn.weight_ih_l{k}"),
        format!("rnn.weight_hh_l{k}"),
        format!("rnn.bias_ih_l{k}"),
        format!("rnn.bias_hh_l{k}"),
    ]
}

/// Every tensor of a model (or of its gradient) under its PyTorch name, in PyTorch's layout.
pub fn to_named_tensors<T: Real>(config: &ModelConfig, params: &Params<T>) -> Vec<NamedTensor> {
    to_named_values(config, params)
        .into_iter()
        .map(|(name, shape, values)| (name, shape, values.iter().map(|&v| v as f32).collect()))
        .collect()
}

/// [`to_named_tensors`] at full precision: name, shape and the values as f64.
pub fn to_named_values<T: Real>(config: &ModelConfig, params: &Params<T>) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    let mut out = Vec::new();
    for (k, layer) in params.layers.iter().enumerate() {
        let [wih, whh, bih, bhh] = layer_tensor_names(k);
        let rows = layer.w_x.rows;
        out.push((wih, vec![rows, layer.n_input], export_matrix(config.cell, true, &layer.w_x)));
        out.push((whh, vec![rows, layer.n_hidden], export_matrix(config.cell, false, &layer.w_h)));
        out.push((bih, vec![rows], export_vector(config.cell, true, &layer.b_x)));
        out.push((bhh, vec![rows], export_vector(config.cell, false, &layer.b_h)));
    }
    let head = &params.head;
    out.push((
        "fc.weight".into(),
        vec![head.w.rows, head.w.cols],
        head.w.to_row_major().iter().map(|v| v.to_f64()).collect(),
    ));
    out.push(("fc.bias".into(), vec![head.b.len()], head.b.iter().map(|v| v.to_f64()).collect()));
    out
}

/// The metadata entries describing `config`.
pub fn config_metadata(config: &ModelConfig) -> HashMap<String, String> {
    HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("cell".to_string(), config.cell.name().to_string()),
        ("layers".to_string(), config.n_layers.to_string()),
        ("hidden".to_string(), config.n_hidden.to_string()),
        ("features".to_string(), config.n_features.to_string()),
        ("classes".to_string(), config.n_classes.to_string()),
        ("theta_x".to_string(), config.thresholds.input.to_string()),
        ("theta_h".to_string(), config.thresholds.hidden.to_string()),
    ])
}

/// Serialises a model and extra metadata to safetensors bytes.
pub fn to_bytes<T: Real>(model: &Model<T>, extra: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut metadata = config_metadata(&model.config);
    for (k, v) in extra {
        if RESERVED.contains(&k.as_str()) {
            return Err(Error::Invalid(format!("metadata key '{k}' is reserved for the model configuration")));
        }
        metadata.insert(k.clone(), v.clone());
    }
    tensorfile::to_bytes(&to_named_tensors(&model.config, &model.params), Some(metadata))
}

/// Writes a checkpoint atomically (temporary file, then rename).
pub fn save<T: Real>(path: &Path, model: &Model<T>, extra: &BTreeMap<String, String>) -> Result<()> {
    write_atomic(path, &to_bytes(model, extra)?)
}

/// Reads a checkpoint: the model and the extra (non-configuration) metadata.
pub fn load(path: &Path) -> Result<(Model<f32>, BTreeMap<String, String>)> {
    let bytes = tensorfile::read_bytes(path)?;
    from_bytes(path, &bytes)
}

/// Parses checkpoint bytes; `path` only names the file in errors.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<(Model<f32>, BTreeMap<String, String>)> {
    let bad = |reason: String| Error::Checkpoint { path: path.to_path_buf(), reason };
    let st = tensorfile::parse(path, bytes).map_err(as_checkpoint_error)?;
    let metadata = st.metadata();
    let config = parse_config(&metadata).map_err(bad)?;

    let mut expected: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let rows = config.cell.gates() * config.n_hidden;
    for k in 0..config.n_layers {
        let [wih, whh, bih, bhh] = layer_tensor_names(k);
        expected.insert(wih, vec![rows, config.layer_input(k)]);
        expected.insert(whh, vec![rows, config.n_hidden]);
        expected.insert(bih, vec![rows]);
        expected.insert(bhh, vec![rows]);
    }
    expected.insert("fc.weight".into(), vec![config.n_classes, config.n_hidden]);
    expected.insert("fc.bias".into(), vec![config.n_classes]);
    let describe = format!(
        "{} layers of {} {}, {} features, {} classes",
        config.n_layers, config.cell, config.n_hidden, config.n_features, config.n_classes
    );

    let unknown: Vec<String> = st.names().into_iter().filter(|n| !expected.contains_key(n)).collect();
    if !unknown.is_empty() {
        return Err(bad(format!("unknown tensor(s) {} for a model of {describe}", unknown.join(", "))));
    }
    let mut tensors: HashMap<String, Vec<f64>> = HashMap::new();
    for (name, shape) in &expected {
        let view =
            st.tensor(name).ok_or_else(|| bad(format!("missing tensor '{name}' (a model of {describe} needs it)")))?;
        if view.shape() != shape.as_slice() {
            return Err(bad(format!(
                "tensor '{name}' has shape {:?}, a model of {describe} needs {shape:?}",
                view.shape()
            )));
        }
        let values = tensorfile::floats(path, name, &view).map_err(as_checkpoint_error)?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("tensor '{name}' has a non-finite value ({}) at flat index {i}", values[i])));
        }
        tensors.insert(name.clone(), values);
    }

    let params = from_pytorch_tensors(&config, &tensors);
    let extra = metadata.into_iter().filter(|(k, _)| !RESERVED.contains(&k.as_str())).collect();
    Ok((Model { config, params }, extra))
}

/// A tensor-file error met while reading a checkpoint (or a run's state) is a checkpoint error:
/// same file, same reason.
pub(crate) fn as_checkpoint_error(e: Error) -> Error {
    match e {
        Error::TensorFile { path, reason } => Error::Checkpoint { path, reason },
        other => other,
    }
}

/// Builds parameters from tensors in PyTorch's names and layout (as [`to_named_tensors`] writes
/// them). Every tensor of `config` must be present with its shape ([`from_bytes`] checks this).
#[track_caller]
pub fn from_pytorch_tensors<T: Real>(config: &ModelConfig, tensors: &HashMap<String, Vec<f64>>) -> Params<T> {
    let rows = config.cell.gates() * config.n_hidden;
    let mut params = Params::<T>::zeros(config);
    for (k, layer) in params.layers.iter_mut().enumerate() {
        let [wih, whh, bih, bhh] = layer_tensor_names(k);
        layer.w_x = import_matrix(config.cell, true, rows, config.layer_input(k), &tensors[&wih]);
        layer.w_h = import_matrix(config.cell, false, rows, config.n_hidden, &tensors[&whh]);
        layer.b_x = import_vector(config.cell, true, &tensors[&bih]);
        layer.b_h = import_vector(config.cell, false, &tensors[&bhh]);
    }
    let fc: Vec<T> = tensors["fc.weight"].iter().map(|&v| T::from_f64(v)).collect();
    params.head.w = ColMajor::from_row_major(config.n_classes, config.n_hidden, &fc);
    params.head.b = tensors["fc.bias"].iter().map(|&v| T::from_f64(v)).collect();
    params
}

/// Reads and validates the model configuration from checkpoint metadata.
pub fn parse_config(metadata: &HashMap<String, String>) -> std::result::Result<ModelConfig, String> {
    let get = |key: &str| metadata.get(key).ok_or_else(|| format!("metadata has no '{key}' entry"));
    let count = |key: &str| -> std::result::Result<usize, String> {
        let v = get(key)?;
        v.parse().map_err(|_| format!("metadata '{key}' = '{v}' is not a whole number"))
    };
    let real = |key: &str| -> std::result::Result<f64, String> {
        let v = get(key)?;
        v.parse().map_err(|_| format!("metadata '{key}' = '{v}' is not a number"))
    };
    if let Some(format) = metadata.get("format") {
        if format != FORMAT {
            return Err(format!("format '{format}' is not supported (expected '{FORMAT}')"));
        }
    }
    let cell: CellKind = get("cell")?.parse().map_err(|e: Error| e.to_string())?;
    let config = ModelConfig {
        cell,
        n_features: count("features")?,
        n_layers: count("layers")?,
        n_hidden: count("hidden")?,
        n_classes: count("classes")?,
        thresholds: Thresholds { input: real("theta_x")?, hidden: real("theta_h")? },
    };
    config.validate().map_err(|e| format!("metadata: {e}"))?;
    Ok(config)
}

/// PyTorch row `r` of a (G*H)-row weight -> our internal row.
fn internal_row(cell: CellKind, input_side: bool, h: usize, r: usize) -> usize {
    internal_gate(cell, input_side, r / h) * h + r % h
}

fn export_matrix<T: Real>(cell: CellKind, input_side: bool, w: &ColMajor<T>) -> Vec<f64> {
    let h = w.rows / cell.gates();
    let mut out = Vec::with_capacity(w.rows * w.cols);
    for r in 0..w.rows {
        let ir = internal_row(cell, input_side, h, r);
        out.extend((0..w.cols).map(|c| w.get(ir, c).to_f64()));
    }
    out
}

fn export_vector<T: Real>(cell: CellKind, input_side: bool, b: &[T]) -> Vec<f64> {
    let h = b.len() / cell.gates();
    (0..b.len()).map(|r| b[internal_row(cell, input_side, h, r)].to_f64()).collect()
}

fn import_matrix<T: Real>(
    cell: CellKind,
    input_side: bool,
    rows: usize,
    cols: usize,
    row_major: &[f64],
) -> ColMajor<T> {
    let h = rows / cell.gates();
    let mut w = ColMajor::zeros(rows, cols);
    for r in 0..rows {
        let ir = internal_row(cell, input_side, h, r);
        for c in 0..cols {
            w.data[c * rows + ir] = T::from_f64(row_major[r * cols + c]);
        }
    }
    w
}

fn import_vector<T: Real>(cell: CellKind, input_side: bool, values: &[f64]) -> Vec<T> {
    let h = values.len() / cell.gates();
    let mut out = vec![T::ZERO; values.len()];
    for (r, &v) in values.iter().enumerate() {
        out[internal_row(cell, input_side, h, r)] = T::from_f64(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init_params;

    fn config(cell: CellKind) -> ModelConfig {
        ModelConfig {
            cell,
            n_features: 3,
            n_layers: 2,
            n_hidden: 4,
            n_classes: 5,
            thresholds: Thresholds { input: 0.1, hidden: 0.2 },
        }
    }

    #[test]
    fn round_trip_is_exact_for_both_cells() {
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let model = init_params::<f32>(&config(cell), 3).unwrap();
            let extra = BTreeMap::from([("labels".to_string(), "[\"a\"]".to_string())]);
            let bytes = to_bytes(&model, &extra).unwrap();
            let (back, extra_back) = from_bytes(Path::new("m.safetensors"), &bytes).unwrap();
            assert_eq!(back, model);
            assert_eq!(extra_back, extra);
        }
    }

    #[test]
    fn gru_rows_are_exported_in_pytorch_order() {
        let mut model = init_params::<f32>(&config(CellKind::Gru), 3).unwrap();
        // Internal input rows are n, r, z: mark the internal n block (rows 0..4) of column 0.
        for r in 0..4 {
            model.params.layers[0].w_x.data[r] = 100.0 + r as f32;
        }
        let tensors = to_named_tensors(&model.config, &model.params);
        let (_, shape, wih) = &tensors[0];
        assert_eq!(shape, &vec![12, 3]);
        // PyTorch order r, z, n: the n block is rows 8..12.
        for r in 0..4 {
            assert_eq!(wih[(8 + r) * 3], 100.0 + r as f32);
        }
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let model = init_params::<f32>(&config(CellKind::Lstm), 3).unwrap();
        let path = Path::new("bad.safetensors");
        let err = |bytes: &[u8]| from_bytes(path, bytes).unwrap_err().to_string();

        assert!(err(b"garbage").contains("not a valid safetensors file"));

        let mut tensors = to_named_tensors(&model.config, &model.params);
        tensors.retain(|(n, _, _)| n != "rnn.bias_hh_l1");
        let bytes = tensorfile::to_bytes(&tensors, Some(config_metadata(&model.config))).unwrap();
        assert!(err(&bytes).contains("missing tensor 'rnn.bias_hh_l1'"), "{}", err(&bytes));

        let mut tensors = to_named_tensors(&model.config, &model.params);
        tensors[0] = ("rnn.weight_ih_l0".into(), vec![16, 2], vec![0.0; 32]);
        let bytes = tensorfile::to_bytes(&tensors, Some(config_metadata(&model.config))).unwrap();
        assert!(err(&bytes).contains("'rnn.weight_ih_l0' has shape [16, 2]"), "{}", err(&bytes));

        let mut tensors = to_named_tensors(&model.config, &model.params);
        tensors.push(("extra.weight".into(), vec![1], vec![0.0]));
        let bytes = tensorfile::to_bytes(&tensors, Some(config_metadata(&model.config))).unwrap();
        assert!(err(&bytes).contains("unknown tensor(s) extra.weight"), "{}", err(&bytes));

        let mut tensors = to_named_tensors(&model.config, &model.params);
        tensors[5].2[1] = f32::NAN;
        let bytes = tensorfile::to_bytes(&tensors, Some(config_metadata(&model.config))).unwrap();
        assert!(err(&bytes).contains("non-finite"), "{}", err(&bytes));

        let mut meta = config_metadata(&model.config);
        meta.insert("hidden".into(), "100000000".into());
        let bytes = tensorfile::to_bytes(&to_named_tensors(&model.config, &model.params), Some(meta)).unwrap();
        assert!(err(&bytes).contains("hidden must be between"), "{}", err(&bytes));

        let mut meta = config_metadata(&model.config);
        meta.remove("cell");
        let bytes = tensorfile::to_bytes(&to_named_tensors(&model.config, &model.params), Some(meta)).unwrap();
        assert!(err(&bytes).contains("no 'cell' entry"), "{}", err(&bytes));
    }
}
