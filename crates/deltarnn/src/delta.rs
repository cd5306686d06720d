//! The delta encoder and the activity trace.
//!
//! A value is sent on (fires) when it has moved by at least its threshold since it was last sent:
//! `fired[j] = |v[j] - v_ref[j]| >= threshold`, so threshold 0 fires everything (spec section 2).
//! The activity trace records, per step, the sorted fired indices and their deltas; the kernels
//! consume it, the cost model counts it, the accelerator simulator replays it.

use crate::kernels::simd::dispatch;
use crate::kernels::{lanes_n, Real};

/// Firing thresholds: theta_x for a layer's input, theta_h for its previous hidden state.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// theta_x: threshold on the layer input.
    pub input: f64,
    /// theta_h: threshold on the previous hidden state.
    pub hidden: f64,
}

impl Thresholds {
    /// Both thresholds zero: every element fires, the network is a standard LSTM/GRU.
    pub const ZERO: Thresholds = Thresholds { input: 0.0, hidden: 0.0 };

    /// The same threshold for input and hidden state.
    pub fn both(theta: f64) -> Self {
        Thresholds { input: theta, hidden: theta }
    }

    /// Checks that both thresholds are finite numbers >= 0, naming the first that is not.
    pub fn validate(&self) -> crate::Result<()> {
        crate::Error::check_non_negative("theta_x", self.input)?;
        crate::Error::check_non_negative("theta_h", self.hidden)
    }
}

dispatch! {
    /// Encodes one vector against its reference state, appending the fired entries to `seq`.
    ///
    /// Shapes: `v` (n), `v_ref` (n). For every `j` with `|v[j] - v_ref[j]| >= threshold`
    /// (ascending), appends `j` and `v[j] - v_ref[j]` to the current step of `seq` and sets
    /// `v_ref[j] = v[j]`; other entries are untouched. Closes the step. Returns the number fired.
    pub fn encode_step / encode_step_portable <T: Real>(
        seq: &mut SparseSeq<T>, v: &[T], v_ref: &mut [T], threshold: T
    ) => encode_body::<lanes>;
}

/// [`encode_step`], returning the number fired.
#[track_caller]
pub fn encode<T: Real>(seq: &mut SparseSeq<T>, v: &[T], v_ref: &mut [T], threshold: T) -> usize {
    let before = seq.indices.len();
    encode_step(seq, v, v_ref, threshold);
    seq.indices.len() - before
}

#[inline(always)]
#[track_caller]
fn encode_body<const W: usize, T: Real>(seq: &mut SparseSeq<T>, v: &[T], v_ref: &mut [T], threshold: T) {
    assert_eq!(v_ref.len(), v.len(), "v and v_ref lengths");
    // Two passes per block of 64: a branch-free, vectorisable pass that updates the reference
    // and builds a bit mask of what fired, then a walk over the set bits only. Fire decisions are
    // unpredictable, so a branch per element would mispredict often.
    for (block, (vb, rb)) in v.chunks(64).zip(v_ref.chunks_mut(64)).enumerate() {
        let mut deltas = [T::ZERO; 64];
        let mut mask = 0u64;
        // Groups of 8: the deltas, and the references blended by the fire test, vectorised; the
        // fire bits from the same test as one compare and movemask (`Real::fire_bits8`; the
        // compiler would build them with a shift per entry).
        let whole = vb.len() / 8 * 8;
        for g in (0..whole).step_by(8) {
            let (x, r): ([T; 8], [T; 8]) = (lanes_n(&vb[g..]), lanes_n(&rb[g..]));
            let (mut delta, mut reference) = ([T::ZERO; 8], r);
            for l in 0..8 {
                delta[l] = x[l] - r[l];
                reference[l] = if delta[l].abs() >= threshold { x[l] } else { r[l] };
            }
            let bits = T::fire_bits8::<W>(delta, threshold);
            rb[g..g + 8].copy_from_slice(&reference);
            deltas[g..g + 8].copy_from_slice(&delta);
            mask |= u64::from(bits) << g;
        }
        for l in whole..vb.len() {
            let delta = vb[l] - rb[l];
            let fire = delta.abs() >= threshold;
            deltas[l] = delta;
            rb[l] = if fire { vb[l] } else { rb[l] };
            mask |= u64::from(fire) << l;
        }
        if mask == u64::MAX {
            // A whole block fired (always at threshold 0): append it in one go.
            seq.indices.extend((block * 64) as u32..(block * 64 + 64) as u32);
            seq.values.extend_from_slice(&deltas);
            mask = 0;
        }
        while mask != 0 {
            let l = mask.trailing_zeros() as usize;
            seq.indices.push((block * 64 + l) as u32);
            seq.values.push(deltas[l]);
            mask &= mask - 1;
        }
    }
    seq.offsets.push(seq.indices.len() as u32);
}

/// Per step, a sorted list of fired indices and their values, stored flat.
///
/// Step `t` holds `indices[offsets[t]..offsets[t + 1]]` and the matching `values`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseSeq<T> {
    /// `steps + 1` offsets into `indices` and `values`; the first is 0.
    pub offsets: Vec<u32>,
    /// Fired indices, ascending within a step.
    pub indices: Vec<u32>,
    /// The delta of each fired index.
    pub values: Vec<T>,
}

impl<T: Real> Default for SparseSeq<T> {
    fn default() -> Self {
        SparseSeq { offsets: vec![0], indices: Vec::new(), values: Vec::new() }
    }
}

impl<T: Real> SparseSeq<T> {
    /// An empty sequence with room for `steps` steps of up to `width` entries each.
    pub fn with_capacity(steps: usize, width: usize) -> Self {
        let mut offsets = Vec::with_capacity(steps + 1);
        offsets.push(0);
        SparseSeq { offsets, indices: Vec::with_capacity(steps * width), values: Vec::with_capacity(steps * width) }
    }

    /// Number of steps recorded.
    pub fn steps(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The fired indices and values of step `t`.
    #[inline]
    pub fn step(&self, t: usize) -> (&[u32], &[T]) {
        let (a, b) = (self.offsets[t] as usize, self.offsets[t + 1] as usize);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The deltas as a dense (steps, `width`) row-major matrix, zero where nothing fired.
    pub fn densify(&self, width: usize) -> Vec<T> {
        let mut out = vec![T::ZERO; self.steps() * width];
        for t in 0..self.steps() {
            let (idx, val) = self.step(t);
            let row = &mut out[t * width..(t + 1) * width];
            if idx.len() == width {
                row.copy_from_slice(val); // ascending distinct indices: all of 0..width
                continue;
            }
            for (&j, &v) in idx.iter().zip(val) {
                row[j as usize] = v;
            }
        }
        out
    }

    /// Total fired entries over all steps.
    pub fn fired(&self) -> usize {
        self.indices.len()
    }

    /// Fired entries whose delta is not exactly zero (at threshold 0, unchanged values fire
    /// with a zero delta).
    pub fn nonzero(&self) -> usize {
        self.values.iter().filter(|&&v| v != T::ZERO).count()
    }

    /// Forgets all steps, keeping the allocations.
    pub fn clear(&mut self) {
        self.offsets.clear();
        self.offsets.push(0);
        self.indices.clear();
        self.values.clear();
    }
}

/// The activity of one layer over one sequence: what fired in its input and in its hidden state.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTrace<T> {
    /// Length of the layer input (F_k).
    pub n_input: usize,
    /// Hidden size H.
    pub n_hidden: usize,
    /// Fired input indices (0..n_input) and delta_x per step.
    pub input: SparseSeq<T>,
    /// Fired hidden indices (0..n_hidden) and delta_h per step.
    pub hidden: SparseSeq<T>,
}

impl<T: Real> ActivityTrace<T> {
    /// An empty trace sized for `steps` steps.
    pub fn with_capacity(n_input: usize, n_hidden: usize, steps: usize) -> Self {
        ActivityTrace {
            n_input,
            n_hidden,
            input: SparseSeq::with_capacity(steps, n_input),
            hidden: SparseSeq::with_capacity(steps, n_hidden),
        }
    }

    /// Number of steps recorded.
    pub fn steps(&self) -> usize {
        self.input.steps()
    }

    /// The fired indices of step `t` in the combined index space of v = [x ; h_prev]
    /// (input indices first, hidden indices offset by `n_input`), as the spec writes F_t.
    pub fn combined_step(&self, t: usize) -> (Vec<u32>, Vec<T>) {
        let (xi, xv) = self.input.step(t);
        let (hi, hv) = self.hidden.step(t);
        let mut idx = xi.to_vec();
        idx.extend(hi.iter().map(|&j| j + self.n_input as u32));
        let mut val = xv.to_vec();
        val.extend_from_slice(hv);
        (idx, val)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_on_greater_or_equal_and_keeps_reference() {
        let mut seq = SparseSeq::<f64>::default();
        let mut v_ref = vec![0.0; 4];
        let n = encode(&mut seq, &[0.1, 0.05, -0.2, 0.0], &mut v_ref, 0.1);
        assert_eq!(n, 2);
        assert_eq!(seq.step(0), (&[0u32, 2][..], &[0.1, -0.2][..]));
        assert_eq!(v_ref, vec![0.1, 0.0, -0.2, 0.0]);
        // 0.05 more on index 1 accumulates against the old reference: 0.1 >= 0.1 fires.
        let n = encode(&mut seq, &[0.1, 0.1, -0.2, 0.0], &mut v_ref, 0.1);
        assert_eq!(n, 1);
        assert_eq!(seq.step(1), (&[1u32][..], &[0.1][..]));
    }

    #[test]
    fn threshold_zero_fires_everything_including_zero_deltas() {
        let mut seq = SparseSeq::<f32>::default();
        let mut v_ref = vec![0.0; 3];
        encode(&mut seq, &[1.0, 0.0, 2.0], &mut v_ref, 0.0);
        assert_eq!(seq.fired(), 3);
        assert_eq!(seq.nonzero(), 2);
    }

    #[test]
    fn densify_places_partial_and_full_steps() {
        let mut seq = SparseSeq::<f32>::default();
        let mut v_ref = vec![0.0; 3];
        encode(&mut seq, &[1.0, 0.0, 2.0], &mut v_ref, 0.5); // partial: 0 and 2
        encode(&mut seq, &[2.0, -1.0, 3.0], &mut v_ref, 0.5); // full
        encode(&mut seq, &[2.0, -1.0, 3.0], &mut v_ref, 0.5); // empty
        assert_eq!(seq.densify(3), vec![1.0, 0.0, 2.0, 1.0, -1.0, 1.0, 0.0, 0.0, 0.0]);
    }
}
