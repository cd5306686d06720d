//! `deltarnn.Model`: a Delta LSTM / GRU with its normaliser and class names (the CLI's
//! checkpoint, [`Bundle`]), trained and run on NumPy sequences.

use crate::arrays::{matrix, sequence_file, sequence_list};
use crate::error::{invalid, library};
use deltarnn::audio::{FeatureConfig, Normalizer};
use deltarnn::bundle::Bundle;
use deltarnn::data::sequences::check_finite;
use deltarnn::data::{Example, LabelMap};
use deltarnn::nn::loss::Readout;
use deltarnn::nn::{init_params, CellKind, ModelConfig, SequenceTape};
use deltarnn::train::{evaluate, fit, Event, TrainConfig, TrainState};
use deltarnn::{Protocol, Thresholds};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A Delta LSTM or Delta GRU with its input normaliser and class names.
///
/// Classes are numbered 0..n_classes-1 as in your labels; the network has one more output,
/// number 0, for background (frame label -1), so its logits have n_classes + 1 columns.
#[pyclass(name = "Model", module = "deltarnn")]
pub struct PyModel {
    pub(crate) bundle: Bundle,
    /// Bumped whenever the weights change, so a tape from before cannot be used after.
    pub(crate) version: u64,
    /// The initialisation seed, also `fit`'s default shuffling seed (the CLI's `--seed` is both;
    /// 0 for a loaded model).
    seed: u64,
}

/// All cores of this machine.
fn all_cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

fn readout(name: &str) -> PyResult<Readout> {
    match name {
        "last-non-silence" | "last" => Ok(Readout::LastNonSilence),
        "mean-over-frames" | "mean" => Ok(Readout::MeanOverFrames),
        other => Err(invalid(format!("readout {other:?}: expected \"last-non-silence\" or \"mean-over-frames\""))),
    }
}

/// A JSON-serialisable value as a Python object (through `json.loads`).
fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| invalid(format!("serialising: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

impl PyModel {
    fn n_features(&self) -> usize {
        self.bundle.model.config.n_features
    }

    /// Your classes (the network's outputs but background).
    fn user_classes(&self) -> usize {
        self.bundle.model.config.n_classes - 1
    }

    /// One or more sequences and their labels as normalised examples (`loss_and_gradient`).
    pub(crate) fn examples_of(
        &self,
        sequences: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Example>> {
        self.examples(sequences, labels, "sequence")
    }

    /// `sequences` and `labels` as normalised examples named `{prefix}#{i}`.
    fn examples(
        &self,
        sequences: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        prefix: &str,
    ) -> PyResult<Vec<Example>> {
        let file = sequence_file(sequences, labels, self.n_features(), Some(self.user_classes()))?;
        Ok(file.examples(prefix, &self.bundle.normalizer))
    }

    /// Normalised frames of a list of sequences.
    fn normalised(&self, sequences: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f32>>> {
        let mut frames = sequence_list(sequences, self.n_features(), "sequences")?;
        check_finite(&frames, self.n_features()).map_err(invalid)?;
        frames.iter_mut().for_each(|f| self.bundle.normalizer.apply(f));
        Ok(frames)
    }
}

#[pymethods]
impl PyModel {
    /// A freshly initialised network (seeded: the same seed gives the same weights).
    #[new]
    #[pyo3(signature = (n_features, n_classes, *, cell = "lstm", hidden = 64, layers = 2, theta_x = 0.1, theta_h = 0.1, seed = 0, classes = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n_features: usize,
        n_classes: usize,
        cell: &str,
        hidden: usize,
        layers: usize,
        theta_x: f64,
        theta_h: f64,
        seed: u64,
        classes: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let cell: CellKind = cell.parse().map_err(library)?;
        let names = match classes {
            Some(names) if names.len() != n_classes => {
                return Err(invalid(format!("classes: {} names for n_classes = {n_classes}", names.len())))
            }
            Some(names) => names,
            None => (0..n_classes).map(|c| c.to_string()).collect(),
        };
        if n_classes == 0 {
            return Err(invalid("n_classes must be at least 1"));
        }
        let config = ModelConfig {
            cell,
            n_features,
            n_layers: layers,
            n_hidden: hidden,
            n_classes: n_classes + 1,
            thresholds: Thresholds { input: theta_x, hidden: theta_h },
        };
        let model = init_params::<f32>(&config, seed).map_err(library)?;
        let bundle = Bundle {
            model,
            feature_config: FeatureConfig { n_mels: n_features, ..FeatureConfig::default() },
            normalizer: Normalizer::identity(n_features),
            labels: LabelMap::new(names),
            protocol: Some(Protocol::Ours),
            extra: BTreeMap::from([("dataset_kind".to_string(), "sequences".to_string())]),
        };
        Ok(PyModel { bundle, seed, version: 0 })
    }

    /// A fresh network for `dataset` (`deltarnn.load_dataset`), keeping its front end: the
    /// feature configuration, normaliser, class names and protocol, so the saved model reads
    /// audio as the CLI's does. Train it with `fit(*dataset.train, valid=dataset.valid,
    /// normalize=False)` (keeping the dataset's normaliser): with the same seed and settings
    /// this is the CLI's `train`, bit for bit.
    #[staticmethod]
    #[pyo3(signature = (dataset, *, cell = "lstm", hidden = 64, layers = 2, theta_x = 0.1, theta_h = 0.1, seed = 0))]
    fn from_dataset(
        dataset: &crate::dataset::PyDataset,
        cell: &str,
        hidden: usize,
        layers: usize,
        theta_x: f64,
        theta_h: f64,
        seed: u64,
    ) -> PyResult<Self> {
        let d = &dataset.inner;
        let mut model =
            Self::new(d.n_features(), d.n_classes() - 1, cell, hidden, layers, theta_x, theta_h, seed, None)?;
        model.bundle.feature_config = d.feature_config.clone();
        model.bundle.normalizer = d.normalizer.clone();
        model.bundle.labels = d.labels.clone();
        model.bundle.protocol = Some(d.protocol);
        model.bundle.extra = BTreeMap::from([("dataset_kind".to_string(), d.kind.name().to_string())]);
        Ok(model)
    }

    /// Reads a checkpoint written by `save` or by the CLI (`RUN/model.safetensors`).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(PyModel { bundle: Bundle::load(&path).map_err(library)?, seed: 0, version: 0 })
    }

    /// Writes the checkpoint (safetensors, PyTorch's tensor names; the CLI reads it), whole or
    /// not at all.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.bundle.save(&path).map_err(library)
    }

    /// Every weight and bias under its PyTorch name (`rnn.weight_ih_l0`, ..., `fc.weight`,
    /// `fc.bias`) in PyTorch's layout, as float32 arrays: `nn.LSTM` / `nn.GRU` + `nn.Linear`
    /// take them with `load_state_dict` (strip the `rnn.` / `fc.` prefixes per module).
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        let model = &self.bundle.model;
        for (name, shape, values) in deltarnn::checkpoint::to_named_tensors(&model.config, &model.params) {
            let array = numpy::PyArray1::from_vec(py, values);
            out.set_item(name, array.reshape(shape)?)?;
        }
        Ok(out)
    }

    /// Features per frame.
    #[getter(n_features)]
    fn features_per_frame(&self) -> usize {
        self.n_features()
    }

    /// Your classes (the network has one more output, 0, for background).
    #[getter]
    fn n_classes(&self) -> usize {
        self.user_classes()
    }

    /// The class names.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.bundle.labels.names[1..].to_vec()
    }

    /// "lstm" or "gru".
    #[getter]
    fn cell(&self) -> String {
        self.bundle.model.config.cell.to_string()
    }

    /// Hidden units per layer.
    #[getter]
    fn hidden(&self) -> usize {
        self.bundle.model.config.n_hidden
    }

    /// Stacked layers.
    #[getter]
    fn layers(&self) -> usize {
        self.bundle.model.config.n_layers
    }

    /// (theta_x, theta_h).
    #[getter]
    fn thresholds(&self) -> (f64, f64) {
        let t = self.bundle.model.config.thresholds;
        (t.input, t.hidden)
    }

    /// Trains with sparse BPTT (AdamW, the CLI's defaults) and returns the per-epoch history
    /// (list of dicts). `labels` holds a class per sequence or an integer array per sequence of
    /// frame classes (-1: background). With `valid`, a (sequences, labels) pair, the model ends
    /// as of its best validation epoch, as the CLI keeps it. `normalize` fits the per-feature
    /// mean and deviation on these sequences first (stored with the model). `callback(record)`
    /// is called after every epoch; returning False stops training. The GIL is released while
    /// training runs.
    #[pyo3(signature = (sequences, labels, *, valid = None, epochs = 30, batch = 32, lr = 2e-3, weight_decay = 0.01, clip_norm = 200.0, warmup = 50, early_stop = 8, l1_beta = 0.0, seed = None, threads = None, readout = "last-non-silence", normalize = true, dense = false, callback = None, verbose = false))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        valid: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        epochs: usize,
        batch: usize,
        lr: f64,
        weight_decay: f64,
        clip_norm: f64,
        warmup: usize,
        early_stop: usize,
        l1_beta: f64,
        seed: Option<u64>,
        threads: Option<usize>,
        readout: &str,
        normalize: bool,
        dense: bool,
        callback: Option<Py<PyAny>>,
        verbose: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let n = self.n_features();
        let train_file = sequence_file(sequences, labels, n, Some(self.user_classes()))?;
        if normalize {
            let frames: Vec<&[f32]> = train_file.sequences.iter().map(|s| &s.frames[..]).collect();
            self.bundle.normalizer = Normalizer::fit(n, frames);
        }
        let train = train_file.examples("train", &self.bundle.normalizer);
        let valid = match &valid {
            Some((s, l)) => self.examples(s, l, "valid")?,
            None => Vec::new(),
        };
        let config = TrainConfig {
            epochs,
            batch_size: batch,
            learning_rate: lr,
            weight_decay,
            clip_norm,
            warmup_steps: warmup,
            early_stop_patience: early_stop,
            dense,
            l1_beta,
            seed: seed.unwrap_or(self.seed),
            threads: threads.unwrap_or_else(all_cores),
            readout: self::readout(readout)?,
            ..TrainConfig::default()
        };
        let model = &mut self.bundle.model;
        let mut state = TrainState::new(model, &config);
        let mut best = None;
        let keep_best = !valid.is_empty();
        let result = py.detach(|| {
            fit(model, &mut state, &config, &train, &valid, |event| {
                let Event::Epoch { model, state, improved } = event else {
                    return Ok(());
                };
                if improved && keep_best {
                    best = Some(model.params.clone());
                }
                let Some(record) = state.history.last() else {
                    return Ok(());
                };
                if verbose {
                    eprintln!(
                        "epoch {:>3}: loss {:.4}  valid acc {:5.1}%  sparsity {:4.1}%  {:.1} s{}",
                        record.epoch,
                        record.train_loss,
                        100.0 * record.valid_accuracy,
                        100.0 * record.sparsity.overall,
                        record.train_seconds,
                        if improved { "  *" } else { "" }
                    );
                }
                let Some(callback) = &callback else {
                    return Ok(());
                };
                Python::attach(|py| -> deltarnn::Result<()> {
                    let outcome = to_python(py, record).and_then(|r| callback.call1(py, (r,)));
                    match outcome {
                        Ok(v) if v.bind(py).is(&*pyo3::types::PyBool::new(py, false)) => {
                            Err(deltarnn::Error::Invalid(STOPPED.into()))
                        }
                        Ok(_) => Ok(()),
                        Err(e) => {
                            let message = e.to_string();
                            e.restore(py);
                            Err(deltarnn::Error::Invalid(format!("{CALLBACK_FAILED}{message}")))
                        }
                    }
                })
            })
        });
        self.version += 1;
        if let Some(params) = best {
            self.bundle.model.params = params;
        }
        match result {
            Ok(()) => {}
            Err(deltarnn::Error::Invalid(m)) if m == STOPPED => {}
            Err(deltarnn::Error::Invalid(m)) if m.starts_with(CALLBACK_FAILED) => {
                return Err(PyErr::take(py).unwrap_or_else(|| invalid(m)));
            }
            Err(e) => return Err(library(e)),
        }
        let history = PyList::empty(py);
        for record in &state.history {
            history.append(to_python(py, record)?)?;
        }
        Ok(history)
    }

    /// Accuracy (a sequence is right when its readout class is its label), mean per-frame
    /// loss, sparsity and the matrix work against dense, over labelled sequences.
    #[pyo3(signature = (sequences, labels, *, readout = "last-non-silence", threads = None, dense = false))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        readout: &str,
        threads: Option<usize>,
        dense: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let examples = self.examples(sequences, labels, "evaluate")?;
        let (model, readout) = (&self.bundle.model, self::readout(readout)?);
        let mode = deltarnn::nn::Mode::new(dense, model.config.thresholds);
        let result = py
            .detach(|| evaluate(model, &examples, mode, readout, threads.unwrap_or_else(all_cores)))
            .map_err(library)?;
        let out = PyDict::new(py);
        out.set_item("accuracy", result.accuracy)?;
        out.set_item("loss", result.loss)?;
        out.set_item("sequences", result.utterances)?;
        out.set_item("sparsity", to_python(py, &result.cost.sparsity())?)?;
        out.set_item("cost", to_python(py, &result.cost.to_json())?)?;
        let predictions: Vec<i64> = result.predictions.iter().map(|&c| c as i64 - 1).collect();
        out.set_item("predictions", predictions.into_pyarray(py))?;
        Ok(out)
    }

    /// The class of every sequence (its readout frame's class; -1 when every frame is
    /// background), as an int64 array.
    #[pyo3(signature = (sequences, *, readout = "last-non-silence"))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        readout: &str,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let frames = self.normalised(sequences)?;
        let (model, readout) = (&self.bundle.model, self::readout(readout)?);
        let mode = deltarnn::nn::Mode::new(false, model.config.thresholds);
        let classes = model.config.n_classes;
        let decided: Vec<i64> = py.detach(|| {
            let mut tape = SequenceTape::default();
            frames
                .iter()
                .map(|f| {
                    model.forward(f, mode, &mut tape);
                    deltarnn::nn::loss::utterance_decision(&tape.logits, classes, readout) as i64 - 1
                })
                .collect()
        });
        Ok(decided.into_pyarray(py))
    }

    /// One sequence through the network: `logits` (frames, n_classes + 1; column 0 is
    /// background), `hidden` (one (frames, hidden) array per layer) and `sparsity` per layer
    /// (fractions of delta_x and delta_h that were exactly zero).
    #[pyo3(signature = (sequence, *, dense = false))]
    fn forward<'py>(&self, py: Python<'py>, sequence: &Bound<'py, PyAny>, dense: bool) -> PyResult<Bound<'py, PyDict>> {
        let list = PyList::new(py, [sequence])?;
        let frames = self.normalised(list.as_any())?.pop().expect("one sequence");
        let model = &self.bundle.model;
        let mode = deltarnn::nn::Mode::new(dense, model.config.thresholds);
        let mut tape = SequenceTape::default();
        py.detach(|| model.forward(&frames, mode, &mut tape));
        let (steps, c) = (tape.steps, model.config);
        let out = PyDict::new(py);
        out.set_item("logits", matrix(py, steps, c.n_classes, tape.logits.clone()))?;
        let hidden = PyList::empty(py);
        for layer in &tape.layers {
            hidden.append(matrix(py, steps, c.n_hidden, layer.hidden.clone()))?;
        }
        out.set_item("hidden", hidden)?;
        let cost = deltarnn::cost::CostReport::from_tape(&c, &tape, mode);
        let per_layer = PyList::empty(py);
        for layer in &cost.layers {
            per_layer.append(to_python(py, &layer.sparsity())?)?;
        }
        out.set_item("sparsity", per_layer)?;
        Ok(out)
    }

    /// Sets every weight from PyTorch-named float32 arrays (the names and shapes of
    /// `weights()`; an `nn.LSTM`/`nn.GRU` + `nn.Linear` state dict with `rnn.` / `fc.`
    /// prefixes).
    fn set_weights(&mut self, weights: &Bound<'_, PyDict>) -> PyResult<()> {
        crate::autograd::set_weights(self, weights)
    }

    /// One sequence's mean per-frame cross-entropy (plus `l1_beta` x sum |delta_h|) and its
    /// gradient, a dict under PyTorch's names: what one training step sees (after the model's
    /// normaliser). `labels`: a class, or an array of frame classes (-1 background).
    #[pyo3(signature = (sequence, labels, *, dense = false, l1_beta = 0.0))]
    fn loss_and_gradient<'py>(
        &self,
        py: Python<'py>,
        sequence: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        dense: bool,
        l1_beta: f64,
    ) -> PyResult<(f64, Bound<'py, PyDict>)> {
        crate::autograd::loss_and_gradient(py, self, sequence, labels, dense, l1_beta)
    }

    /// The matrix work of running `sequences` (forward, and what training them would cost):
    /// per layer and in total, dense against actual ops of every matrix product, and the
    /// sparsity (a dict; the CLI's `cost` JSON).
    #[pyo3(signature = (sequences, *, dense = false))]
    fn cost<'py>(&self, py: Python<'py>, sequences: &Bound<'py, PyAny>, dense: bool) -> PyResult<Bound<'py, PyAny>> {
        let frames = self.normalised(sequences)?;
        let model = &self.bundle.model;
        let mode = deltarnn::nn::Mode::new(dense, model.config.thresholds);
        let report = py.detach(|| {
            let mut total = deltarnn::cost::CostReport::default();
            let mut tape = SequenceTape::default();
            for f in &frames {
                model.forward(f, mode, &mut tape);
                total.add(&deltarnn::cost::CostReport::from_tape(&model.config, &tape, mode));
            }
            total
        });
        to_python(py, &report.to_json())
    }

    /// A stream for one frame at a time (on-device inference): `stream.step(frame)` returns
    /// the logits after that frame.
    fn stream(&self) -> PyStream {
        PyStream { model: self.bundle.clone(), state: self.bundle.model.new_stream(), frames: 0, fired: (0, 0) }
    }

    fn __repr__(&self) -> String {
        let c = &self.bundle.model.config;
        format!(
            "deltarnn.Model(cell={:?}, n_features={}, n_classes={}, hidden={}, layers={}, theta_x={}, theta_h={})",
            c.cell.to_string(),
            c.n_features,
            c.n_classes - 1,
            c.n_hidden,
            c.n_layers,
            c.thresholds.input,
            c.thresholds.hidden
        )
    }
}

/// The callback asked to stop (not an error).
const STOPPED: &str = "stopped by the callback";
/// The callback raised; the Python exception is restored and re-raised.
const CALLBACK_FAILED: &str = "the callback raised: ";

/// One utterance streamed frame by frame through a copy of a model (`Model.stream()`).
#[pyclass(name = "Stream", module = "deltarnn")]
pub struct PyStream {
    model: Bundle,
    state: deltarnn::nn::StreamState<f32>,
    frames: usize,
    fired: (usize, usize),
}

#[pymethods]
impl PyStream {
    /// Feeds one frame (n_features values, normalised by the model's normaliser) and returns
    /// the logits (n_classes + 1; 0 is background).
    fn step<'py>(&mut self, py: Python<'py>, frame: Vec<f32>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let n = self.model.model.config.n_features;
        if frame.len() != n {
            return Err(invalid(format!("frame: {} values, expected {n}", frame.len())));
        }
        if let Some(k) = frame.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!("frame: a non-finite value at feature {k}")));
        }
        let mut frame = frame;
        self.model.normalizer.apply(&mut frame);
        let thresholds = self.model.model.config.thresholds;
        let (x, h) = self.model.model.stream_step(&mut self.state, &frame, thresholds);
        self.frames += 1;
        self.fired = (self.fired.0 + x, self.fired.1 + h);
        Ok(self.state.logits.clone().into_pyarray(py))
    }

    /// Starts a new utterance (the memory and the delta references back to zero).
    fn reset(&mut self) {
        self.state = self.model.model.new_stream();
        self.frames = 0;
        self.fired = (0, 0);
    }

    /// Frames fed since the start, and the delta_x / delta_h elements that fired.
    #[getter]
    fn counts(&self) -> (usize, usize, usize) {
        (self.frames, self.fired.0, self.fired.1)
    }
}
