//! What PyTorch's autograd needs from a model (`deltarnn.torch` builds its Function on these):
//! a batch forward that keeps its tapes ([`PyTape`]), the backward of those tapes given
//! dL/dlogits (parameter gradients under PyTorch's names, dL/dx per sequence), weights set from
//! PyTorch tensors, and one sequence's loss and gradient. No normaliser is applied here: the
//! inputs are the network's own.

use crate::arrays::{matrix, sequence_list};
use crate::error::invalid;
use crate::model::PyModel;
use deltarnn::checkpoint::{from_pytorch_tensors, to_named_tensors};
use deltarnn::data::sequences::check_finite;
use deltarnn::nn::{Mode, Model, Params, SequenceTape};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;
use std::collections::HashMap;

/// The forward passes of a batch, kept for its backward: one tape and input per sequence, the
/// mode, and the weights' version they were computed with.
#[pyclass(name = "Tape", module = "deltarnn")]
pub struct PyTape {
    inputs: Vec<Vec<f32>>,
    tapes: Vec<SequenceTape<f32>>,
    mode: Mode,
    version: u64,
}

/// Gradients of every parameter as a dict of PyTorch-named float32 arrays.
fn named_grads<'py>(py: Python<'py>, model: &Model<f32>, grads: &Params<f32>) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (name, shape, values) in to_named_tensors(&model.config, grads) {
        out.set_item(name, PyArray1::from_vec(py, values).reshape(shape)?)?;
    }
    Ok(out)
}

#[pymethods]
impl PyTape {
    /// Sequences in the batch.
    fn __len__(&self) -> usize {
        self.tapes.len()
    }

    /// Per sequence, per layer: (delta_x fired, delta_h fired, steps) counts.
    fn fired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for tape in &self.tapes {
            let layers: Vec<(usize, usize, usize)> = tape
                .layers
                .iter()
                .map(|l| (l.trace.input.values.len(), l.trace.hidden.values.len(), tape.steps))
                .collect();
            out.append(layers)?;
        }
        Ok(out)
    }
}

impl PyModel {
    /// The network's mode: Delta at its thresholds, or dense.
    fn mode(&self, dense: bool) -> Mode {
        Mode::new(dense, self.bundle.model.config.thresholds)
    }
}

/// Runs `sequences` (a list of (frames, features) arrays, not normalised) through `model` in
/// parallel; returns the logits (one (frames, classes + 1) array each) and the tape.
#[pyfunction]
#[pyo3(signature = (model, sequences, *, dense = false))]
pub fn forward_batch<'py>(
    py: Python<'py>,
    model: &PyModel,
    sequences: &Bound<'py, PyAny>,
    dense: bool,
) -> PyResult<(Bound<'py, PyList>, PyTape)> {
    let inputs = sequence_list(sequences, model.bundle.model.config.n_features, "sequences")?;
    check_finite(&inputs, model.bundle.model.config.n_features).map_err(invalid)?;
    let (network, mode) = (&model.bundle.model, model.mode(dense));
    let tapes: Vec<SequenceTape<f32>> = py.detach(|| {
        inputs
            .par_iter()
            .map(|x| {
                let mut tape = SequenceTape::default();
                network.forward(x, mode, &mut tape);
                tape
            })
            .collect()
    });
    let logits = PyList::empty(py);
    let classes = network.config.n_classes;
    for tape in &tapes {
        logits.append(matrix(py, tape.steps, classes, tape.logits.clone()))?;
    }
    Ok((logits, PyTape { inputs, tapes, mode, version: model.version }))
}

/// The backward of `tape` given dL/dlogits per sequence (each (frames, classes + 1), float32):
/// the parameter gradients summed over the batch (PyTorch names; `l1_beta` adds the L1 penalty
/// on delta_h), and dL/dx per sequence. Sequences run in parallel and their gradients are
/// summed in order, so the result does not depend on the thread count.
#[pyfunction]
#[pyo3(signature = (model, tape, dlogits, *, l1_beta = 0.0))]
pub fn backward_batch<'py>(
    py: Python<'py>,
    model: &PyModel,
    tape: &PyTape,
    dlogits: Vec<PyReadonlyArray2<'py, f32>>,
    l1_beta: f64,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyList>)> {
    if tape.version != model.version {
        return Err(invalid("the model's weights changed since this forward pass; run it again"));
    }
    if dlogits.len() != tape.tapes.len() {
        return Err(invalid(format!("{} dlogits for a batch of {}", dlogits.len(), tape.tapes.len())));
    }
    let network = &model.bundle.model;
    let classes = network.config.n_classes;
    let mut upstream = Vec::with_capacity(dlogits.len());
    for (i, (d, t)) in dlogits.iter().zip(&tape.tapes).enumerate() {
        if d.shape() != [t.steps, classes] {
            return Err(invalid(format!("dlogits[{i}]: shape {:?}, expected ({}, {classes})", d.shape(), t.steps)));
        }
        upstream.push(d.as_array().iter().copied().collect::<Vec<f32>>());
    }
    let n_features = network.config.n_features;
    let beta = if tape.mode.thresholds().is_some() { l1_beta as f32 } else { 0.0 };
    let parts: Vec<(Params<f32>, Vec<f32>)> = py.detach(|| {
        (0..tape.tapes.len())
            .into_par_iter()
            .map(|i| {
                let mut grads = Params::zeros(&network.config);
                let mut dx = vec![0.0f32; tape.tapes[i].steps * n_features];
                network.backward(
                    &mut grads,
                    Some(&mut dx),
                    &tape.inputs[i],
                    &tape.tapes[i],
                    tape.mode,
                    &upstream[i],
                    beta,
                );
                (grads, dx)
            })
            .collect()
    });
    let mut total = Params::zeros(&network.config);
    let dxs = PyList::empty(py);
    for ((grads, dx), t) in parts.iter().zip(&tape.tapes) {
        total.add_assign(grads);
        dxs.append(matrix(py, t.steps, n_features, dx.clone()))?;
    }
    Ok((named_grads(py, network, &total)?, dxs))
}

/// Sets `model`'s weights from PyTorch-named arrays (`Model.weights()`'s names and shapes:
/// `nn.LSTM`/`nn.GRU` + `nn.Linear` state dicts with `rnn.` / `fc.` prefixes). Every tensor must
/// be given, with its shape and finite values.
pub fn set_weights(model: &mut PyModel, weights: &Bound<'_, PyDict>) -> PyResult<()> {
    let network = &model.bundle.model;
    let expected = to_named_tensors(&network.config, &network.params);
    let mut tensors: HashMap<String, Vec<f64>> = HashMap::new();
    for key in weights.keys() {
        let name: String = key.extract()?;
        if !expected.iter().any(|(n, _, _)| *n == name) {
            let names: Vec<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
            return Err(invalid(format!("unknown weight '{name}' (this model has {})", names.join(", "))));
        }
    }
    for (name, shape, _) in &expected {
        let value = weights.get_item(name)?.ok_or_else(|| invalid(format!("missing weight '{name}'")))?;
        let array = value
            .extract::<numpy::PyReadonlyArrayDyn<'_, f32>>()
            .map_err(|_| invalid(format!("weight '{name}': expected a float32 NumPy array")))?;
        if array.shape() != shape.as_slice() {
            return Err(invalid(format!("weight '{name}': shape {:?}, expected {shape:?}", array.shape())));
        }
        let values: Vec<f64> = array.as_array().iter().map(|&v| f64::from(v)).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!("weight '{name}' has a non-finite value at flat index {i}")));
        }
        tensors.insert(name.clone(), values);
    }
    model.bundle.model.params = from_pytorch_tensors(&network.config, &tensors);
    model.version += 1;
    Ok(())
}

/// One sequence's mean per-frame cross-entropy (frames labelled background count as class 0;
/// `labels` a class or an array of frame classes, -1 background) and its gradient under
/// PyTorch's names, after the model's normaliser: what one training step of `fit` sees.
pub fn loss_and_gradient<'py>(
    py: Python<'py>,
    model: &PyModel,
    sequence: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    dense: bool,
    l1_beta: f64,
) -> PyResult<(f64, Bound<'py, PyDict>)> {
    let (sequences, labels) = (PyList::new(py, [sequence])?, PyList::new(py, [labels])?);
    let example = model.examples_of(sequences.as_any(), labels.as_any())?.pop().expect("one sequence");
    let network = &model.bundle.model;
    let mode = model.mode(dense);
    let mut grads = Params::zeros(&network.config);
    let scale = 1.0 / example.n_frames as f64;
    let loss = py.detach(|| {
        let mut tape = SequenceTape::default();
        network.loss_and_gradient(&mut grads, &mut tape, &example.frames, &example.frame_labels, mode, scale, l1_beta)
    });
    let mean = loss.cross_entropy_sum / loss.frames.max(1) as f64 + loss.l1_penalty;
    Ok((mean, named_grads(py, network, &grads)?))
}
