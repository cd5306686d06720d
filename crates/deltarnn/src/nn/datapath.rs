//! Training in the accelerator's arithmetic (`train --arith bf16|fxp16`): the number format of
//! the three matrix products a Delta layer runs on the accelerator, and how values enter and
//! leave it.
//!
//! The products are the RTL's own ([`crate::sim::rtl::ops`], checked against the RTL under
//! Verilator): BF16 rounds every product and every sum (DesignWare with `ieee_compliance` 0);
//! FXP16 keeps 16-bit words, and a product of a Q.a and a Q.b word is a Q.(a+b) word, so the
//! formats of the weights (W), deltas (D) and gradients (G) fix those of the results: the MxV
//! result M has W + D fraction bits, MTxV's e has W + G, VxV's dW has G + D. The RTL wraps a
//! result that does not fit; training computes FXP16 sums exactly and reports such a result as
//! an [`Overflow`] (tensor, layer, step) instead of using wrapped garbage. Everything else (the
//! delta encoder, the memory M_t accumulation, the gates, the head, the optimiser) stays in f32.

use crate::sim::Format;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Fraction bits of the FXP16 words of the weights, the deltas and the gradients G.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QFormat {
    /// Fraction bits of W.
    pub weights: u8,
    /// Fraction bits of delta_x and delta_h.
    pub deltas: u8,
    /// Fraction bits of G_t.
    pub grads: u8,
}

/// Most fraction bits a word may have (the results' are sums of two).
pub const MAX_FRACTION_BITS: u8 = 30;

impl QFormat {
    /// Parses "W,D,G" (three fraction-bit counts).
    pub fn parse(s: &str) -> crate::Result<QFormat> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || {
            crate::Error::Invalid(format!(
                "a Q format is three fraction-bit counts W,D,G from 0 to {MAX_FRACTION_BITS} (weights, deltas, gradients), got '{s}'"
            ))
        };
        let [w, d, g] = parts[..] else { return Err(bad()) };
        let bits = |p: &str| p.parse::<u8>().ok().filter(|&b| b <= MAX_FRACTION_BITS).ok_or_else(bad);
        Ok(QFormat { weights: bits(w)?, deltas: bits(d)?, grads: bits(g)? })
    }
}

impl std::fmt::Display for QFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.weights, self.deltas, self.grads)
    }
}

/// The number format of a Delta layer's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Datapath {
    /// BF16 or FXP16.
    pub format: Format,
    /// FXP16 fraction bits (ignored for BF16).
    pub q: QFormat,
}

/// The tensors whose words a [`Datapath`] makes, in [`TensorRanges`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensor {
    /// The weights W.
    Weights,
    /// delta_x and delta_h.
    Deltas,
    /// G_t, dL/dM_t.
    Grads,
    /// MxV's result, W delta_t.
    Memory,
    /// MTxV's result, e = W^T G_t at the fired columns.
    InputGrads,
    /// VxV's result over a sequence, dW.
    WeightGrads,
}

impl Tensor {
    /// Every tensor.
    pub const ALL: [Tensor; 6] =
        [Tensor::Weights, Tensor::Deltas, Tensor::Grads, Tensor::Memory, Tensor::InputGrads, Tensor::WeightGrads];

    /// How errors name it.
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Weights => "W",
            Tensor::Deltas => "delta",
            Tensor::Grads => "G",
            Tensor::Memory => "W delta (MxV)",
            Tensor::InputGrads => "W^T G (MTxV)",
            Tensor::WeightGrads => "dW (VxV)",
        }
    }
}

/// A value the FXP16 format could not hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overflow {
    /// Which tensor.
    pub tensor: Tensor,
    /// Time step of the sequence (0 for the weights).
    pub step: usize,
    /// The value.
    pub value: f64,
    /// Its fraction bits.
    pub fraction_bits: u8,
}

impl Overflow {
    /// The largest magnitude a word with `fraction_bits` holds.
    pub fn limit(fraction_bits: u8) -> f64 {
        32767.0 / 2f64.powi(i32::from(fraction_bits))
    }
}

impl Datapath {
    /// Fraction bits of a tensor's words.
    pub fn fraction_bits(&self, tensor: Tensor) -> u8 {
        let q = self.q;
        match tensor {
            Tensor::Weights => q.weights,
            Tensor::Deltas => q.deltas,
            Tensor::Grads => q.grads,
            Tensor::Memory => q.weights + q.deltas,
            Tensor::InputGrads => q.weights + q.grads,
            Tensor::WeightGrads => q.grads + q.deltas,
        }
    }

    /// `x` as a word of `tensor`: BF16 rounds to nearest even (through f32); FXP16 rounds to
    /// nearest even at the tensor's fraction bits and refuses a value it cannot hold.
    pub fn encode(&self, tensor: Tensor, step: usize, x: f64) -> Result<u16, Overflow> {
        match self.format {
            Format::Bf16 => Ok(crate::sim::numeric::bf16_from_f32(x as f32)),
            Format::Fxp16 => {
                let f = self.fraction_bits(tensor);
                let scaled = (x * 2f64.powi(i32::from(f))).round_ties_even();
                if (-32768.0..=32767.0).contains(&scaled) {
                    Ok(scaled as i16 as u16)
                } else {
                    Err(Overflow { tensor, step, value: x, fraction_bits: f })
                }
            }
        }
    }

    /// The value of a word of `tensor`.
    pub fn decode(&self, tensor: Tensor, w: u16) -> f64 {
        match self.format {
            Format::Bf16 => f64::from(crate::sim::numeric::bf16_to_f32(w)),
            Format::Fxp16 => f64::from(w as i16) / 2f64.powi(i32::from(self.fraction_bits(tensor))),
        }
    }
}

/// The largest magnitude seen per [`Tensor`] (shared across threads; f32 bits of non-negative
/// values order like the values, so an atomic max on the bits is a max on the values).
#[derive(Debug, Default)]
pub struct TensorRanges([AtomicU32; 6]);

impl TensorRanges {
    /// Records `|x|` for `tensor`.
    pub fn record(&self, tensor: Tensor, x: f64) {
        let bits = (x.abs() as f32).to_bits();
        self.0[tensor as usize].fetch_max(bits, Ordering::Relaxed);
    }

    /// The largest magnitude recorded for `tensor`.
    pub fn max(&self, tensor: Tensor) -> f64 {
        f64::from(f32::from_bits(self.0[tensor as usize].load(Ordering::Relaxed)))
    }

    /// Takes in another's maxima.
    pub fn merge(&self, other: &TensorRanges) {
        for t in Tensor::ALL {
            self.record(t, other.max(t));
        }
    }
}

impl Clone for TensorRanges {
    fn clone(&self) -> Self {
        let copy = TensorRanges::default();
        copy.merge(self);
        copy
    }
}

/// What a forward or backward pass in a [`Datapath`] reports besides its values: the first FXP16
/// overflow, and the ranges of every tensor (for choosing a Q format).
#[derive(Debug, Clone, Default)]
pub struct DatapathReport {
    /// The first value the format could not hold.
    pub overflow: OnceLock<Overflow>,
    /// The largest magnitude of each tensor.
    pub ranges: TensorRanges,
}

/// Fraction bits for FXP16 words whose values reach `max` (with one bit of headroom): the most
/// that keep 2 max within 32767 / 2^f, at most [`MAX_FRACTION_BITS`]; negative when not even
/// 0 fraction bits hold it.
pub fn fraction_bits_for(max: f64) -> i32 {
    if max <= 0.0 {
        return i32::from(MAX_FRACTION_BITS);
    }
    if !max.is_finite() {
        return -1;
    }
    ((32767.0 / (2.0 * max)).log2().floor() as i32).min(i32::from(MAX_FRACTION_BITS))
}

/// The FXP16 Q format for tensors of these `ranges` (measured in BF16 on the first batch): the
/// one that gives the inputs (W, delta, G) the most fraction bits in total while each input and
/// each result (W delta, W^T G, dW) keeps its largest value with a bit of headroom; ties prefer
/// the most even split. `None` when no format holds them all.
pub fn choose_q_format(ranges: &TensorRanges) -> Option<QFormat> {
    let cap = |t: Tensor| fraction_bits_for(ranges.max(t));
    let (cw, cd, cg) = (cap(Tensor::Weights), cap(Tensor::Deltas), cap(Tensor::Grads));
    let (cm, ce, cdw) = (cap(Tensor::Memory), cap(Tensor::InputGrads), cap(Tensor::WeightGrads));
    let mut best: Option<(i32, i32, QFormat)> = None;
    for w in 0..=cw {
        for d in 0..=cd {
            for g in 0..=cg {
                if w + d > cm || w + g > ce || g + d > cdw {
                    continue;
                }
                let score = (w + d + g, w.min(d).min(g));
                if best.is_none_or(|(s, m, _)| score > (s, m)) {
                    best = Some((score.0, score.1, QFormat { weights: w as u8, deltas: d as u8, grads: g as u8 }));
                }
            }
        }
    }
    best.map(|(_, _, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_formats_parse_and_refuse_nonsense() {
        assert_eq!(QFormat::parse("8, 7,10").unwrap(), QFormat { weights: 8, deltas: 7, grads: 10 });
        for bad in ["8,7", "8,7,10,1", "8,x,1", "8,7,31", ""] {
            assert!(QFormat::parse(bad).unwrap_err().to_string().contains("three fraction-bit counts"), "{bad}");
        }
    }

    #[test]
    fn fxp16_words_round_to_even_and_refuse_what_they_cannot_hold() {
        let dp = Datapath { format: Format::Fxp16, q: QFormat { weights: 8, deltas: 4, grads: 12 } };
        assert_eq!(dp.encode(Tensor::Weights, 0, 1.5).unwrap() as i16, 384);
        // 1/512 is half a step of Q.8: ties to even (0); 3/512 rounds to 2/256.
        assert_eq!(dp.encode(Tensor::Weights, 0, 1.0 / 512.0).unwrap(), 0);
        assert_eq!(dp.encode(Tensor::Weights, 0, 3.0 / 512.0).unwrap(), 2);
        let err = dp.encode(Tensor::Deltas, 7, 5000.0).unwrap_err();
        assert_eq!((err.tensor, err.step, err.fraction_bits), (Tensor::Deltas, 7, 4));
        // A product word of W and delta has 12 fraction bits.
        assert_eq!(dp.decode(Tensor::Memory, 4096), 1.0);
    }

    #[test]
    fn the_chosen_q_format_holds_every_range() {
        let ranges = TensorRanges::default();
        for (t, v) in [
            (Tensor::Weights, 0.5),
            (Tensor::Deltas, 3.0),
            (Tensor::Grads, 0.01),
            (Tensor::Memory, 4.0),
            (Tensor::InputGrads, 0.02),
            (Tensor::WeightGrads, 0.5),
        ] {
            ranges.record(t, v);
            ranges.record(t, -v / 2.0);
        }
        let q = choose_q_format(&ranges).unwrap();
        let dp = Datapath { format: Format::Fxp16, q };
        for t in Tensor::ALL {
            assert!(2.0 * ranges.max(t) <= Overflow::limit(dp.fraction_bits(t)), "{t:?} {q}");
        }
        // Results cap the sums: W + D <= cap(4.0) = 11.
        assert!(q.weights + q.deltas <= 11, "{q}");
        // Nothing fits when a result is out of 16-bit range even at 0 fraction bits.
        ranges.record(Tensor::Memory, 1e6);
        assert_eq!(choose_q_format(&ranges), None);
    }
}
