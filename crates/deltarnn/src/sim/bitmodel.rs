//! The bit-accurate software model of the accelerator's arithmetic: plain scalar loops over
//! the same operations as [`super::datapath`] (exact products, the same accumulator, the same
//! per-row column order, the same per-PE partial sums and adder-chain order for MTxV, the same
//! rounding on the way out), written without the program, PEs or cycles. Tests require its
//! outputs to equal the simulator's bit for bit.
#![allow(clippy::needless_range_loop)] // Index loops mirror the math here.

use super::datapath::{StepInputs, StepOutputs};
use super::numeric::{Arith, Bf16Arith, FixedArith, Format};

/// One training step of one layer: forward M_t for t = 0..T, then backward e and dW for
/// t = T-1..0, computed element by element.
///
/// Shapes: as [`super::datapath::execute`]. `pes` only fixes which rows each partial sum of
/// MTxV covers (rows r with r mod pes = p) and the chain order.
pub fn training_step(pes: usize, inputs: &StepInputs) -> StepOutputs {
    match inputs.format {
        Format::Bf16 => model(pes, inputs, &Bf16Arith, &Bf16Arith, &Bf16Arith),
        Format::Fxp16 => model(
            pes,
            inputs,
            &FixedArith::new(inputs.weights.encoding, inputs.delta_encoding),
            &FixedArith::new(inputs.weights.encoding, inputs.grads.encoding),
            &FixedArith::new(inputs.grads.encoding, inputs.delta_encoding),
        ),
    }
}

fn model<A: Arith, B: Arith, C: Arith>(
    pes: usize,
    inputs: &StepInputs,
    forward: &A,
    transposed: &B,
    outer: &C,
) -> StepOutputs {
    let (rows, cols, steps) = (inputs.rows, inputs.cols, inputs.columns.len());
    let w = |r: usize, j: u32| inputs.weights.words[j as usize * rows + r];
    let g = |t: usize, r: usize| inputs.grads.words[t * rows + r];
    let mut out = StepOutputs { memory: vec![0; steps * rows], e: vec![Vec::new(); steps], dw: vec![0; rows * cols] };

    // Forward: each row's memory accumulates every fired column of every step, in order.
    for r in 0..rows {
        let mut acc = forward.zero();
        for t in 0..steps {
            for k in 0..inputs.columns[t].len() {
                acc = forward.add(acc, forward.mul(w(r, inputs.columns[t][k]), inputs.deltas[t][k]));
            }
            out.memory[t * rows + r] = forward.narrow(acc, inputs.memory_encoding);
        }
    }

    // Backward, in reverse time.
    for t in (0..steps).rev() {
        let columns = &inputs.columns[t];
        for k in 0..columns.len() {
            let j = columns[k];
            // MTxV: partial sum p over rows p, p + pes, ...; then the chain in PE order.
            let mut partials = Vec::with_capacity(pes);
            for p in 0..pes {
                let mut s = transposed.zero();
                let mut r = p;
                while r < rows {
                    s = transposed.add(s, transposed.mul(w(r, j), g(t, r)));
                    r += pes;
                }
                partials.push(s);
            }
            let mut total = partials[0];
            for p in 1..pes {
                total = transposed.add(total, partials[p]);
            }
            out.e[t].push(transposed.narrow(total, inputs.e_encoding));
            // VxV: one rounding per element per step.
            for r in 0..rows {
                let idx = j as usize * rows + r;
                let sum =
                    outer.add(outer.widen(out.dw[idx], inputs.dw_encoding), outer.mul(g(t, r), inputs.deltas[t][k]));
                out.dw[idx] = outer.narrow(sum, inputs.dw_encoding);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::nn::CellKind;
    use crate::rng::Rng;
    use crate::sim::accuracy::{engine, quantize, StepValues};
    use crate::sim::numeric::Format;
    use crate::sim::{compile, datapath, generate_trace};

    #[test]
    fn simulator_datapath_equals_the_bit_model_bit_for_bit() {
        // Shapes with rows not a multiple of the PE count, fewer rows than PEs, empty steps.
        for (cell, f, h, steps, s) in [
            (CellKind::Lstm, 16, 64, 12, 0.8),
            (CellKind::Gru, 7, 5, 9, 0.3),
            (CellKind::Lstm, 3, 1, 6, 0.5),
            (CellKind::Lstm, 40, 20, 5, 0.95),
        ] {
            let trace = generate_trace(f, h, steps, s, &mut Rng::seed(5));
            let program = compile(cell, &trace, false);
            let values = StepValues::random(program.rows, &trace, 1e-3, 17);
            let exact = engine(&values);
            for format in [Format::Bf16, Format::Fxp16] {
                let inputs = quantize(format, &values, &exact);
                for pes in [1, 3, 16, 64] {
                    let sim = datapath::execute(pes, &program, &inputs);
                    let model = super::training_step(pes, &inputs);
                    assert_eq!(sim, model, "{cell:?} {f}x{h} {format:?} pes {pes}");
                    assert!(sim.dw.iter().any(|&w| w != 0), "something was computed");
                }
            }
        }
    }

    #[test]
    fn the_adder_chain_order_decides_bf16_bits() {
        use crate::sim::numeric::{bf16_from_f32, Bf16Arith, Encoding};
        // Products 1, 2^-8, 0, 2^-24, 0, 2^-24. In row order the two 2^-24 are lost to f32 ties
        // and the sum 1 + 2^-8 is a BF16 tie (rounds to 1.0); with two PEs, PE 1 sums
        // 2^-8 + 2^-23 exactly and the chain gives 1 + 2^-8 + 2^-23, which rounds up.
        let w: Vec<u16> =
            [1.0, 2f32.powi(-8), 0.0, 2f32.powi(-24), 0.0, 2f32.powi(-24)].iter().map(|&x| bf16_from_f32(x)).collect();
        let g = vec![bf16_from_f32(1.0); 6];
        let mut e = [0u16; 1];
        datapath::mtxv(&Bf16Arith, 1, &mut e, &w, 6, &[0], &g, Encoding::Bf16);
        assert_eq!(e[0], 0x3F80);
        datapath::mtxv(&Bf16Arith, 2, &mut e, &w, 6, &[0], &g, Encoding::Bf16);
        assert_eq!(e[0], 0x3F81);
    }
}
