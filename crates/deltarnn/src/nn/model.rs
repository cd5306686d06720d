//! The stacked model: L recurrent layers and a linear head applied at every frame.

use super::loss::frame_cross_entropy;
use super::{CellKind, Layer, LayerState, LayerTape, Mode};
use crate::delta::Thresholds;
use crate::kernels::gemm::{gemm, Strided, StridedMut};
use crate::kernels::{dense_forward, ColMajor, Real};
use crate::{Error, Result};

/// Largest sizes accepted from a file or the command line (bigger is refused before allocating).
pub const MAX_WIDTH: usize = 16_384;
/// Largest number of layers accepted.
pub const MAX_LAYERS: usize = 64;
/// Largest number of classes accepted.
pub const MAX_CLASSES: usize = 1 << 20;

/// The shape and default thresholds of a model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// LSTM or GRU.
    pub cell: CellKind,
    /// F: input features per frame.
    pub n_features: usize,
    /// L: number of stacked recurrent layers.
    pub n_layers: usize,
    /// H: hidden size of every layer.
    pub n_hidden: usize,
    /// C: output classes (class 0 is silence in the speech tasks).
    pub n_classes: usize,
    /// theta_x and theta_h used when no others are given.
    pub thresholds: Thresholds,
}

impl ModelConfig {
    /// Checks that every size is positive and not absurd and the thresholds are finite and >= 0.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(Error::Invalid(format!("{name} must be between 1 and {max}, got {value}")))
            } else {
                Ok(())
            }
        };
        check("features", self.n_features, MAX_WIDTH)?;
        check("layers", self.n_layers, MAX_LAYERS)?;
        check("hidden", self.n_hidden, MAX_WIDTH)?;
        check("classes", self.n_classes, MAX_CLASSES)?;
        self.thresholds.validate()
    }

    /// Input width of layer `k`: F for the first layer, H above it.
    pub fn layer_input(&self, k: usize) -> usize {
        if k == 0 {
            self.n_features
        } else {
            self.n_hidden
        }
    }

    /// Number of trainable parameters (PyTorch counts two bias vectors per layer, as here).
    pub fn n_params(&self) -> usize {
        let rows = self.cell.gates() * self.n_hidden;
        let rnn: usize = (0..self.n_layers).map(|k| rows * (self.layer_input(k) + self.n_hidden) + 2 * rows).sum();
        rnn + self.n_classes * self.n_hidden + self.n_classes
    }
}

/// The per-frame classifier: logits_t = W h_t + b.
#[derive(Debug, Clone, PartialEq)]
pub struct Head<T> {
    /// Shape (C, H), column-major (PyTorch `fc.weight` transposed in memory).
    pub w: ColMajor<T>,
    /// Shape (C).
    pub b: Vec<T>,
}

/// Elements per parallel task in whole-parameter passes ([`Params::set_sum`], the optimizer).
/// Fixed, so results do not depend on the thread count.
pub const PARALLEL_BLOCK: usize = 8192;

/// Every trainable tensor of a model (also used, zero-filled, as its gradient).
#[derive(Debug, Clone, PartialEq)]
pub struct Params<T> {
    /// The recurrent layers, bottom first.
    pub layers: Vec<Layer<T>>,
    /// The linear head.
    pub head: Head<T>,
}

impl<T: Real> Params<T> {
    /// All parameters zero, shaped by `config`.
    pub fn zeros(config: &ModelConfig) -> Self {
        Params {
            layers: (0..config.n_layers)
                .map(|k| Layer::zeros(config.cell, config.layer_input(k), config.n_hidden))
                .collect(),
            head: Head { w: ColMajor::zeros(config.n_classes, config.n_hidden), b: vec![T::ZERO; config.n_classes] },
        }
    }

    /// Every tensor as a flat slice, in a fixed order (layer by layer: w_x, w_h, b_x, b_h; then
    /// head w, b). The order is the same for parameters and gradients of one config.
    pub fn slices(&self) -> Vec<&[T]> {
        let mut out: Vec<&[T]> = Vec::new();
        for l in &self.layers {
            out.extend([&l.w_x.data[..], &l.w_h.data[..], &l.b_x[..], &l.b_h[..]]);
        }
        out.extend([&self.head.w.data[..], &self.head.b[..]]);
        out
    }

    /// Mutable twin of [`Params::slices`].
    pub fn slices_mut(&mut self) -> Vec<&mut [T]> {
        let mut out: Vec<&mut [T]> = Vec::new();
        for l in &mut self.layers {
            out.extend([&mut l.w_x.data[..], &mut l.w_h.data[..], &mut l.b_x[..], &mut l.b_h[..]]);
        }
        out.extend([&mut self.head.w.data[..], &mut self.head.b[..]]);
        out
    }

    /// Sets every element to zero.
    pub fn fill_zero(&mut self) {
        for s in self.slices_mut() {
            s.fill(T::ZERO);
        }
    }

    /// `self += other`, element by element (same config).
    pub fn add_assign(&mut self, other: &Params<T>) {
        for (a, b) in self.slices_mut().into_iter().zip(other.slices()) {
            for (x, &y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// `self = parts[0] + parts[1] + ...` element by element, adding the parts in order (the
    /// same bits as zeroing and calling [`Params::add_assign`] for each part in turn), in one
    /// pass over memory and in parallel over fixed blocks on the current rayon pool.
    #[track_caller]
    pub fn set_sum(&mut self, parts: &[&Params<T>]) {
        use rayon::prelude::*;
        let sources: Vec<Vec<&[T]>> = parts.iter().map(|p| p.slices()).collect();
        for (s, dst) in self.slices_mut().into_iter().enumerate() {
            for src in &sources {
                assert_eq!(src[s].len(), dst.len(), "parameter shapes differ");
            }
            dst.par_chunks_mut(PARALLEL_BLOCK).enumerate().for_each(|(b, block)| {
                let range = b * PARALLEL_BLOCK..b * PARALLEL_BLOCK + block.len();
                block.fill(T::ZERO);
                for src in &sources {
                    for (x, &y) in block.iter_mut().zip(&src[s][range.clone()]) {
                        *x += y;
                    }
                }
            });
        }
    }

    /// Euclidean norm over every element, in f64. Squares are summed in 8 partial sums (element
    /// `i` of each parameter tensor into sum `i % 8`, tensors in order), so the loop vectorises.
    pub fn norm(&self) -> f64 {
        let mut sums = [0.0f64; 8];
        for s in self.slices() {
            let mut blocks = s.chunks_exact(8);
            for block in &mut blocks {
                for (sum, v) in sums.iter_mut().zip(block) {
                    *sum += v.to_f64() * v.to_f64();
                }
            }
            for (sum, v) in sums.iter_mut().zip(blocks.remainder()) {
                *sum += v.to_f64() * v.to_f64();
            }
        }
        (((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]))).sqrt()
    }

    /// True when every element is finite.
    pub fn all_finite(&self) -> bool {
        self.slices().iter().all(|s| crate::kernels::all_finite(s))
    }

    /// Converts every parameter to another precision.
    pub fn cast<U: Real>(&self) -> Params<U> {
        Params {
            layers: self.layers.iter().map(Layer::cast).collect(),
            head: Head { w: self.head.w.cast(), b: self.head.b.iter().map(|&v| U::from_f64(v.to_f64())).collect() },
        }
    }
}

/// A model: its configuration and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Model<T> {
    /// Shapes and default thresholds.
    pub config: ModelConfig,
    /// Weights and biases.
    pub params: Params<T>,
}

/// Everything the backward pass needs from a forward pass over one sequence.
#[derive(Debug, Clone, Default)]
pub struct SequenceTape<T> {
    /// Number of frames.
    pub steps: usize,
    /// One tape per layer, bottom first.
    pub layers: Vec<LayerTape<T>>,
    /// Per-frame logits (steps x C).
    pub logits: Vec<T>,
}

/// Loss of one sequence, as computed by [`Model::loss_and_gradient`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SequenceLoss {
    /// Summed per-frame cross-entropy (not yet divided by the frame count).
    pub cross_entropy_sum: f64,
    /// Frames counted (labels >= 0).
    pub frames: usize,
    /// beta * sum |delta_h| over every layer and step (0 when beta is 0 or in dense mode).
    pub l1_penalty: f64,
}

/// Streaming state of a whole model (one [`LayerState`] per layer).
#[derive(Debug, Clone)]
pub struct StreamState<T> {
    /// Per-layer state, bottom first.
    pub layers: Vec<LayerState<T>>,
    /// Logits of the latest frame.
    pub logits: Vec<T>,
}

impl<T: Real> Model<T> {
    /// Runs the whole model over one sequence `x` (steps x F, row-major), recording the tape.
    #[track_caller]
    pub fn forward(&self, x: &[T], mode: Mode, tape: &mut SequenceTape<T>) {
        let c = &self.config;
        assert_eq!(x.len() % c.n_features, 0, "x length is not a multiple of the feature count");
        let steps = x.len() / c.n_features;
        tape.steps = steps;
        tape.layers.resize_with(c.n_layers, LayerTape::new);
        for k in 0..c.n_layers {
            let (below, rest) = tape.layers.split_at_mut(k);
            let input = if k == 0 { x } else { &below[k - 1].hidden[..] };
            self.params.layers[k].forward(input, steps, mode, &mut rest[0]);
        }
        self.head_forward(tape);
    }

    /// The head over the top layer's hidden states in `tape`: writes `tape.logits`.
    pub(super) fn head_forward(&self, tape: &mut SequenceTape<T>) {
        let c = &self.config;
        let steps = tape.steps;
        let top = &tape.layers[c.n_layers - 1];
        tape.logits.clear();
        for _ in 0..steps {
            tape.logits.extend_from_slice(&self.params.head.b);
        }
        // logits (T, C) += H (T, H) W^T, with W stored column-major (C, H).
        let (h, classes) = (c.n_hidden, c.n_classes);
        gemm(
            steps,
            h,
            classes,
            Strided { data: &top.hidden, row_stride: h, col_stride: 1 },
            Strided { data: &self.params.head.w.data, row_stride: classes, col_stride: 1 },
            T::ONE,
            StridedMut { data: &mut tape.logits, row_stride: classes, col_stride: 1 },
        );
    }

    /// Backward of [`Model::forward`] given dL/dlogits (steps x C); accumulates (+=) every
    /// parameter gradient into `grads`. Writes dL/dx (steps x F) into `dx` when given.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn backward(
        &self,
        grads: &mut Params<T>,
        dx: Option<&mut [T]>,
        x: &[T],
        tape: &SequenceTape<T>,
        mode: Mode,
        dlogits: &[T],
        l1_beta: T,
    ) {
        let c = &self.config;
        let steps = tape.steps;
        let h = c.n_hidden;
        let mut dh = self.head_backward(grads, tape, dlogits);
        let mut dx = dx;
        let mut dbelow = vec![T::ZERO; if c.n_layers > 1 { steps * h } else { 0 }];
        for k in (0..c.n_layers).rev() {
            let input = if k == 0 { x } else { &tape.layers[k - 1].hidden[..] };
            let layer = &self.params.layers[k];
            let dinput = if k == 0 { dx.as_deref_mut() } else { Some(&mut dbelow[..]) };
            layer.backward(&mut grads.layers[k], dinput, input, &tape.layers[k], mode, &dh, l1_beta);
            if k > 0 {
                std::mem::swap(&mut dh, &mut dbelow);
            }
        }
    }

    /// Backward of [`Model::head_forward`] given dL/dlogits (steps x C): accumulates the head's
    /// gradients into `grads` and returns dL/dh of the top layer (steps x H).
    pub(super) fn head_backward(&self, grads: &mut Params<T>, tape: &SequenceTape<T>, dlogits: &[T]) -> Vec<T> {
        let c = &self.config;
        let steps = tape.steps;
        assert_eq!(dlogits.len(), steps * c.n_classes, "dlogits length");
        let h = c.n_hidden;
        let top = &tape.layers[c.n_layers - 1];
        let classes = c.n_classes;
        // The head is not sequential, so its three products run over the whole sequence at once:
        // dH (T, H) = dZ W; dW (C, H) += dZ^T H; db += column sums of dZ.
        let mut dh = vec![T::ZERO; steps * h];
        let head = &self.params.head;
        gemm(
            steps,
            classes,
            h,
            Strided { data: dlogits, row_stride: classes, col_stride: 1 },
            Strided { data: &head.w.data, row_stride: 1, col_stride: classes },
            T::ZERO,
            StridedMut { data: &mut dh, row_stride: h, col_stride: 1 },
        );
        gemm(
            classes,
            steps,
            h,
            Strided { data: dlogits, row_stride: 1, col_stride: classes },
            Strided { data: &top.hidden, row_stride: h, col_stride: 1 },
            T::ONE,
            StridedMut { data: &mut grads.head.w.data, row_stride: 1, col_stride: classes },
        );
        for dz in dlogits.chunks_exact(classes) {
            for (b, &d) in grads.head.b.iter_mut().zip(dz) {
                *b += d;
            }
        }
        dh
    }

    /// Forward, per-frame cross-entropy and backward for one sequence. `scale` multiplies the
    /// cross-entropy gradient (1 / frames in the batch for a batch mean); the L1 penalty
    /// `l1_beta * sum |delta_h|` is added unscaled. Gradients accumulate into `grads`.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn loss_and_gradient(
        &self,
        grads: &mut Params<T>,
        tape: &mut SequenceTape<T>,
        x: &[T],
        labels: &[i64],
        mode: Mode,
        scale: f64,
        l1_beta: f64,
    ) -> SequenceLoss {
        let n_classes = self.config.n_classes;
        self.loss_and_gradient_with(grads, tape, x, mode, l1_beta, |logits, dlogits| {
            frame_cross_entropy(dlogits, logits, labels, n_classes, scale)
        })
    }

    /// Forward, any per-frame loss on the logits, and backward for one sequence. `loss` gets the
    /// logits (steps x C) and a zeroed dlogits of the same shape to fill with (scaled) dL/dlogits;
    /// it returns the summed loss and the frames it counted (reported as
    /// [`SequenceLoss::cross_entropy_sum`] and [`SequenceLoss::frames`]). The L1 penalty
    /// `l1_beta * sum |delta_h|` is added unscaled. Gradients accumulate into `grads`.
    #[track_caller]
    pub fn loss_and_gradient_with(
        &self,
        grads: &mut Params<T>,
        tape: &mut SequenceTape<T>,
        x: &[T],
        mode: Mode,
        l1_beta: f64,
        loss: impl FnOnce(&[T], &mut [T]) -> (f64, usize),
    ) -> SequenceLoss {
        self.forward(x, mode, tape);
        let mut dlogits = vec![T::ZERO; tape.logits.len()];
        let (cross_entropy_sum, frames) = loss(&tape.logits, &mut dlogits);
        let is_delta = mode.thresholds().is_some();
        let l1_penalty = if is_delta && l1_beta != 0.0 {
            l1_beta * tape.layers.iter().flat_map(|l| &l.trace.hidden.values).map(|v| v.to_f64().abs()).sum::<f64>()
        } else {
            0.0
        };
        let beta = if is_delta { T::from_f64(l1_beta) } else { T::ZERO };
        self.backward(grads, None, x, tape, mode, &dlogits, beta);
        SequenceLoss { cross_entropy_sum, frames, l1_penalty }
    }

    /// Grows the head to `n_classes` outputs for class-incremental learning. The existing rows
    /// (weights and biases) are kept bit for bit; each new row gets Xavier-uniform weights drawn
    /// from `seed` (as [`crate::nn::init_params`] draws the head) and the mean bias of the old
    /// non-silence rows, so a new class starts neither favoured nor suppressed.
    ///
    /// Shapes: head w (C, H) -> (n_classes, H), b (C) -> (n_classes).
    pub fn grow_classes(&mut self, n_classes: usize, seed: u64) -> Result<()> {
        let (old, h) = (self.config.n_classes, self.config.n_hidden);
        if n_classes < old || n_classes > MAX_CLASSES {
            return Err(Error::Invalid(format!(
                "cannot grow the head from {old} to {n_classes} classes (it only grows, up to {MAX_CLASSES})"
            )));
        }
        let mut rng = crate::rng::Rng::seed(seed);
        let limit = (6.0 / (n_classes + h) as f64).sqrt();
        let mut w = ColMajor::zeros(n_classes, h);
        for col in 0..h {
            w.col_mut(col)[..old].copy_from_slice(self.params.head.w.col(col));
        }
        for row in old..n_classes {
            for col in 0..h {
                w.col_mut(col)[row] = T::from_f64(rng.uniform_range(-limit, limit));
            }
        }
        let old_biases = &self.params.head.b[1.min(old)..];
        let mean_bias = if old_biases.is_empty() {
            0.0
        } else {
            old_biases.iter().map(|b| b.to_f64()).sum::<f64>() / old_biases.len() as f64
        };
        self.params.head.b.resize(n_classes, T::from_f64(mean_bias));
        self.params.head.w = w;
        self.config.n_classes = n_classes;
        Ok(())
    }

    /// The streaming state at the start of an utterance.
    pub fn new_stream(&self) -> StreamState<T> {
        StreamState {
            layers: self.params.layers.iter().map(Layer::new_state).collect(),
            logits: vec![T::ZERO; self.config.n_classes],
        }
    }

    /// Feeds one frame (F values) through every layer and the head; returns the fired input and
    /// hidden counts summed over layers. The logits are in `state.logits`.
    #[track_caller]
    pub fn stream_step(&self, state: &mut StreamState<T>, frame: &[T], thresholds: Thresholds) -> (usize, usize) {
        let mut fired = (0, 0);
        for k in 0..self.config.n_layers {
            let (below, rest) = state.layers.split_at_mut(k);
            let input = if k == 0 { frame } else { &below[k - 1].h[..] };
            let (fx, fh) = self.params.layers[k].step(&mut rest[0], input, thresholds);
            fired.0 += fx;
            fired.1 += fh;
        }
        let top = &state.layers[self.config.n_layers - 1];
        state.logits.copy_from_slice(&self.params.head.b);
        dense_forward(&mut state.logits, &self.params.head.w, &top.h);
        fired
    }

    /// Converts the parameters to another precision.
    pub fn cast<U: Real>(&self) -> Model<U> {
        Model { config: self.config, params: self.params.cast() }
    }
}
