//! GRU gate arithmetic for one time step, in the EdgeDRNN delta form (spec section 2).
//!
//! The memory holds four H-long blocks in the order [M_nx, M_r, M_z, M_nh]: the input product
//! fills rows 0..3H (weight rows ordered n, r, z) and the hidden product rows H..4H (weight rows
//! ordered r, z, n), so each product writes one contiguous range. This is PyTorch's nn.GRU
//! (reset applied after the hidden product: n = tanh(W_in x + b_in + r (W_hn h + b_hn))).

use crate::kernels::simd::dispatch;
use crate::kernels::Real;

dispatch! {
    /// One GRU step from the memory M_t.
    ///
    /// Shapes: `memory` (4H: M_nx, M_r, M_z, M_nh), `h_prev` (H); outputs `gates`
    /// (4H: r, z, n, M_nh) and `h` (H).
    /// Paper: r = sig(M_r), z = sig(M_z), n = tanh(M_nx + r M_nh), h = (1 - z) n + z h_{t-1}.
    pub fn gru_forward_step / gru_forward_step_portable <T: Real>(
        gates: &mut [T], h: &mut [T], memory: &[T], h_prev: &[T]
    ) => gru_forward_body;
}

dispatch! {
    /// Backward of [`gru_forward_step`]: writes `dmemory` = dL/dM_t (order M_nx, M_r, M_z, M_nh)
    /// and replaces `carry` (the direct path dL/dh_t from step t+1 on entry) with z_t dh_t,
    /// the direct part of dL/dh_{t-1}.
    ///
    /// Shapes: `dmemory` (4H), `carry` (H), `dh` (H: head and recurrent gradient of h_t),
    /// `gates` (4H), `h_prev` (H).
    pub fn gru_backward_step / gru_backward_step_portable <T: Real>(
        dmemory: &mut [T], carry: &mut [T], dh: &[T], gates: &[T], h_prev: &[T]
    ) => gru_backward_body;
}

#[inline(always)]
#[track_caller]
fn gru_forward_body<T: Real>(gates: &mut [T], h: &mut [T], memory: &[T], h_prev: &[T]) {
    let n = h.len();
    assert_eq!(memory.len(), 4 * n, "memory length");
    assert_eq!(gates.len(), 4 * n, "gates length");
    assert_eq!(h_prev.len(), n, "h_prev length");
    let (m_nx, rest) = memory.split_at(n);
    let (m_r, rest) = rest.split_at(n);
    let (m_z, m_nh) = rest.split_at(n);
    let (g_r, rest) = gates.split_at_mut(n);
    let (g_z, rest) = rest.split_at_mut(n);
    let (g_n, g_mnh) = rest.split_at_mut(n);
    for k in 0..n {
        let r = m_r[k].sigmoid();
        let z = m_z[k].sigmoid();
        let cand = (m_nx[k] + r * m_nh[k]).tanh();
        g_r[k] = r;
        g_z[k] = z;
        g_n[k] = cand;
        g_mnh[k] = m_nh[k];
        h[k] = (T::ONE - z) * cand + z * h_prev[k];
    }
}

#[inline(always)]
#[track_caller]
fn gru_backward_body<T: Real>(dmemory: &mut [T], carry: &mut [T], dh: &[T], gates: &[T], h_prev: &[T]) {
    let n = dh.len();
    assert_eq!(dmemory.len(), 4 * n, "dmemory length");
    assert_eq!(carry.len(), n, "carry length");
    assert_eq!(gates.len(), 4 * n, "gates length");
    assert_eq!(h_prev.len(), n, "h_prev length");
    let (g_r, rest) = gates.split_at(n);
    let (g_z, rest) = rest.split_at(n);
    let (g_n, g_mnh) = rest.split_at(n);
    let (d_nx, rest) = dmemory.split_at_mut(n);
    let (d_r, rest) = rest.split_at_mut(n);
    let (d_z, d_nh) = rest.split_at_mut(n);
    let one = T::ONE;
    for k in 0..n {
        let (r, z, cand, m_nh) = (g_r[k], g_z[k], g_n[k], g_mnh[k]);
        let dht = dh[k] + carry[k];
        let dcand = dht * (one - z);
        let dz = dht * (h_prev[k] - cand);
        let dpre = dcand * (one - cand * cand);
        d_nx[k] = dpre;
        d_nh[k] = dpre * r;
        d_r[k] = dpre * m_nh * r * (one - r);
        d_z[k] = dz * z * (one - z);
        carry[k] = dht * z;
    }
}
