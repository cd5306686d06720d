//! Delta invariants: threshold 0 is a standard LSTM/GRU; the sparse backward equals dense BPTT
//! of the equivalent network M_t = b + W vref_t; M_t == b + W vref_t along a sequence; higher
//! thresholds do less work.

use super::small_model;
use deltarnn::cost::CostReport;
use deltarnn::kernels::reference;
use deltarnn::nn::{gru, lstm, CellKind, Layer, LayerTape, Mode, SequenceTape, MATRIX_PRODUCT_FROM};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::Thresholds;

#[test]
fn threshold_zero_equals_standard_rnn() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for n_layers in [1, 2] {
            let model = small_model::<f64>(cell, n_layers, 6, 9, 5, 3);
            let x = random_walk::<f64>(&mut Rng::seed(4), 40, 6, 0.3);
            let (mut delta, mut dense) = (SequenceTape::default(), SequenceTape::default());
            model.forward(&x, Mode::Delta(Thresholds::ZERO), &mut delta);
            model.forward(&x, Mode::Dense, &mut dense);
            for (a, b) in delta.logits.iter().zip(&dense.logits) {
                assert!((a - b).abs() < 1e-12, "{cell} x{n_layers}: {a} vs {b}");
            }
            // f32: the telescoping sum rounds differently, so agreement is to f32 round-off.
            let model = model.cast::<f32>();
            let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let (mut delta, mut dense) = (SequenceTape::default(), SequenceTape::default());
            model.forward(&x, Mode::Delta(Thresholds::ZERO), &mut delta);
            model.forward(&x, Mode::Dense, &mut dense);
            for (a, b) in delta.logits.iter().zip(&dense.logits) {
                assert!((a - b).abs() < 2e-5, "f32 {cell} x{n_layers}: {a} vs {b}");
            }
            let cost = CostReport::from_tape(&model.config, &delta, Mode::Delta(Thresholds::ZERO)).total();
            assert_eq!(cost.training().actual_macs, cost.training().dense_macs);
        }
    }
}

/// Dense BPTT of the equivalent network M_t = b + W vref_t for one layer, written independently
/// of the sparse code: per-step gate gradients g_t (never accumulated), dL/dvref_t = W^T g_t,
/// dW += g_t vref_t^T, db += g_t; a value sent at t receives the dL/dvref of every step until it
/// is sent again. Returns (grads, dL/dinputs).
fn equivalent_dense_bptt(layer: &Layer<f64>, tape: &LayerTape<f64>, dh_ext: &[f64]) -> (Layer<f64>, Vec<f64>) {
    let (f, h, steps) = (layer.n_input, layer.n_hidden, tape.steps);
    let rows = layer.w_x.rows;
    let (xo, ho) = (layer.input_offset(), layer.hidden_offset());
    // Rebuild vref_t and the fire masks from the trace.
    let mut x_refs = vec![vec![0.0; f]; steps];
    let mut h_refs = vec![vec![0.0; h]; steps];
    let mut fired_x = vec![vec![false; f]; steps];
    let mut fired_h = vec![vec![false; h]; steps];
    let (mut xr, mut hr) = (vec![0.0; f], vec![0.0; h]);
    for t in 0..steps {
        let (idx, val) = tape.trace.input.step(t);
        for (&j, &d) in idx.iter().zip(val) {
            xr[j as usize] += d;
            fired_x[t][j as usize] = true;
        }
        let (idx, val) = tape.trace.hidden.step(t);
        for (&j, &d) in idx.iter().zip(val) {
            hr[j as usize] += d;
            fired_h[t][j as usize] = true;
        }
        x_refs[t] = xr.clone();
        h_refs[t] = hr.clone();
    }
    let mut grads = Layer::zeros(layer.cell, f, h);
    let mut dinputs = vec![0.0; steps * f];
    let (mut pending_x, mut pending_h) = (vec![0.0; f], vec![0.0; h]);
    let mut carry = vec![0.0; h];
    let mut dh_rec = vec![0.0; h];
    let zeros = vec![0.0; h];
    for t in (0..steps).rev() {
        // Recompute the memory densely from the reference state, and check the tape against it.
        let mut memory = vec![0.0; 4 * h];
        layer.initial_memory(&mut memory);
        reference::matvec_acc(&mut memory[xo..xo + rows], &layer.w_x, &x_refs[t]);
        reference::matvec_acc(&mut memory[ho..ho + rows], &layer.w_h, &h_refs[t]);
        let h_prev = if t == 0 { &zeros[..] } else { tape.h(t - 1) };
        let dh: Vec<f64> = (0..h).map(|k| dh_ext[t * h + k] + dh_rec[k]).collect();
        let mut g = vec![0.0; 4 * h];
        match layer.cell {
            CellKind::Lstm => {
                let c_prev =
                    if t == 0 { zeros.clone() } else { tape.cell[(t - 1) * 2 * h..(t - 1) * 2 * h + h].to_vec() };
                let (mut gates, mut cell, mut h_out) = (vec![0.0; 4 * h], vec![0.0; 2 * h], vec![0.0; h]);
                lstm::lstm_forward_step_portable(&mut gates, &mut cell, &mut h_out, &memory, &c_prev);
                for (a, b) in h_out.iter().zip(tape.h(t)) {
                    assert!((a - b).abs() < 1e-12, "h_t from b + W vref_t differs from the delta memory");
                }
                lstm::lstm_backward_step_portable(&mut g, &mut carry, &dh, &gates, &cell, &c_prev);
            }
            CellKind::Gru => {
                let (mut gates, mut h_out) = (vec![0.0; 4 * h], vec![0.0; h]);
                gru::gru_forward_step_portable(&mut gates, &mut h_out, &memory, h_prev);
                for (a, b) in h_out.iter().zip(tape.h(t)) {
                    assert!((a - b).abs() < 1e-12, "h_t from b + W vref_t differs from the delta memory");
                }
                gru::gru_backward_step_portable(&mut g, &mut carry, &dh, &gates, h_prev);
            }
        }
        let (gx, gh) = (&g[xo..xo + rows], &g[ho..ho + rows]);
        reference::outer_acc(&mut grads.w_x, gx, &x_refs[t]);
        reference::outer_acc(&mut grads.w_h, gh, &h_refs[t]);
        for r in 0..rows {
            grads.b_x[r] += gx[r];
            grads.b_h[r] += gh[r];
        }
        let mut d_xref = vec![0.0; f];
        let mut d_href = vec![0.0; h];
        reference::matvec_transposed(&mut d_xref, &layer.w_x, gx);
        reference::matvec_transposed(&mut d_href, &layer.w_h, gh);
        for j in 0..f {
            pending_x[j] += d_xref[j];
            if fired_x[t][j] {
                dinputs[t * f + j] = pending_x[j];
                pending_x[j] = 0.0;
            }
        }
        dh_rec.fill(0.0);
        for j in 0..h {
            pending_h[j] += d_href[j];
            if fired_h[t][j] {
                dh_rec[j] = pending_h[j];
                pending_h[j] = 0.0;
            }
        }
    }
    (grads, dinputs)
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-11 * (1.0 + x.abs()), "{what}[{i}]: sparse {x} vs dense {y}");
    }
}

#[test]
fn sparse_backward_equals_dense_bptt_of_equivalent_network() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for theta in [0.0, 0.1, 0.3] {
            let model = small_model::<f64>(cell, 1, 7, 10, 3, 17);
            let layer = &model.params.layers[0];
            let mut rng = Rng::seed(18);
            let steps = 30;
            let x = random_walk::<f64>(&mut rng, steps, 7, 0.3);
            let dh_ext: Vec<f64> = (0..steps * 10).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let mut tape = LayerTape::new();
            let mode = Mode::Delta(Thresholds::both(theta));
            layer.forward(&x, steps, mode, &mut tape);
            let mut sparse = Layer::zeros(cell, 7, 10);
            let mut dx = vec![0.0; x.len()];
            layer.backward(&mut sparse, Some(&mut dx), &x, &tape, mode, &dh_ext, 0.0);
            let (dense, dx_dense) = equivalent_dense_bptt(layer, &tape, &dh_ext);
            let what = format!("{cell} theta {theta}");
            assert_close(&sparse.w_x.data, &dense.w_x.data, &format!("{what} dW_x"));
            assert_close(&sparse.w_h.data, &dense.w_h.data, &format!("{what} dW_h"));
            assert_close(&sparse.b_x, &dense.b_x, &format!("{what} db_x"));
            assert_close(&sparse.b_h, &dense.b_h, &format!("{what} db_h"));
            assert_close(&dx, &dx_dense, &format!("{what} dx"));
        }
    }
}

#[test]
fn memory_equals_bias_plus_weights_times_reference_state() {
    // The first thresholds fire most inputs (the input part runs as one matrix product), the
    // second few (per fired column, as streaming does).
    let cases = [(CellKind::Lstm, 0.15), (CellKind::Gru, 0.15), (CellKind::Lstm, 0.6), (CellKind::Gru, 0.6)];
    let (mut exact_checks, mut close_checks) = (0, 0);
    for (cell, input_threshold) in cases {
        let model = small_model::<f64>(cell, 2, 5, 8, 4, 23);
        let x = random_walk::<f64>(&mut Rng::seed(24), 50, 5, 0.3);
        let thresholds = Thresholds { input: input_threshold, hidden: 0.05 };
        let mut state = model.new_stream();
        let mut tape = SequenceTape::default();
        model.forward(&x, Mode::Delta(thresholds), &mut tape);
        for (t, frame) in x.chunks_exact(5).enumerate() {
            model.stream_step(&mut state, frame, thresholds);
            let mut exact = true; // every layer so far ran per fired column, as streaming does
            for (k, (layer, s)) in model.params.layers.iter().zip(&state.layers).enumerate() {
                let mut expected = vec![0.0; layer.memory_len()];
                layer.initial_memory(&mut expected);
                let rows = layer.w_x.rows;
                let (xo, ho) = (layer.input_offset(), layer.hidden_offset());
                reference::matvec_acc(&mut expected[xo..xo + rows], &layer.w_x, &s.x_ref);
                reference::matvec_acc(&mut expected[ho..ho + rows], &layer.w_h, &s.h_ref);
                assert_close(&s.memory, &expected, &format!("{cell} layer {k} step {t} memory"));
                // Streaming and whole-sequence forward run the same code (identical bits) unless
                // the sequence computed its input part as one matrix product (most inputs fired).
                let trace = &tape.layers[k].trace.input;
                exact &= (trace.fired() as f64) < MATRIX_PRODUCT_FROM * (50 * layer.n_input) as f64;
                if exact {
                    assert_eq!(&s.h[..], tape.layers[k].h(t), "{cell} layer {k} step {t}");
                    exact_checks += 1;
                } else {
                    assert_close(&s.h, tape.layers[k].h(t), &format!("{cell} layer {k} step {t} h"));
                    close_checks += 1;
                }
            }
            // The sequence head is one matrix-matrix product, the streaming head one matrix-vector
            // product per frame: same values, different summation order.
            assert_close(&state.logits, &tape.logits[t * 4..(t + 1) * 4], &format!("{cell} step {t} logits"));
        }
    }
    assert!(exact_checks > 0 && close_checks > 0, "both forms covered: {exact_checks} exact, {close_checks} close");
}

/// Not a theorem for single sequences: a low threshold can fire early, move its reference and
/// skip a change a higher threshold sends (e.g. 1.7, 2.6, 0.6 fires once at 1.5 and twice at 2.0).
/// Over a batch of speech-like sequences the total work falls as thresholds rise; this checks that.
#[test]
fn raising_a_threshold_does_not_raise_the_op_count() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let model = small_model::<f32>(cell, 2, 16, 32, 5, 31);
        let mut rng = Rng::seed(32);
        let batch: Vec<Vec<f32>> = (0..16).map(|_| random_walk(&mut rng, 80, 16, 0.2)).collect();
        let mut previous = u64::MAX;
        for theta in [0.0, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0] {
            let mode = Mode::Delta(Thresholds::both(theta));
            let mut total = CostReport::default();
            let mut tape = SequenceTape::default();
            for x in &batch {
                model.forward(x, mode, &mut tape);
                total.add(&CostReport::from_tape(&model.config, &tape, mode));
            }
            let ops = total.total().training().actual_macs;
            assert!(ops <= previous, "{cell}: theta {theta} costs {ops} MACs, more than {previous}");
            previous = ops;
        }
    }
}

#[test]
fn cost_model_counts_fired_columns_times_rows() {
    let model = small_model::<f64>(CellKind::Gru, 1, 4, 6, 3, 41);
    let x = random_walk::<f64>(&mut Rng::seed(42), 20, 4, 0.3);
    let mode = Mode::Delta(Thresholds::both(0.2));
    let mut tape = SequenceTape::default();
    model.forward(&x, mode, &mut tape);
    let cost = CostReport::from_tape(&model.config, &tape, mode);
    let trace = &tape.layers[0].trace;
    let fired: usize = (0..20).map(|t| trace.input.step(t).0.len() + trace.hidden.step(t).0.len()).sum();
    let layer = cost.layers[0];
    assert_eq!(layer.forward_mxv.actual_macs, (fired * 18) as u64);
    assert_eq!(layer.forward_mxv.dense_macs, (20 * 18 * 10) as u64);
    assert_eq!(layer.training().actual_macs, 3 * layer.forward_mxv.actual_macs);
}
