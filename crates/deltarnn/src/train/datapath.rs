//! Training in the accelerator's arithmetic ([`super::TrainConfig::arith`]): the FXP16 Q format
//! chosen from the data, overflow reports, and weights kept in the format.

use super::{TrainConfig, Utterance};
use crate::nn::datapath::{choose_q_format, Datapath, Overflow, QFormat, Tensor, TensorRanges};
use crate::nn::{Mode, Model, Params, SequenceTape};
use crate::sim::Format;
use crate::{Error, Result};

/// Sequences the Q format calibration runs.
pub const CALIBRATION_SEQUENCES: usize = 32;

/// The first FXP16 overflow recorded in `tape`: (layer, overflow).
pub(crate) fn tape_overflow(tape: &SequenceTape<f32>) -> Option<(usize, Overflow)> {
    tape.layers.iter().enumerate().find_map(|(k, l)| l.datapath.overflow.get().map(|o| (k, *o)))
}

/// The error of `overflow` in `layer` while running `utterance` during `context`.
pub(crate) fn overflow_error(context: String, utterance: &str, layer: usize, overflow: Overflow) -> Error {
    Error::FormatOverflow {
        context,
        utterance: utterance.to_string(),
        layer,
        tensor: overflow.tensor.name().to_string(),
        step: overflow.step,
        value: overflow.value,
        bits: overflow.fraction_bits,
        limit: Overflow::limit(overflow.fraction_bits),
    }
}

/// Extra headroom of the gradient-side tensors (G, W^T G, dW) in the calibration: their
/// magnitudes grow during training (asc10, 1 x 128 LSTM: with 4x, dW overflowed in the 51st
/// batch of the first epoch).
pub const GRADIENT_HEADROOM: f64 = 16.0;

/// The FXP16 Q format for training `model` on `train` in batches of `batch_size`: every tensor's
/// largest magnitude over the first [`CALIBRATION_SEQUENCES`] training sequences (forward and
/// backward in BF16, whose range is f32's, with the loss scaled as a batch of `batch_size` of
/// them would be), the gradient side times [`GRADIENT_HEADROOM`], then [`choose_q_format`]: the
/// most fraction bits for W, the deltas and G that keep every input and every result within 16
/// bits with one more bit of headroom. The model is the untrained one, so tensors that grow
/// further during training can still overflow; the error then says which.
pub fn calibrate_q_format<U: Utterance>(
    model: &Model<f32>,
    train: &[U],
    batch_size: usize,
    l1_beta: f64,
) -> Result<QFormat> {
    let probe = Datapath { format: Format::Bf16, q: QFormat { weights: 0, deltas: 0, grads: 0 } };
    let mode = Mode::DeltaInFormat(model.config.thresholds, probe);
    let measured = TensorRanges::default();
    let mut tape = SequenceTape::default();
    let mut grads = Params::zeros(&model.config);
    let sample = &train[..train.len().min(CALIBRATION_SEQUENCES)];
    let mean_frames = sample.iter().map(|u| u.frame_labels().len()).sum::<usize>() as f64 / sample.len().max(1) as f64;
    let scale = 1.0 / (mean_frames * batch_size.max(1) as f64).max(1.0);
    for u in sample {
        model.loss_and_gradient(&mut grads, &mut tape, u.frames(), u.frame_labels(), mode, scale, l1_beta);
        for layer in &tape.layers {
            measured.merge(&layer.datapath.ranges);
        }
    }
    let ranges = TensorRanges::default();
    for t in Tensor::ALL {
        let headroom =
            if matches!(t, Tensor::Grads | Tensor::InputGrads | Tensor::WeightGrads) { GRADIENT_HEADROOM } else { 1.0 };
        ranges.record(t, measured.max(t) * headroom);
    }
    choose_q_format(&ranges).ok_or_else(|| {
        let widest = Tensor::ALL.iter().map(|&t| format!("{} {:.3e}", t.name(), ranges.max(t))).collect::<Vec<_>>();
        Error::Invalid(format!(
            "no FXP16 Q format holds this model's values (largest magnitudes: {})",
            widest.join(", ")
        ))
    })
}

/// Resolves `config`'s FXP16 Q format when [`TrainConfig::calibrate_q_format`] asks for it:
/// [`calibrate_q_format`] on `model` and `train`, stored in `config.arith`; the flag is cleared,
/// so a saved configuration resumes with the same format. Returns the format chosen, if any.
pub fn resolve_q_format<U: Utterance>(
    config: &mut TrainConfig,
    model: &Model<f32>,
    train: &[U],
) -> Result<Option<QFormat>> {
    let Some(datapath) = config.arith.as_mut().filter(|d| d.format == Format::Fxp16 && config.calibrate_q_format)
    else {
        config.calibrate_q_format = false;
        return Ok(None);
    };
    let q = calibrate_q_format(model, train, config.batch_size, config.l1_beta)?;
    datapath.q = q;
    config.calibrate_q_format = false;
    Ok(Some(q))
}

/// Rounds every recurrent weight of `model` to `datapath`'s format (the head stays f32: the
/// accelerator does not run it). Errors when an FXP16 weight does not fit.
pub(super) fn round_weights_to_format(model: &mut Model<f32>, datapath: &Datapath, context: &str) -> Result<()> {
    for (k, layer) in model.params.layers.iter_mut().enumerate() {
        for w in layer.w_x.data.iter_mut().chain(layer.w_h.data.iter_mut()) {
            let word = datapath
                .encode(Tensor::Weights, 0, f64::from(*w))
                .map_err(|o| overflow_error(context.to_string(), "the weights", k, o))?;
            *w = datapath.decode(Tensor::Weights, word) as f32;
        }
    }
    Ok(())
}
