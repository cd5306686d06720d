//! NumPy in and out: lists of (frames, features) arrays and their labels, checked and turned
//! into the library's sequences ([`deltarnn::data::sequences`], whose class conventions hold:
//! class k is the model's k + 1, frame label -1 is background).

use crate::error::invalid;
use deltarnn::data::sequences::{Sequence, SequenceFile, SequenceLabels};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// One sequence's frames from a 2-D float32 or float64 array of `n_features` columns (any
/// layout; copied row-major). `what` names it in errors ("sequences[3]").
pub fn frames(obj: &Bound<'_, PyAny>, n_features: usize, what: &str) -> PyResult<Vec<f32>> {
    let shape_of = |a: &Bound<'_, numpy::PyUntypedArray>| a.shape().to_vec();
    if let Ok(a) = obj.cast::<PyArray2<f32>>() {
        check_shape(&shape_of(a.as_untyped()), n_features, what)?;
        return Ok(a.readonly().as_array().iter().copied().collect());
    }
    if let Ok(a) = obj.cast::<PyArray2<f64>>() {
        check_shape(&shape_of(a.as_untyped()), n_features, what)?;
        return Ok(a.readonly().as_array().iter().map(|&v| v as f32).collect());
    }
    match obj.cast::<numpy::PyUntypedArray>() {
        Ok(a) => Err(invalid(format!(
            "{what}: a {}-D {} array of shape {:?}; expected a 2-D float32 (or float64) array of shape (frames, {n_features})",
            a.ndim(),
            a.dtype(),
            a.shape()
        ))),
        Err(_) => Err(invalid(format!(
            "{what}: a {} object; expected a NumPy array of shape (frames, {n_features})",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
        ))),
    }
}

fn check_shape(shape: &[usize], n_features: usize, what: &str) -> PyResult<()> {
    if shape[1] != n_features || shape[0] == 0 {
        return Err(invalid(format!(
            "{what}: shape {shape:?}; expected (frames, {n_features}) with at least one frame"
        )));
    }
    Ok(())
}

/// The sequences of a list (or tuple) of arrays.
pub fn sequence_list(obj: &Bound<'_, PyAny>, n_features: usize, what: &str) -> PyResult<Vec<Vec<f32>>> {
    let items = list_items(obj, what)?;
    items.iter().enumerate().map(|(i, item)| frames(item, n_features, &format!("{what}[{i}]"))).collect()
}

/// The items of a list or tuple (a single array is refused: a list of sequences is expected).
fn list_items<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if obj.cast::<numpy::PyUntypedArray>().is_ok() && what != "labels" {
        return Err(invalid(format!(
            "{what}: one array; expected a list of (frames, features) arrays, one per sequence"
        )));
    }
    obj.try_iter().map_err(|_| invalid(format!("{what}: expected a list")))?.collect::<PyResult<Vec<_>>>()
}

/// Labels: per sequence (a list or 1-D integer array of classes `0..`) or per frame (a list of
/// 1-D integer arrays, -1 for background), one for each of `lengths` (frames per sequence).
pub fn labels(obj: &Bound<'_, PyAny>, lengths: &[usize]) -> PyResult<Vec<SequenceLabels>> {
    let items = list_items(obj, "labels")?;
    if items.len() != lengths.len() {
        return Err(invalid(format!("labels: {} for {} sequences", items.len(), lengths.len())));
    }
    items
        .iter()
        .zip(lengths)
        .enumerate()
        .map(|(i, (item, &frames))| {
            if let Ok(v) = item.extract::<i64>() {
                return match usize::try_from(v) {
                    Ok(c) => Ok(SequenceLabels::Sequence(c)),
                    Err(_) => Err(invalid(format!("labels[{i}]: {v}; a sequence's class is 0, 1, ..."))),
                };
            }
            let per_frame: Vec<i64> = match item.extract::<PyReadonlyArray1<'_, i64>>() {
                Ok(a) => a.as_array().to_vec(),
                Err(_) => match item.extract::<PyReadonlyArray1<'_, i32>>() {
                    Ok(a) => a.as_array().iter().map(|&v| i64::from(v)).collect(),
                    Err(_) => item.extract::<Vec<i64>>().map_err(|_| {
                        invalid(format!("labels[{i}]: expected a class (int) or a 1-D integer array of frame labels"))
                    })?,
                },
            };
            if per_frame.len() != frames {
                return Err(invalid(format!("labels[{i}]: {} frame labels for {frames} frames", per_frame.len())));
            }
            let classes = per_frame
                .iter()
                .map(|&v| match v {
                    -1 => Ok(None),
                    v if v >= 0 => Ok(Some(v as usize)),
                    v => {
                        Err(invalid(format!("labels[{i}]: frame label {v}; classes are 0, 1, ... or -1 (background)")))
                    }
                })
                .collect::<PyResult<Vec<_>>>()?;
            Ok(SequenceLabels::Frames(classes))
        })
        .collect()
}

/// Sequences and labels as one checked [`SequenceFile`]; with `classes`, every label must be
/// below it.
pub fn sequence_file(
    sequences: &Bound<'_, PyAny>,
    labels_obj: &Bound<'_, PyAny>,
    n_features: usize,
    classes: Option<usize>,
) -> PyResult<SequenceFile> {
    let frames = sequence_list(sequences, n_features, "sequences")?;
    let lengths: Vec<usize> = frames.iter().map(|f| f.len() / n_features).collect();
    let labels = labels(labels_obj, &lengths)?;
    let file = SequenceFile {
        n_features,
        sequences: frames.into_iter().zip(labels).map(|(frames, labels)| Sequence { frames, labels }).collect(),
        classes: None,
    };
    file.check(classes).map_err(invalid)?;
    Ok(file)
}

/// A row-major (rows, columns) f32 matrix as a NumPy array.
pub fn matrix<'py>(py: Python<'py>, rows: usize, columns: usize, values: Vec<f32>) -> Bound<'py, PyArray2<f32>> {
    PyArray1::from_vec(py, values).reshape([rows, columns]).expect("rows x columns values")
}
