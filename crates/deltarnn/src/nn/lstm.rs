//! LSTM gate arithmetic for one time step (gate order i, f, g, o, as PyTorch).
//!
//! The matrix work (the memory M = b + W vref) is done by the layer; these functions only turn a
//! memory into gates and states, and gate gradients back into dL/dM.

use crate::kernels::simd::dispatch;
use crate::kernels::{lanes, Real, LANES};

dispatch! {
    /// One LSTM step from the memory M_t.
    ///
    /// Shapes: `memory` (4H: i, f, g, o pre-activations), `c_prev` (H); outputs `gates`
    /// (4H: i, f, g, o after their nonlinearities), `cell` (2H: c_t, tanh c_t), `h` (H).
    /// Paper: i = sig(M^i), f = sig(M^f), g = tanh(M^g), o = sig(M^o),
    /// c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
    pub fn lstm_forward_step / lstm_forward_step_portable <T: Real>(
        gates: &mut [T], cell: &mut [T], h: &mut [T], memory: &[T], c_prev: &[T]
    ) => lstm_forward_body;
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
    ) => lstm_backward_body;
}

/// One unit of the forward step: (i, f, g, o, c, tanh c, h) from the four pre-activations.
#[inline(always)]
fn forward_unit<T: Real>(m_i: T, m_f: T, m_g: T, m_o: T, c_prev: T) -> [T; 7] {
    let i = m_i.sigmoid();
    let f = m_f.sigmoid();
    let g = m_g.tanh();
    let o = m_o.sigmoid();
    let c = f * c_prev + i * g;
    let t = c.tanh();
    [i, f, g, o, c, t, o * t]
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
fn lstm_forward_body<T: Real>(gates: &mut [T], cell: &mut [T], h: &mut [T], memory: &[T], c_prev: &[T]) {
    let n = h.len();
    assert_eq!(memory.len(), 4 * n, "memory length");
    assert_eq!(gates.len(), 4 * n, "gates length");
    assert_eq!(cell.len(), 2 * n, "cell length");
    assert_eq!(c_prev.len(), n, "c_prev length");
    let (m_i, rest) = memory.split_at(n);
    let (m_f, rest) = rest.split_at(n);
    let (m_g, m_o) = rest.split_at(n);
    let (g_i, rest) = gates.split_at_mut(n);
    let (g_f, rest) = rest.split_at_mut(n);
    let (g_g, g_o) = rest.split_at_mut(n);
    let (c, tanh_c) = cell.split_at_mut(n);
    let full = n / LANES * LANES;
    // LANES units at a time as array values: all loads, then the math, then all stores, so the
    // compiler turns each lane-wise operation into one vector instruction.
    for k in (0..full).step_by(LANES) {
        let (mut i, mut f, mut g, mut o) = (lanes(&m_i[k..]), lanes(&m_f[k..]), lanes(&m_g[k..]), lanes(&m_o[k..]));
        let p = lanes(&c_prev[k..]);
        let (mut ck, mut t, mut hk) = ([T::ZERO; LANES], [T::ZERO; LANES], [T::ZERO; LANES]);
        for l in 0..LANES {
            i[l] = i[l].sigmoid();
            f[l] = f[l].sigmoid();
            g[l] = g[l].tanh();
            o[l] = o[l].sigmoid();
            ck[l] = f[l] * p[l] + i[l] * g[l];
            t[l] = ck[l].tanh();
            hk[l] = o[l] * t[l];
        }
        for (out, values) in [&mut *g_i, &mut *g_f, &mut *g_g, &mut *g_o, &mut *c, &mut *tanh_c, &mut *h]
            .into_iter()
            .zip([i, f, g, o, ck, t, hk])
        {
            out[k..k + LANES].copy_from_slice(&values);
        }
    }
    for k in full..n {
        let [i, f, g, o, ck, t, hk] = forward_unit(m_i[k], m_f[k], m_g[k], m_o[k], c_prev[k]);
        (g_i[k], g_f[k], g_g[k], g_o[k], c[k], tanh_c[k], h[k]) = (i, f, g, o, ck, t, hk);
    }
}

#[inline(always)]
#[track_caller]
fn lstm_backward_body<T: Real>(dmemory: &mut [T], carry: &mut [T], dh: &[T], gates: &[T], cell: &[T], c_prev: &[T]) {
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
    let full = n / LANES * LANES;
    for k in (0..full).step_by(LANES) {
        let (a, cr) = (lanes(&dh[k..]), lanes(&carry[k..]));
        let (i, f, g, o) = (lanes(&g_i[k..]), lanes(&g_f[k..]), lanes(&g_g[k..]), lanes(&g_o[k..]));
        let (t, p) = (lanes(&tanh_c[k..]), lanes(&c_prev[k..]));
        let mut units = [[T::ZERO; LANES]; 5];
        for l in 0..LANES {
            let u = backward_unit(a[l], cr[l], i[l], f[l], g[l], o[l], t[l], p[l]);
            for q in 0..5 {
                units[q][l] = u[q];
            }
        }
        for (out, values) in [&mut *d_i, &mut *d_f, &mut *d_g, &mut *d_o, &mut *carry].into_iter().zip(&units) {
            out[k..k + LANES].copy_from_slice(values);
        }
    }
    for k in full..n {
        let [di, df, dg, d_out, cr] =
            backward_unit(dh[k], carry[k], g_i[k], g_f[k], g_g[k], g_o[k], tanh_c[k], c_prev[k]);
        (d_i[k], d_f[k], d_g[k], d_o[k], carry[k]) = (di, df, dg, d_out, cr);
    }
}
