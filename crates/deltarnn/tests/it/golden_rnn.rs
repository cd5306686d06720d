//! Golden values from an independent numpy implementation (tools/golden/rnn.py; its output is
//! pasted below verbatim). Weights come from closed-form formulas in PyTorch's layout and go
//! through the checkpoint importer, so the PyTorch name/layout conversion is checked too.

#![allow(clippy::excessive_precision)] // numpy prints 17 significant digits; kept verbatim.

use deltarnn::checkpoint::{self, from_pytorch_tensors, layer_tensor_names};
use deltarnn::kernels::Real;
use deltarnn::nn::{CellKind, Mode, Model, ModelConfig, SequenceTape};
use deltarnn::Thresholds;
use std::collections::HashMap;
use std::path::Path;

// Output of `python3 tools/golden/rnn.py` (numpy, float64).
const LSTM_DENSE: [f64; 21] = [
    1.30346520847695324e-01,
    1.10324128409937799e-01,
    -8.94228995773655860e-02,
    4.36617687406628541e-02,
    7.36446126450460981e-02,
    -5.88462296026444551e-02,
    -1.37682324000814593e-02,
    4.52316339545600077e-02,
    -4.48791179996980913e-02,
    -5.46348533530982561e-02,
    2.02293730706313846e-02,
    -4.22580648497241501e-02,
    -8.08620481950205749e-02,
    3.68714155171026570e-03,
    -4.13352630827979114e-02,
    -9.68297121133516181e-02,
    -3.49331136346245352e-03,
    -3.63514257911348448e-02,
    -1.07807909306275596e-01,
    -9.74451952186158876e-03,
    -3.49356040402921675e-02,
];
const LSTM_DELTA_0_1: [f64; 21] = [
    1.36351776870355629e-01,
    1.08396762160428664e-01,
    -9.83764176359715886e-02,
    5.14293266076328304e-02,
    7.77543347722024492e-02,
    -6.03272097478829775e-02,
    -1.92192406566016327e-03,
    5.13173421068790769e-02,
    -4.74162136653298524e-02,
    -4.07801084957585269e-02,
    2.71383173120167409e-02,
    -4.55443056562483128e-02,
    -6.83543892008827147e-02,
    9.06553387014782941e-03,
    -4.56156793871200089e-02,
    -8.56748519886799675e-02,
    -4.75194302338660668e-03,
    -4.94315950993302403e-02,
    -9.39552099486465342e-02,
    -4.77842909562592455e-03,
    -4.11917524702119092e-02,
];
const GRU_DENSE: [f64; 21] = [
    -4.93050940040647978e-02,
    7.45690962698084825e-02,
    3.55348012974271016e-02,
    -2.50186639075680950e-01,
    4.35272719896770410e-03,
    1.29007463762409624e-01,
    -3.53742091905747125e-01,
    -4.03276819297351541e-02,
    1.64215992898949892e-01,
    -4.07423142736639043e-01,
    -8.34254854041282246e-02,
    1.51971007176818107e-01,
    -4.44236170111928841e-01,
    -1.20940612259447661e-01,
    1.31397731191552736e-01,
    -4.69405355412919056e-01,
    -1.45536988864856415e-01,
    1.18942223528235289e-01,
    -4.80655333655456429e-01,
    -1.64484881755343287e-01,
    1.01207906085188246e-01,
];
const GRU_DELTA_0_1: [f64; 21] = [
    -4.93050940040647978e-02,
    7.45690962698084825e-02,
    3.55348012974271016e-02,
    -2.50019855264643320e-01,
    2.90938874907964440e-03,
    1.26632827677363613e-01,
    -3.49645966282231990e-01,
    -4.24590206653610303e-02,
    1.56859591714634317e-01,
    -4.06307389640846117e-01,
    -8.67803883835379375e-02,
    1.45723311415227263e-01,
    -4.43364709194741691e-01,
    -1.24587838039744686e-01,
    1.24947165987720168e-01,
    -4.73561653963308404e-01,
    -1.53412850787739780e-01,
    1.11050939158927151e-01,
    -4.88640759965387916e-01,
    -1.72579430433265985e-01,
    9.68112277633133983e-02,
];

const F: usize = 3;
const H: usize = 4;
const C: usize = 3;
const T: usize = 7;

fn weight(rows: usize, cols: usize, seed: f64) -> Vec<f64> {
    (0..rows * cols).map(|i| 0.5 * (0.7 * (i / cols) as f64 + 1.3 * (i % cols) as f64 + seed).sin()).collect()
}

fn vector(n: usize, seed: f64) -> Vec<f64> {
    (0..n).map(|i| 0.3 * (1.1 * i as f64 + seed).cos()).collect()
}

fn inputs() -> Vec<f64> {
    (0..T * F)
        .map(|i| {
            let (t, f) = ((i / F) as f64, (i % F) as f64);
            (0.4 * t + 0.9 * f).sin() + 0.2 * (1.7 * t * (f + 1.0)).cos()
        })
        .collect()
}

fn tensors(cell: CellKind) -> (ModelConfig, HashMap<String, Vec<f64>>) {
    let config =
        ModelConfig { cell, n_features: F, n_layers: 2, n_hidden: H, n_classes: C, thresholds: Thresholds::both(0.1) };
    let rows = cell.gates() * H;
    let mut map = HashMap::new();
    for k in 0..2 {
        let [wih, whh, bih, bhh] = layer_tensor_names(k);
        map.insert(wih, weight(rows, config.layer_input(k), 1.0 + k as f64));
        map.insert(whh, weight(rows, H, 2.0 + k as f64));
        map.insert(bih, vector(rows, 3.0 + k as f64));
        map.insert(bhh, vector(rows, 4.0 + k as f64));
    }
    map.insert("fc.weight".into(), weight(C, H, 5.0));
    map.insert("fc.bias".into(), vector(C, 6.0));
    (config, map)
}

fn logits<R: Real>(model: &Model<R>, mode: Mode) -> Vec<f64> {
    let x: Vec<R> = inputs().iter().map(|&v| R::from_f64(v)).collect();
    let mut tape = SequenceTape::default();
    model.forward(&x, mode, &mut tape);
    tape.logits.iter().map(|v| v.to_f64()).collect()
}

fn assert_matches(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tolerance, "{what}[{i}]: {g} vs golden {w}");
    }
}

#[test]
fn engine_matches_numpy_golden_values() {
    for (cell, dense, delta) in
        [(CellKind::Lstm, &LSTM_DENSE, &LSTM_DELTA_0_1), (CellKind::Gru, &GRU_DENSE, &GRU_DELTA_0_1)]
    {
        let (config, map) = tensors(cell);
        let model = Model { config, params: from_pytorch_tensors::<f64>(&config, &map) };
        // f64: the same arithmetic up to summation order.
        assert_matches(&logits(&model, Mode::Dense), dense, 1e-13, &format!("{cell} dense f64"));
        assert_matches(&logits(&model, Mode::Delta(Thresholds::ZERO)), dense, 1e-13, &format!("{cell} theta 0 f64"));
        assert_matches(&logits(&model, Mode::Delta(Thresholds::both(0.1))), delta, 1e-13, &format!("{cell} delta f64"));

        // f32 through a checkpoint file's bytes: f32 weights and round-off, and our polynomial
        // exp/tanh (error < 3e-7), stay within 2e-6 of the f64 golden values here.
        let bytes = checkpoint::to_bytes(&model, &Default::default()).unwrap();
        let (model32, _) = checkpoint::from_bytes(Path::new("golden.safetensors"), &bytes).unwrap();
        assert_matches(&logits(&model32, Mode::Dense), dense, 2e-6, &format!("{cell} dense f32"));
        assert_matches(&logits(&model32, Mode::Delta(Thresholds::ZERO)), dense, 2e-6, &format!("{cell} theta 0 f32"));
        assert_matches(
            &logits(&model32, Mode::Delta(Thresholds::both(0.1))),
            delta,
            2e-6,
            &format!("{cell} delta f32"),
        );
    }
}
