//! LSTM gate arithmetic for one time step (gate order i, f, g, o, as PyTorch).
//!
//! The matrix work (the memory M = b + W vref) is done by the layer; these functions only turn a
//! memory into gates and states, and gate gradients back into dL/dM.

use crate::kernels::simd::dispatch;
use crate::kernels::Real;

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
    for k in 0..n {
        let i = m_i[k].sigmoid();
        let f = m_f[k].sigmoid();
        let g = m_g[k].tanh();
        let o = m_o[k].sigmoid();
        let ck = f * c_prev[k] + i * g;
        let tk = ck.tanh();
        g_i[k] = i;
        g_f[k] = f;
        g_g[k] = g;
        g_o[k] = o;
        c[k] = ck;
        tanh_c[k] = tk;
        h[k] = o * tk;
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
    let one = T::ONE;
    for k in 0..n {
        let (i, f, g, o, t) = (g_i[k], g_f[k], g_g[k], g_o[k], tanh_c[k]);
        let dhk = dh[k];
        let dc = carry[k] + dhk * o * (one - t * t);
        d_i[k] = dc * g * i * (one - i);
        d_f[k] = dc * c_prev[k] * f * (one - f);
        d_g[k] = dc * i * (one - g * g);
        d_o[k] = dhk * t * o * (one - o);
        carry[k] = dc * f;
    }
}
