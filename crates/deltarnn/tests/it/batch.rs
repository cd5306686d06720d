//! Dense BPTT of several sequences at once (the recurrent products as one matrix product per
//! step) gives what the per-sequence dense path gives, to round-off.

use super::{labels, small_model};
use deltarnn::nn::loss::frame_cross_entropy;
use deltarnn::nn::{CellKind, Mode, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;

#[test]
fn batched_dense_bptt_equals_the_per_sequence_dense_path() {
    let (features, hidden, classes) = (5, 7, 4);
    // Unequal lengths, ties, a one-frame sequence and an empty one, in no particular order.
    let lengths = [9usize, 3, 12, 1, 9, 0, 6];
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for n_layers in [1, 2] {
            let model = small_model::<f64>(cell, n_layers, features, hidden, classes, 11);
            let mut rng = Rng::seed(5);
            let xs: Vec<Vec<f64>> = lengths.iter().map(|&n| random_walk(&mut rng, n, features, 0.3)).collect();
            let ys: Vec<Vec<i64>> = lengths.iter().map(|&n| labels(&mut rng, n, classes)).collect();
            let scale = 1.0 / 37.0;

            let mut want = Params::zeros(&model.config);
            let mut tape = SequenceTape::default();
            let mut want_losses = Vec::new();
            let mut want_logits = Vec::new();
            for (x, y) in xs.iter().zip(&ys) {
                want_losses.push(model.loss_and_gradient(&mut want, &mut tape, x, y, Mode::Dense, scale, 0.0));
                want_logits.push(tape.logits.clone());
            }

            let mut got = Params::zeros(&model.config);
            let mut tapes = Vec::new();
            let x_refs: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
            let got_losses =
                model.dense_batch_loss_and_gradient_with(&mut got, &mut tapes, &x_refs, |s, logits, dlogits| {
                    frame_cross_entropy(dlogits, logits, &ys[s], classes, scale)
                });

            let context = format!("{cell} x{n_layers}");
            assert_eq!(got_losses.len(), lengths.len(), "{context}");
            for (s, (a, b)) in got_losses.iter().zip(&want_losses).enumerate() {
                assert_eq!(a.frames, b.frames, "{context} sequence {s}");
                assert!((a.cross_entropy_sum - b.cross_entropy_sum).abs() < 1e-12, "{context} sequence {s}");
            }
            for (s, (tape, want)) in tapes.iter().zip(&want_logits).enumerate() {
                assert_eq!(tape.logits.len(), want.len(), "{context} sequence {s}");
                for (a, b) in tape.logits.iter().zip(want) {
                    assert!((a - b).abs() < 1e-12, "{context} sequence {s}: {a} vs {b}");
                }
            }
            for (a, b) in got.slices().iter().zip(want.slices()) {
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{context}: gradient {x} vs {y}");
                }
            }
        }
    }
}

#[test]
fn batched_dense_gradient_matches_central_differences() {
    let (features, hidden, classes) = (3, 4, 3);
    let lengths = [5usize, 2, 7, 1];
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let model = small_model::<f64>(cell, 2, features, hidden, classes, 21);
        let mut rng = Rng::seed(8);
        let xs: Vec<Vec<f64>> = lengths.iter().map(|&n| random_walk(&mut rng, n, features, 0.3)).collect();
        let ys: Vec<Vec<i64>> = lengths.iter().map(|&n| labels(&mut rng, n, classes)).collect();
        let scale = 1.0 / 15.0;
        let loss = |model: &deltarnn::nn::Model<f64>| -> f64 {
            let mut tape = SequenceTape::default();
            xs.iter()
                .zip(&ys)
                .map(|(x, y)| {
                    model.forward(x, Mode::Dense, &mut tape);
                    let mut dlogits = vec![0.0; tape.logits.len()];
                    frame_cross_entropy(&mut dlogits, &tape.logits, y, classes, 1.0).0 * scale
                })
                .sum()
        };
        let mut analytic = Params::zeros(&model.config);
        let x_refs: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
        model.dense_batch_loss_and_gradient_with(&mut analytic, &mut Vec::new(), &x_refs, |s, logits, dlogits| {
            frame_cross_entropy(dlogits, logits, &ys[s], classes, scale)
        });
        let step = 1e-6;
        let mut probe = model.clone();
        let tensors = analytic.slices().len();
        for tensor in 0..tensors {
            for i in 0..analytic.slices()[tensor].len() {
                let original = probe.params.slices_mut()[tensor][i];
                probe.params.slices_mut()[tensor][i] = original + step;
                let up = loss(&probe);
                probe.params.slices_mut()[tensor][i] = original - step;
                let down = loss(&probe);
                probe.params.slices_mut()[tensor][i] = original;
                let numeric = (up - down) / (2.0 * step);
                let exact = analytic.slices()[tensor][i];
                assert!(
                    (numeric - exact).abs() <= 1e-7 + 1e-5 * exact.abs(),
                    "{cell}: tensor {tensor} entry {i}: numeric {numeric} vs batched {exact}"
                );
            }
        }
    }
}
