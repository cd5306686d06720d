//! Real values for a training step, the f64 engine's answer, and the error bound the
//! accelerator's formats must meet against it.
//!
//! **Stated error bounds**, per output element, against the f64 engine on the unquantised inputs
//! (terms t_i = w_i x_i of the element's sum, A = sum |t_i|, n = adds into the accumulator):
//!
//! * input quantisation, per term: BF16 (2u + u^2)|t_i| with u = 2^-8; FXP16
//!   |w| h_x + |x| h_w + h_w h_x with h = 2^-(f+1) of each tensor. Their sum is Q.
//! * M_t and e (one rounding on the way out): BF16 u |S| + (1 + u)(gamma_n (A + Q) + Q) with
//!   gamma_n = n 2^-24 / (1 - n 2^-24) for the f32 accumulator; FXP16 h_out + Q (the 40-bit
//!   accumulator is exact unless it saturates, which [`Accuracy::saturated`] reports).
//! * dW (read, add, round back every step it is touched, K times): BF16
//!   1.01 (Q + (u + 2^-24 (1 + u)) B) with B the sum over those steps of the running A;
//!   FXP16 Q + K h_out. The 1.01 covers second-order terms.
#![allow(clippy::needless_range_loop)] // Index loops mirror the sums the bounds are made of.

use super::datapath::{StepInputs, StepOutputs};
use super::numeric::{Encoding, Format, Quantized};
use crate::delta::ActivityTrace;
use crate::kernels::{spmv_backward, spmv_forward, ColMajor};
use crate::rng::Rng;

/// One layer's training-step values in full precision.
#[derive(Debug, Clone, PartialEq)]
pub struct StepValues {
    /// W = [W_x, W_h] (rows x cols).
    pub weights: ColMajor<f64>,
    /// Per step, the fired columns (combined index space) and their deltas.
    pub columns: Vec<Vec<u32>>,
    /// Per step, the delta of each fired column.
    pub deltas: Vec<Vec<f64>>,
    /// G_t per step (steps x rows).
    pub grads: Vec<f64>,
}

impl StepValues {
    /// Seeded values for `trace` (its deltas as recorded): weights uniform in
    /// +-sqrt(6 / (rows + cols)) (Xavier) and G_t normal with standard deviation `grad_scale`,
    /// all rounded to f32 as the engine holds them.
    pub fn random<T: crate::kernels::Real>(rows: usize, trace: &ActivityTrace<T>, grad_scale: f64, seed: u64) -> Self {
        let cols = trace.n_input + trace.n_hidden;
        let mut rng = Rng::seed(seed);
        let limit = (6.0 / (rows + cols) as f64).sqrt();
        let weights = (0..rows * cols).map(|_| f64::from(rng.uniform_range(-limit, limit) as f32)).collect();
        let grads = (0..trace.steps() * rows).map(|_| f64::from((rng.normal() * grad_scale) as f32)).collect();
        let (mut columns, mut deltas) = (Vec::new(), Vec::new());
        for t in 0..trace.steps() {
            let (c, v) = trace.combined_step(t);
            columns.push(c);
            deltas.push(v.iter().map(|x| x.to_f64()).collect());
        }
        StepValues { weights: ColMajor { rows, cols, data: weights }, columns, deltas, grads }
    }

    /// Steps.
    pub fn steps(&self) -> usize {
        self.columns.len()
    }
}

/// The f64 engine's outputs (the library's own kernels), and the magnitudes the bounds need.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOutputs {
    /// M_t per step (steps x rows).
    pub memory: Vec<f64>,
    /// e per step and fired column.
    pub e: Vec<Vec<f64>>,
    /// dW (rows x cols).
    pub dw: ColMajor<f64>,
}

/// Runs the values through [`spmv_forward`] and [`spmv_backward`] in f64.
pub fn engine(values: &StepValues) -> EngineOutputs {
    let (rows, cols) = (values.weights.rows, values.weights.cols);
    let steps = values.steps();
    let mut acc = vec![0.0; rows];
    let mut memory = Vec::with_capacity(steps * rows);
    for t in 0..steps {
        spmv_forward(&mut acc, &values.weights, values.columns[t].as_slice(), &values.deltas[t]);
        memory.extend_from_slice(&acc);
    }
    let mut e = vec![Vec::new(); steps];
    let mut dw = ColMajor::zeros(rows, cols);
    for t in (0..steps).rev() {
        e[t] = vec![0.0; values.columns[t].len()];
        let g = &values.grads[t * rows..(t + 1) * rows];
        spmv_backward(&mut e[t], &mut dw, &values.weights, g, values.columns[t].as_slice(), &values.deltas[t]);
    }
    EngineOutputs { memory, e, dw }
}

/// Quantises `values` for a datapath of `format`. FXP16 fraction bits are chosen per tensor
/// from its largest magnitude; the output tensors' from the engine's ranges with 1/8 headroom
/// (a deployment calibrates its scales on recorded data the same way).
pub fn quantize(format: Format, values: &StepValues, engine: &EngineOutputs) -> StepInputs {
    let max_abs = |xs: &mut dyn Iterator<Item = f64>| xs.fold(0.0f64, |m, x| m.max(x.abs()));
    let delta_range = max_abs(&mut values.deltas.iter().flatten().copied());
    let delta_encoding = Encoding::for_range(format, delta_range);
    let headroom = 1.125;
    StepInputs {
        format,
        rows: values.weights.rows,
        cols: values.weights.cols,
        weights: Quantized::new(format, &values.weights.data, None),
        columns: values.columns.clone(),
        deltas: values.deltas.iter().map(|d| d.iter().map(|&x| delta_encoding.encode(x)).collect()).collect(),
        delta_encoding,
        grads: Quantized::new(format, &values.grads, None),
        memory_encoding: Encoding::for_range(format, headroom * max_abs(&mut engine.memory.iter().copied())),
        e_encoding: Encoding::for_range(format, headroom * max_abs(&mut engine.e.iter().flatten().copied())),
        dw_encoding: Encoding::for_range(format, headroom * max_abs(&mut engine.dw.data.iter().copied())),
    }
}

/// How far the datapath's outputs are from the f64 engine, against the stated bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Accuracy {
    /// Largest |datapath - engine| over M_t.
    pub memory_max_error: f64,
    /// Largest |datapath - engine| over e.
    pub e_max_error: f64,
    /// Largest |datapath - engine| over dW.
    pub dw_max_error: f64,
    /// Largest error / bound over every output element (at most 1 when the bound holds).
    pub worst_bound_ratio: f64,
    /// Output words at a FXP16 rail (+32767 or -32768): the bound assumes none.
    pub saturated: u64,
}

impl Accuracy {
    /// Whether every element is within its bound.
    pub fn within_bound(&self) -> bool {
        self.worst_bound_ratio <= 1.0
    }
}

const U_BF16: f64 = 1.0 / 256.0;
const U_F32: f64 = 1.0 / 16_777_216.0;

/// Error bound of one quantised product (see the module docs).
fn term_error(w: f64, x: f64, we: Encoding, xe: Encoding) -> f64 {
    match (we, xe) {
        (Encoding::Bf16, _) | (_, Encoding::Bf16) => (2.0 * U_BF16 + U_BF16 * U_BF16) * (w * x).abs(),
        _ => {
            let (hw, hx) = (we.half_ulp(0.0), xe.half_ulp(0.0));
            w.abs() * hx + x.abs() * hw + hw * hx
        }
    }
}

fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U_F32;
    nu / (1.0 - nu)
}

/// Bound of an output with one rounding (M_t, e).
fn single_rounding_bound(format: Format, out: Encoding, exact: f64, abs_sum: f64, q: f64, n: usize) -> f64 {
    let slack = 1e-12 * abs_sum; // the f64 engine's own rounding
    match format {
        Format::Bf16 => U_BF16 * exact.abs() + (1.0 + U_BF16) * (gamma(n) * (abs_sum + q) + q) + slack,
        Format::Fxp16 => out.half_ulp(0.0) + q + slack,
    }
}

/// Compares the datapath's `outputs` for `inputs` with the engine, element by element.
pub fn compare(values: &StepValues, inputs: &StepInputs, engine: &EngineOutputs, outputs: &StepOutputs) -> Accuracy {
    let (rows, cols, steps) = (inputs.rows, inputs.cols, values.steps());
    let (we, de, ge) = (inputs.weights.encoding, inputs.delta_encoding, inputs.grads.encoding);
    let w = &values.weights;
    let mut acc = Accuracy::default();
    let mut ratio = |error: f64, bound: f64| {
        acc.worst_bound_ratio =
            acc.worst_bound_ratio.max(if bound > 0.0 { error / bound } else { error * f64::INFINITY });
    };
    let mut saturated = 0u64;
    let mut rail = |word: u16, e: Encoding| {
        if matches!(e, Encoding::Fixed { .. }) && (word == 0x7FFF || word == 0x8000) {
            saturated += 1;
        }
    };
    let mut worst = [0.0f64; 3];

    // M_t: the accumulator keeps every product since step 0.
    let (mut abs_sum, mut q, mut n) = (vec![0.0; rows], vec![0.0; rows], 0usize);
    for t in 0..steps {
        for (&j, &x) in values.columns[t].iter().zip(&values.deltas[t]) {
            for r in 0..rows {
                let wr = w.get(r, j as usize);
                abs_sum[r] += (wr * x).abs();
                q[r] += term_error(wr, x, we, de);
            }
        }
        n += values.columns[t].len();
        for r in 0..rows {
            let word = outputs.memory[t * rows + r];
            rail(word, inputs.memory_encoding);
            let (got, exact) = (inputs.memory_encoding.decode(word), engine.memory[t * rows + r]);
            let error = (got - exact).abs();
            worst[0] = worst[0].max(error);
            ratio(error, single_rounding_bound(inputs.format, inputs.memory_encoding, exact, abs_sum[r], q[r], n));
        }
    }

    // e: one dot product of rows terms per fired column.
    for t in 0..steps {
        let g = &values.grads[t * rows..(t + 1) * rows];
        for (k, &j) in values.columns[t].iter().enumerate() {
            let (mut a, mut qe) = (0.0, 0.0);
            for r in 0..rows {
                let wr = w.get(r, j as usize);
                a += (wr * g[r]).abs();
                qe += term_error(wr, g[r], we, ge);
            }
            let word = outputs.e[t][k];
            rail(word, inputs.e_encoding);
            let (got, exact) = (inputs.e_encoding.decode(word), engine.e[t][k]);
            let error = (got - exact).abs();
            worst[1] = worst[1].max(error);
            ratio(error, single_rounding_bound(inputs.format, inputs.e_encoding, exact, a, qe, rows));
        }
    }

    // dW: rounded back every step it is touched, in reverse time.
    let (mut running, mut summed, mut qd, mut touched) =
        (vec![0.0; rows * cols], vec![0.0; rows * cols], vec![0.0; rows * cols], vec![0u32; rows * cols]);
    for t in (0..steps).rev() {
        let g = &values.grads[t * rows..(t + 1) * rows];
        for (&j, &x) in values.columns[t].iter().zip(&values.deltas[t]) {
            for r in 0..rows {
                let idx = j as usize * rows + r;
                running[idx] += (g[r] * x).abs();
                summed[idx] += running[idx];
                qd[idx] += term_error(g[r], x, ge, de);
                touched[idx] += 1;
            }
        }
    }
    for idx in 0..rows * cols {
        let word = outputs.dw[idx];
        rail(word, inputs.dw_encoding);
        let (got, exact) = (inputs.dw_encoding.decode(word), engine.dw.data[idx]);
        let error = (got - exact).abs();
        worst[2] = worst[2].max(error);
        let slack = 1e-12 * running[idx];
        let bound = match inputs.format {
            Format::Bf16 => 1.01 * (qd[idx] + (U_BF16 + U_F32 * (1.0 + U_BF16)) * summed[idx]) + slack,
            Format::Fxp16 => qd[idx] + f64::from(touched[idx]) * inputs.dw_encoding.half_ulp(0.0) + slack,
        };
        ratio(error, bound);
    }
    acc.memory_max_error = worst[0];
    acc.e_max_error = worst[1];
    acc.dw_max_error = worst[2];
    acc.saturated = saturated;
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::CellKind;
    use crate::sim::{check_values, datapath, generate_trace, SimConfig};

    #[test]
    fn each_instruction_agrees_with_the_f64_engine_within_the_stated_bound() {
        for (f, h, steps, s, grad_scale) in [(16, 64, 20, 0.8, 1e-3), (40, 24, 7, 0.3, 1.0), (5, 3, 4, 0.0, 0.1)] {
            let trace = generate_trace(f, h, steps, s, &mut Rng::seed(8));
            let program = crate::sim::compile(CellKind::Lstm, &trace, false);
            let values = StepValues::random(program.rows, &trace, grad_scale, 4);
            let exact = engine(&values);
            for format in [Format::Bf16, Format::Fxp16] {
                let inputs = quantize(format, &values, &exact);
                let outputs = datapath::execute(16, &program, &inputs);
                let acc = compare(&values, &inputs, &exact, &outputs);
                assert!(acc.within_bound(), "{format:?} {f}x{h}: {acc:?}");
                assert_eq!(acc.saturated, 0, "{format:?}: {acc:?}");
                // The bound is not vacuous: the errors are real and of the format's order.
                assert!(acc.memory_max_error > 0.0 && acc.worst_bound_ratio > 1e-3, "{format:?}: {acc:?}");
            }
        }
    }

    #[test]
    fn a_planted_error_breaks_the_bound() {
        let trace = generate_trace(16, 16, 6, 0.5, &mut Rng::seed(1));
        let program = crate::sim::compile(CellKind::Gru, &trace, false);
        let values = StepValues::random(program.rows, &trace, 1e-2, 2);
        let exact = engine(&values);
        for format in [Format::Bf16, Format::Fxp16] {
            let inputs = quantize(format, &values, &exact);
            let mut outputs = datapath::execute(4, &program, &inputs);
            // The largest e off by half its value.
            let (mut best, mut at) = (0.0, (0, 0));
            for (t, es) in outputs.e.iter().enumerate() {
                for (k, &w) in es.iter().enumerate() {
                    if inputs.e_encoding.decode(w).abs() > best {
                        (best, at) = (inputs.e_encoding.decode(w).abs(), (t, k));
                    }
                }
            }
            let planted = 1.5 * inputs.e_encoding.decode(outputs.e[at.0][at.1]);
            outputs.e[at.0][at.1] = inputs.e_encoding.encode(planted);
            assert!(!compare(&values, &inputs, &exact, &outputs).within_bound(), "{format:?}");
        }
    }

    #[test]
    fn check_values_reports_bits_and_bound_on_a_256_wide_layer() {
        let trace = generate_trace(256, 256, 4, 0.9, &mut Rng::seed(3));
        for format in [Format::Bf16, Format::Fxp16] {
            let check = check_values(&SimConfig::default(), format, CellKind::Lstm, &trace, 1e-3, 1).unwrap();
            assert!(check.bit_identical && check.accuracy.within_bound(), "{check:?}");
        }
    }
}
