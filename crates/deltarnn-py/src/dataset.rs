//! `deltarnn.load_dataset`: any layout the CLI reads (audio folders, featurised and cached as
//! the CLI does; or a `sequences` folder), as NumPy sequences with frame labels.

use crate::arrays::matrix;
use crate::error::library;
use deltarnn::data::{load_dataset, Dataset, Example, LoadOptions, Split};
use deltarnn::Protocol;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::path::PathBuf;

/// A loaded dataset: per split the sequences (features as computed, not normalised) and their
/// frame labels (your classes 0..n_classes-1, -1 for background / silence), the class names
/// and the front end a model must keep: the feature configuration and the normaliser fitted on
/// the training split (`Model.from_dataset`), which the model applies to every input.
#[pyclass(name = "Dataset", module = "deltarnn")]
pub struct PyDataset {
    pub(crate) inner: Dataset,
}

/// The frames of `examples` and their frame labels in the Python convention.
fn split_lists<'py>(py: Python<'py>, examples: &[Example], n_features: usize) -> PyResult<Bound<'py, PyAny>> {
    let sequences = PyList::empty(py);
    let labels = PyList::empty(py);
    for e in examples {
        sequences.append(matrix(py, e.n_frames, n_features, e.frames.clone()))?;
        let frame_labels: Vec<i64> = e.frame_labels.iter().map(|&l| l - 1).collect();
        labels.append(frame_labels.into_pyarray(py))?;
    }
    Ok((sequences, labels).into_pyobject(py)?.into_any())
}

#[pymethods]
impl PyDataset {
    /// (sequences, frame labels) of the training split.
    #[getter]
    fn train<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        split_lists(py, &self.inner.train.examples, self.inner.n_features())
    }

    /// (sequences, frame labels) of the validation split.
    #[getter]
    fn valid<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        split_lists(py, &self.inner.valid.examples, self.inner.n_features())
    }

    /// (sequences, frame labels) of the test split (empty when the dataset has none).
    #[getter]
    fn test<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        split_lists(py, &self.inner.test.examples, self.inner.n_features())
    }

    /// The class of every sequence of `split` ("train", "valid" or "test"), an int64 array.
    fn sequence_labels<'py>(&self, py: Python<'py>, split: &str) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
        let split = match split {
            "train" => Split::Train,
            "valid" => Split::Valid,
            "test" => Split::Test,
            other => return Err(crate::error::invalid(format!("split {other:?}: expected train, valid or test"))),
        };
        let labels: Vec<i64> = self.inner.split(split).examples.iter().map(|e| e.label as i64 - 1).collect();
        Ok(labels.into_pyarray(py))
    }

    /// Features per frame.
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// Class names (without background / silence).
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.inner.labels.names[1..].to_vec()
    }

    /// The layout detected ("keyword-csv", "sequences", ...).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.name()
    }

    /// Whose normalisation and frame labels were used ("authors" or "ours").
    #[getter]
    fn protocol(&self) -> String {
        self.inner.protocol.name().to_string()
    }

    fn __repr__(&self) -> String {
        let d = &self.inner;
        format!(
            "deltarnn.Dataset(kind={:?}, classes={}, n_features={}, train={}, valid={}, test={})",
            d.kind.name(),
            d.n_classes() - 1,
            d.n_features(),
            d.train.examples.len(),
            d.valid.examples.len(),
            d.test.examples.len()
        )
    }
}

/// Loads a dataset folder as the CLI does: the layout detected, audio featurised (cached in
/// `cache_dir`, default `DIR/.deltarnn-cache`), the normaliser fitted on the training split under
/// `protocol` ("authors", the CLI's default, or "ours") and kept with the dataset, the frames left
/// as computed. The GIL is released meanwhile.
#[pyfunction]
#[pyo3(name = "load_dataset", signature = (path, *, protocol = "authors", cache_dir = None))]
pub fn load(py: Python<'_>, path: PathBuf, protocol: &str, cache_dir: Option<PathBuf>) -> PyResult<PyDataset> {
    let protocol: Protocol = protocol.parse().map_err(library)?;
    let options = LoadOptions {
        cache_dir: Some(cache_dir.unwrap_or_else(|| LoadOptions::default_cache_dir(&path))),
        protocol,
        raw_frames: true,
        ..LoadOptions::default()
    };
    let inner = py.detach(|| load_dataset(&path, &options, |_| {})).map_err(library)?;
    Ok(PyDataset { inner })
}

/// Writes `sequences` and `labels` (as `Model.fit` takes them) as one split file of the
/// `sequences` layout (`DIR/train.safetensors`, `valid`, `test`), which `load_dataset`, `train`
/// and the CLI read; `classes` names the classes (stored in the file). Whole or not at all.
#[pyfunction]
#[pyo3(signature = (path, sequences, labels, *, classes = None))]
pub fn save_sequences(
    path: PathBuf,
    sequences: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    classes: Option<Vec<String>>,
) -> PyResult<()> {
    let first = sequences.try_iter()?.next().transpose()?;
    let n_features = match &first {
        Some(a) => a.getattr("shape")?.extract::<Vec<usize>>()?.get(1).copied().unwrap_or(0),
        None => return Err(crate::error::invalid("sequences: empty; a split needs at least one sequence")),
    };
    let mut file = crate::arrays::sequence_file(sequences, labels, n_features, classes.as_ref().map(Vec::len))?;
    file.classes = classes;
    file.write(&path).map_err(library)
}
