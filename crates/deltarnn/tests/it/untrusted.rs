//! Untrusted checkpoints: every tensor's dtype, shape and count is checked against the metadata,
//! absurd sizes are refused before anything is allocated for them, and unknown or missing
//! tensors are named.
use std::collections::HashMap;
use std::path::Path;

use deltarnn::checkpoint::{self, config_metadata, to_named_tensors};
use deltarnn::nn::CellKind;
use deltarnn::tensorfile::{self, MAX_HEADER_BYTES};
use deltarnn::train::run::state_from_bytes;
use safetensors::tensor::{Dtype, TensorView};

use super::small_model;

fn path() -> &'static Path {
    Path::new("model.safetensors")
}

fn err(bytes: &[u8]) -> String {
    let message = checkpoint::from_bytes(path(), bytes).unwrap_err().to_string();
    assert!(message.starts_with("model.safetensors: "), "{message}");
    message
}

/// A safetensors file from raw parts: (name, dtype, shape, bytes) and metadata.
fn raw(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)], metadata: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> =
        tensors.iter().map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, &Some(metadata)).unwrap()
}

/// One tensor as raw parts: name, dtype, shape, bytes.
type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

/// The tensors of a small model as raw parts, to edit one.
fn parts() -> (Vec<Raw>, HashMap<String, String>) {
    let model = small_model::<f32>(CellKind::Lstm, 2, 3, 4, 5, 1);
    let tensors = to_named_tensors(&model.config, &model.params)
        .into_iter()
        .map(|(n, s, v)| (n, Dtype::F32, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    (tensors, config_metadata(&model.config))
}

fn build(tensors: &[Raw], metadata: HashMap<String, String>) -> Vec<u8> {
    let borrowed: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> =
        tensors.iter().map(|(n, d, s, b)| (n.as_str(), *d, s.clone(), b.clone())).collect();
    raw(&borrowed, metadata)
}

#[test]
fn a_valid_checkpoint_loads() {
    let (tensors, meta) = parts();
    checkpoint::from_bytes(path(), &build(&tensors, meta)).unwrap();
}

#[test]
fn wrong_dtype_is_named() {
    let (mut tensors, meta) = parts();
    let i = tensors.iter().position(|t| t.0 == "fc.bias").unwrap();
    tensors[i].1 = Dtype::I32;
    let message = err(&build(&tensors, meta));
    assert!(message.contains("tensor 'fc.bias' has dtype I32, expected F32 or F64"), "{message}");
}

#[test]
fn wrong_shape_is_named_with_the_expected_shape() {
    let (mut tensors, meta) = parts();
    let i = tensors.iter().position(|t| t.0 == "rnn.weight_hh_l1").unwrap();
    tensors[i].2 = vec![4, 16]; // same count (64), transposed
    let message = err(&build(&tensors, meta));
    assert!(message.contains("tensor 'rnn.weight_hh_l1' has shape [4, 16]"), "{message}");
    assert!(message.contains("needs [16, 4]"), "{message}");
}

#[test]
fn missing_and_unknown_tensors_are_named() {
    let (tensors, meta) = parts();
    let fewer: Vec<_> = tensors.iter().filter(|t| t.0 != "rnn.bias_ih_l1").cloned().collect();
    assert!(err(&build(&fewer, meta.clone())).contains("missing tensor 'rnn.bias_ih_l1'"));
    let mut more = tensors.clone();
    more.push(("rnn.weight_ih_l2".into(), Dtype::F32, vec![1], vec![0; 4]));
    more.push(("lm_head.weight".into(), Dtype::F32, vec![1], vec![0; 4]));
    let message = err(&build(&more, meta.clone()));
    assert!(message.contains("unknown tensor(s) lm_head.weight, rnn.weight_ih_l2"), "{message}");
    // The count follows the metadata: a model that says 1 layer has no layer-1 tensors.
    let mut one_layer = meta;
    one_layer.insert("layers".into(), "1".into());
    let message = err(&build(&tensors, one_layer));
    assert!(message.contains("unknown tensor(s) rnn.bias_hh_l1"), "{message}");
}

#[test]
fn non_finite_weights_are_named() {
    let (mut tensors, meta) = parts();
    let i = tensors.iter().position(|t| t.0 == "rnn.weight_ih_l0").unwrap();
    tensors[i].3[8..12].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let message = err(&build(&tensors, meta));
    assert!(message.contains("tensor 'rnn.weight_ih_l0' has a non-finite value (inf) at flat index 2"), "{message}");
}

#[test]
fn a_huge_header_length_is_refused_before_reading_it() {
    // 8 bytes claiming a 1 TB header: refused from the length alone.
    let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}      ");
    let message = err(&bytes);
    assert!(message.contains(&format!("header claims {} bytes, the limit is {MAX_HEADER_BYTES}", 1u64 << 40)));
    // Within the limit but longer than the file.
    let mut bytes = 4096u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}      ");
    assert!(err(&bytes).contains("header claims 4096 bytes, the file has 16"));
    // The same through the file reader, which looks at the first 8 bytes before reading more.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.safetensors");
    std::fs::write(&file, (u64::MAX).to_le_bytes()).unwrap();
    let message = checkpoint::load(&file).unwrap_err().to_string();
    assert!(message.contains("huge.safetensors") && message.contains("header claims"), "{message}");
}

#[test]
fn huge_shapes_are_refused_before_allocation() {
    let (_, meta) = parts();
    // A header whose shape claims 2^62 elements over 8 bytes of data: safetensors' own check
    // (shape x dtype size == byte range, overflow-checked) refuses it, nothing is allocated.
    let header = r#"{"fc.bias":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#;
    let mut text = header.as_bytes().to_vec();
    text.resize(text.len().div_ceil(8) * 8, b' ');
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&text);
    bytes.extend_from_slice(&[0; 8]);
    assert!(err(&bytes).contains("not a valid safetensors file"));
    // Metadata asking for a model at the configuration limits, with small tensors: refused by the
    // shape check, and the loader allocates nothing larger than the file.
    let (tensors, _) = parts();
    let mut huge = meta.clone();
    huge.insert("hidden".into(), "16384".into());
    huge.insert("layers".into(), "64".into());
    let message = err(&build(&tensors, huge.clone()));
    assert!(message.contains("has shape") || message.contains("unknown tensor"), "{message}");
    // Beyond the limits: refused from the metadata.
    huge.insert("hidden".into(), "100000000".into());
    assert!(err(&build(&tensors, huge)).contains("hidden must be between 1 and 16384"));
}

#[test]
fn a_training_state_claiming_a_huge_model_is_refused_before_allocation() {
    // model_config at the limits (hidden 16384, 64 layers: ~1.4e11 parameters, 1.6 TB with the
    // optimiser moments) in a file of a few hundred bytes.
    let state = serde_json::json!({
        "model_config": {"cell": "lstm", "n_features": 16384, "n_layers": 64, "n_hidden": 16384,
                         "n_classes": 2, "thresholds": {"input": 0.1, "hidden": 0.1}},
    });
    let metadata = HashMap::from([("state".to_string(), state.to_string())]);
    let bytes = tensorfile::to_bytes(&[("param.0".into(), vec![1], vec![0.0])], Some(metadata)).unwrap();
    let message = state_from_bytes(Path::new("state.safetensors"), &bytes).unwrap_err().to_string();
    assert!(message.starts_with("state.safetensors: "), "{message}");
    assert!(
        message.contains("needs") && message.contains("bytes of tensors, the file has"),
        "refused before allocating: {message}"
    );
}
