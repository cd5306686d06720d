//! LSTM gate arithmetic for one time step (gate order i, f, g, o, as PyTorch).
//!
//! The matrix work (the memory M = b + W vref) is done by the layer; these functions only turn a
//! memory into gates and states, and gate gradients back into dL/dM.

use crate::kernels::simd::dispatch;
use crate::kernels::{lanes_n, map_lanes, Real};

dispatch! {
    /// One LSTM step from the memory M_t.
    ///
    /// Shapes: `memory` (4H: i, f, g, o pre-activations), `c_prev` (H); outputs `gates`
    /// (4H: i, f, g, o after their nonlinearities), `cell` (2H: c_t, tanh c_t), `h` (H).
    /// Paper: i = sig(M^i), f = sig(M^f), g = tanh(M^g), o = sig(M^o),
    /// c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
    pub fn lstm_forward_step / lstm_forward_step_portable <T: Real>(
        gates: &mut [T], cell: &mut [T], h: &mut [T], memory: &[T], c_prev: &[T]
    ) => lstm_forward_body::<lanes>;
}

dispatch! {
    /// Backward of [`lstm_forward_step`]: writes `dmemory` = dL/dM_t for this step's gates and
    /// replaces `carry` (dL/dc_t from step t+1 on entry) with dL/dc_{t-1} (= f_t dc_t).
    ///
    /// Shapes: `dmemory` (4H), `carry` (H), `dh` (H: everything reaching h_t), `gates` (4H),
    /// `cell` (2H), `c_prev` (H).
    /// Paper: dc_t += dh o (1 - tanh^2 c); gI = dc g i(1-i); gF = dc c_{t-1} f(1-f);
    /// gG = dc i (1-g^2); gO = dh tanh(c) o(1-o) (spec section 3).
    pub fn lstm_backward_step / lstm_backward_step_portable <T: Real>(
        dmemory: &mut [T], carry: &mut [T], dh: &[T], gates: &[T], cell: &[T], c_prev: &[T]
    ) => lstm_backward_body::<lanes>;
}

/// One unit of the backward step: (dM_i, dM_f, dM_g, dM_o, carry) from dh, the carried dc and
/// the forward values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_unit<T: Real>(dh: T, carry: T, i: T, f: T, g: T, o: T, tanh_c: T, c_prev: T) -> [T; 5] {
    let one = T::ONE;
    let dc = carry + dh * o * (one - tanh_c * tanh_c);
    [dc * g * i * (one - i), dc * c_prev * f * (one - f), dc * i * (one - g * g), dh * tanh_c * o * (one - o), dc * f]
}

#[inline(always)]
#[track_caller]
fn lstm_forward_body<const W: usize, T: Real>(
    gates: &mut [T],
    cell: &mut [T],
    h: &mut [T],
    memory: &[T],
    c_prev: &[T],
) {
    let n = h.len();
    assert_eq!(memory.len(), 4 * n, "memory length");
    assert_eq!(gates.len(), 4 * n, "gates length");
    assert_eq!(cell.len(), 2 * n, "cell length");
    assert_eq!(c_prev.len(), n, "c_prev length");
    // Two passes: first the four gates of every unit (independent of each other, so the
    // transcendentals of many units are in flight at once), then the cell and h_t, whose
    // tanh c_t waits on the gates.
    let (sigmoid_if, rest) = gates.split_at_mut(2 * n);
    let (g_g, g_o) = rest.split_at_mut(n);
    map_lanes::<W, T>(sigmoid_if, &memory[..2 * n], T::sigmoid);
    map_lanes::<W, T>(g_g, &memory[2 * n..3 * n], T::tanh);
    map_lanes::<W, T>(g_o, &memory[3 * n..], T::sigmoid);
    let (g_i, g_f) = sigmoid_if.split_at(n);
    let (c, tanh_c) = cell.split_at_mut(n);
    let full = n / W * W;
    // W units at a time as array values: all loads, then the math, then all stores, so the
    // compiler turns each lane-wise operation into one vector instruction.
    for k in (0..full).step_by(W) {
        let (i, f, g, o): ([T; W], [T; W], [T; W], [T; W]) =
            (lanes_n(&g_i[k..]), lanes_n(&g_f[k..]), lanes_n(&g_g[k..]), lanes_n(&g_o[k..]));
        let p: [T; W] = lanes_n(&c_prev[k..]);
        let (mut ck, mut t, mut hk) = ([T::ZERO; W], [T::ZERO; W], [T::ZERO; W]);
        for l in 0..W {
            ck[l] = f[l] * p[l] + i[l] * g[l];
            t[l] = ck[l].tanh();
            hk[l] = o[l] * t[l];
        }
        for (out, values) in [&mut *c, &mut *tanh_c, &mut *h].into_iter().zip([ck, t, hk]) {
            out[k..k + W].copy_from_slice(&values);
        }
    }
    for k in full..n {
        c[k] = g_f[k] * c_prev[k] + g_i[k] * g_g[k];
        tanh_c[k] = c[k].tanh();
        h[k] = g_o[k] * tanh_c[k];
    }
}

#[inline(always)]
#[track_caller]
fn lstm_backward_body<const W: usize, T: Real>(
    dmemory: &mut [T],
    carry: &mut [T],
    dh: &[T],
    gates: &[T],
    cell: &[T],
    c_prev: &[T],
) {
    let n = dh.len();
    assert_eq!(dmemory.len(), 4 * n, "dmemory length");
    assert_eq!(carry.len(), n, "carry length");
    assert_eq!(gates.len(), 4 * n, "gates length");
    assert_eq!(cell.len(), 2 * n, "cell length");
    assert_eq!(c_prev.len(), n, "c_prev length");
    let (g_i, rest) = gates.split_at(n);
    let (g_f, rest) = rest.split_at(n);
    let (g_g, g_o) = rest.split_at(n);
    let tanh_c = &cell[n..];
    let (d_i, rest) = dmemory.split_at_mut(n);
    let (d_f, rest) = rest.split_at_mut(n);
    let (d_g, d_o) = rest.split_at_mut(n);
    let full = n / W * W;
    for k in (0..full).step_by(W) {
        let (a, cr): ([T; W], [T; W]) = (lanes_n(&dh[k..]), lanes_n(&carry[k..]));
        let (i, f, g, o): ([T; W], [T; W], [T; W], [T; W]) =
            (lanes_n(&g_i[k..]), lanes_n(&g_f[k..]), lanes_n(&g_g[k..]), lanes_n(&g_o[k..]));
        let (t, p): ([T; W], [T; W]) = (lanes_n(&tanh_c[k..]), lanes_n(&c_prev[k..]));
        let mut units = [[T::ZERO; W]; 5];
        for l in 0..W {
            let u = backward_unit(a[l], cr[l], i[l], f[l], g[l], o[l], t[l], p[l]);
            for q in 0..5 {
                units[q][l] = u[q];
            }
        }
        for (out, values) in [&mut *d_i, &mut *d_f, &mut *d_g, &mut *d_o, &mut *carry].into_iter().zip(&units) {
            out[k..k + W].copy_from_slice(values);
        }
    }
    for k in full..n {
        let [di, df, dg, d_out, cr] =
            backward_unit(dh[k], carry[k], g_i[k], g_f[k], g_g[k], g_o[k], tanh_c[k], c_prev[k]);
        (d_i[k], d_f[k], d_g[k], d_o[k], carry[k]) = (di, df, dg, d_out, cr);
    }
}
