//! The activity-trace file: per sequence, per layer and per step, the fired indices and their
//! deltas, as `deltarnn train --record-trace` writes it and `deltarnn simulate --trace` reads it.
//! The byte layout is documented in `docs/trace-format.md`; [`parse`] checks every field and
//! never panics, whatever the bytes.

use crate::delta::ActivityTrace;
use crate::nn::{CellKind, Mode, Model, SequenceTape};
use crate::{Error, Result, Thresholds};
use std::path::{Path, PathBuf};

/// The first 8 bytes of every trace file.
pub const MAGIC: [u8; 8] = *b"DRNNTRCE";
/// The format version this library writes and reads.
pub const VERSION: u16 = 1;
/// Widest layer the format can hold (indices are 16-bit).
pub const MAX_WIDTH: usize = u16::MAX as usize;

/// One layer's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LayerShape {
    /// Layer input width F.
    pub n_input: usize,
    /// Hidden width H.
    pub n_hidden: usize,
}

/// The contents of a trace file.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFile {
    /// The recurrent cell of every layer.
    pub cell: CellKind,
    /// Layer shapes, bottom first; layer k + 1's input is layer k's hidden state.
    pub layers: Vec<LayerShape>,
    /// Per sequence, one trace per layer (bottom first).
    pub sequences: Vec<Vec<ActivityTrace<f32>>>,
}

/// Runs `model` in delta mode over each sequence in `frames` (steps x F, row-major) and keeps
/// every layer's activity trace.
pub fn record<'a>(
    model: &Model<f32>,
    thresholds: Thresholds,
    frames: impl IntoIterator<Item = &'a [f32]>,
) -> TraceFile {
    record_in_mode(model, Mode::Delta(thresholds), frames)
}

/// [`record`] in any Delta `mode` (e.g. [`Mode::DeltaInFormat`], whose fired pattern is the one
/// the accelerator would see).
pub fn record_in_mode<'a>(model: &Model<f32>, mode: Mode, frames: impl IntoIterator<Item = &'a [f32]>) -> TraceFile {
    let config = &model.config;
    let layers = (0..config.n_layers)
        .map(|k| LayerShape { n_input: config.layer_input(k), n_hidden: config.n_hidden })
        .collect();
    let mut tape = SequenceTape::default();
    let sequences = frames
        .into_iter()
        .map(|x| {
            model.forward(x, mode, &mut tape);
            tape.layers.iter().map(|l| l.trace.clone()).collect()
        })
        .collect();
    TraceFile { cell: config.cell, layers, sequences }
}

/// The file's bytes (see `docs/trace-format.md`). Errors when a layer is wider than
/// [`MAX_WIDTH`], the shapes do not chain, or a trace does not match its layer's shape.
pub fn encode(file: &TraceFile) -> Result<Vec<u8>> {
    check_shapes(&file.layers).map_err(|m| Error::Invalid(format!("cannot write trace file: {m}")))?;
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(match file.cell {
        CellKind::Lstm => 0,
        CellKind::Gru => 1,
    });
    out.push(0);
    out.extend_from_slice(&(file.layers.len() as u16).to_le_bytes());
    let n_sequences = u32::try_from(file.sequences.len())
        .map_err(|_| Error::Invalid("too many sequences for a trace file".into()))?;
    out.extend_from_slice(&n_sequences.to_le_bytes());
    for l in &file.layers {
        out.extend_from_slice(&(l.n_input as u32).to_le_bytes());
        out.extend_from_slice(&(l.n_hidden as u32).to_le_bytes());
    }
    for (s, traces) in file.sequences.iter().enumerate() {
        if traces.len() != file.layers.len() {
            return Err(Error::Invalid(format!(
                "cannot write trace file: sequence {s} has {} layer traces, expected {}",
                traces.len(),
                file.layers.len()
            )));
        }
        let steps = traces[0].steps();
        out.extend_from_slice(&(steps as u32).to_le_bytes());
        for (k, (trace, shape)) in traces.iter().zip(&file.layers).enumerate() {
            if (trace.n_input, trace.n_hidden) != (shape.n_input, shape.n_hidden) || trace.steps() != steps {
                return Err(Error::Invalid(format!(
                    "cannot write trace file: sequence {s} layer {k} is {}x{} over {} steps, expected {}x{} over {steps}",
                    trace.n_input,
                    trace.n_hidden,
                    trace.steps(),
                    shape.n_input,
                    shape.n_hidden
                )));
            }
            for t in 0..steps {
                let (xi, xv) = trace.input.step(t);
                let (hi, hv) = trace.hidden.step(t);
                out.extend_from_slice(&(xi.len() as u16).to_le_bytes());
                out.extend_from_slice(&(hi.len() as u16).to_le_bytes());
                for &j in xi.iter().chain(hi) {
                    out.extend_from_slice(&(j as u16).to_le_bytes());
                }
                for &v in xv.iter().chain(hv) {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    Ok(out)
}

/// Writes `file` to `path` atomically.
pub fn write(path: &Path, file: &TraceFile) -> Result<()> {
    crate::files::write_atomic(path, &encode(file)?)
}

/// Reads and checks a trace file.
pub fn read(path: &Path) -> Result<TraceFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|e| match e {
        Error::TraceFile { offset, expected, found, .. } => {
            Error::TraceFile { path: path.to_path_buf(), offset, expected, found }
        }
        other => other,
    })
}

/// Parses trace-file bytes, checking the magic, version, cell, shapes, every count, every index
/// (in range, strictly ascending), every value (finite), and that nothing follows the last
/// sequence. Errors are [`Error::TraceFile`] with the byte offset, what was expected and what
/// was found (the path reads `<bytes>`; [`read`] fills in the file's).
pub fn parse(bytes: &[u8]) -> Result<TraceFile> {
    let mut c = Cursor { bytes, pos: 0 };
    let magic = c.take(8, "the 8-byte magic \"DRNNTRCE\"")?;
    if magic != MAGIC {
        return Err(c.error_at(0, "magic \"DRNNTRCE\"", format!("{:?}", String::from_utf8_lossy(magic))));
    }
    let version = c.u16("version")?;
    if version != VERSION {
        return Err(c.error_at(8, format!("version {VERSION}"), format!("version {version}")));
    }
    let cell = match c.u8("cell")? {
        0 => CellKind::Lstm,
        1 => CellKind::Gru,
        other => return Err(c.error_at(10, "cell 0 (lstm) or 1 (gru)", other.to_string())),
    };
    let reserved = c.u8("reserved byte")?;
    if reserved != 0 {
        return Err(c.error_at(11, "reserved byte 0", reserved.to_string()));
    }
    let n_layers = c.u16("layer count")? as usize;
    if n_layers == 0 {
        return Err(c.error_at(12, "at least 1 layer", "0".to_string()));
    }
    let n_sequences = c.u32("sequence count")? as usize;
    let mut layers = Vec::with_capacity(n_layers);
    for k in 0..n_layers {
        let at = c.pos;
        let n_input = c.u32("layer input width")? as usize;
        let n_hidden = c.u32("layer hidden width")? as usize;
        for (what, width) in [("input", n_input), ("hidden", n_hidden)] {
            if width == 0 || width > MAX_WIDTH {
                return Err(c.error_at(at, format!("layer {k} {what} width in 1..={MAX_WIDTH}"), width.to_string()));
            }
        }
        if let Some(prev) = layers.last().filter(|p: &&LayerShape| p.n_hidden != n_input) {
            return Err(c.error_at(
                at,
                format!("layer {k} input width {} (layer {} hidden width)", prev.n_hidden, k - 1),
                n_input.to_string(),
            ));
        }
        layers.push(LayerShape { n_input, n_hidden });
    }
    // Every sequence needs at least its 4-byte step count: bound the allocation by the bytes.
    if n_sequences > c.remaining() / 4 {
        return Err(c.error_at(
            14,
            format!("at most {} sequences in the {} bytes that follow the header", c.remaining() / 4, c.remaining()),
            format!("{n_sequences} sequences"),
        ));
    }
    let mut sequences = Vec::with_capacity(n_sequences);
    for s in 0..n_sequences {
        let steps = c.u32("step count")? as usize;
        // Each step of each layer needs at least its two 2-byte counts.
        if steps > c.remaining() / (4 * n_layers) {
            return Err(c.error_at(
                c.pos - 4,
                format!("at most {} steps in sequence {s} for the bytes left", c.remaining() / (4 * n_layers)),
                format!("{steps} steps"),
            ));
        }
        let mut traces = Vec::with_capacity(n_layers);
        for shape in &layers {
            let mut trace = ActivityTrace::with_capacity(shape.n_input, shape.n_hidden, steps);
            for t in 0..steps {
                let at = c.pos;
                let n_x = c.u16("input fired count")? as usize;
                let n_h = c.u16("hidden fired count")? as usize;
                for (what, n, width) in [("input", n_x, shape.n_input), ("hidden", n_h, shape.n_hidden)] {
                    if n > width {
                        return Err(c.error_at(
                            at,
                            format!("sequence {s} step {t}: at most {width} fired {what} entries"),
                            n.to_string(),
                        ));
                    }
                }
                for (seq, n, width) in
                    [(&mut trace.input, n_x, shape.n_input), (&mut trace.hidden, n_h, shape.n_hidden)]
                {
                    let mut last: Option<u32> = None;
                    for _ in 0..n {
                        let at = c.pos;
                        let j = u32::from(c.u16("fired index")?);
                        if j as usize >= width {
                            return Err(c.error_at(
                                at,
                                format!("sequence {s} step {t}: an index below {width}"),
                                j.to_string(),
                            ));
                        }
                        if let Some(prev) = last.filter(|&p| j <= p) {
                            return Err(c.error_at(
                                at,
                                format!("sequence {s} step {t}: indices strictly ascending (after {prev})"),
                                j.to_string(),
                            ));
                        }
                        last = Some(j);
                        seq.indices.push(j);
                    }
                }
                for (seq, n) in [(&mut trace.input, n_x), (&mut trace.hidden, n_h)] {
                    for _ in 0..n {
                        let at = c.pos;
                        let v = c.f32("delta value")?;
                        if !v.is_finite() {
                            return Err(c.error_at(
                                at,
                                format!("sequence {s} step {t}: a finite delta"),
                                v.to_string(),
                            ));
                        }
                        seq.values.push(v);
                    }
                    seq.offsets.push(seq.indices.len() as u32);
                }
            }
            traces.push(trace);
        }
        sequences.push(traces);
    }
    if c.remaining() != 0 {
        return Err(c.error_at(c.pos, "end of file after the last sequence", format!("{} more bytes", c.remaining())));
    }
    Ok(TraceFile { cell, layers, sequences })
}

fn check_shapes(layers: &[LayerShape]) -> std::result::Result<(), String> {
    if layers.is_empty() || layers.len() > usize::from(u16::MAX) {
        return Err(format!("{} layers, expected 1..={}", layers.len(), u16::MAX));
    }
    for (k, l) in layers.iter().enumerate() {
        for (what, width) in [("input", l.n_input), ("hidden", l.n_hidden)] {
            if width == 0 || width > MAX_WIDTH {
                return Err(format!("layer {k} {what} width {width}, expected 1..={MAX_WIDTH}"));
            }
        }
        if k > 0 && l.n_input != layers[k - 1].n_hidden {
            return Err(format!("layer {k} input width {} is not layer {} hidden width", l.n_input, k - 1));
        }
    }
    Ok(())
}

/// Reads little-endian fields, turning a short read into an error.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn error_at(&self, offset: usize, expected: impl Into<String>, found: String) -> Error {
        Error::TraceFile { path: PathBuf::from("<bytes>"), offset: offset as u64, expected: expected.into(), found }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.error_at(
                self.pos,
                format!("{n} bytes ({what})"),
                format!("end of file after {} (truncated)", self.remaining()),
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self, what: &str) -> Result<f32> {
        let b = self.take(4, what)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::sim::generate_trace;
    use proptest::prelude::*;

    fn sample() -> TraceFile {
        let mut rng = Rng::seed(4);
        let sequences = (0..3)
            .map(|s| vec![generate_trace(5, 7, 4 + s, 0.6, &mut rng), generate_trace(7, 7, 4 + s, 0.3, &mut rng)])
            .collect();
        TraceFile {
            cell: CellKind::Gru,
            layers: vec![LayerShape { n_input: 5, n_hidden: 7 }, LayerShape { n_input: 7, n_hidden: 7 }],
            sequences,
        }
    }

    fn expect_err(bytes: &[u8], needle: &str) {
        let err = parse(bytes).unwrap_err();
        assert!(matches!(err, Error::TraceFile { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }

    #[test]
    fn round_trips_and_checks_every_field() {
        let file = sample();
        let bytes = encode(&file).unwrap();
        assert_eq!(parse(&bytes).unwrap(), file);
        let mut bad = bytes.clone();
        bad[0] = b'X';
        expect_err(&bad, "magic");
        let mut bad = bytes.clone();
        bad[8] = 2;
        expect_err(&bad, "expected version 1, found version 2");
        let mut bad = bytes.clone();
        bad[10] = 7;
        expect_err(&bad, "cell");
        expect_err(&bytes[..bytes.len() - 1], "truncated");
        expect_err(&[bytes.as_slice(), &[0]].concat(), "1 more bytes");
        // Layer 1's input width no longer chains to layer 0's hidden width.
        let mut bad = bytes.clone();
        bad[26] = 6;
        expect_err(&bad, "layer 1 input width 7");
        // A sequence count the bytes cannot hold.
        let mut bad = bytes.clone();
        bad[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
        expect_err(&bad, "sequences");
        // The first step's input count (header 34 bytes, then the 4-byte step count).
        let mut bad = bytes.clone();
        bad[38..40].copy_from_slice(&6u16.to_le_bytes());
        expect_err(&bad, "at most 5 fired input entries");
        // An index out of range, and indices out of order.
        let n_x = u16::from_le_bytes([bytes[38], bytes[39]]);
        assert!(n_x >= 2, "sample has two fired inputs in step 0");
        let mut bad = bytes.clone();
        bad[42..44].copy_from_slice(&9u16.to_le_bytes());
        expect_err(&bad, "an index below 5");
        let mut bad = bytes.clone();
        bad[44..46].copy_from_slice(&bytes[42..44]);
        expect_err(&bad, "strictly ascending");
    }

    #[test]
    fn writing_refuses_inconsistent_traces() {
        let mut file = sample();
        file.sequences[1][1] = generate_trace(7, 7, 2, 0.5, &mut Rng::seed(1));
        assert!(encode(&file).unwrap_err().to_string().contains("sequence 1 layer 1"));
        file.layers[0].n_hidden = 70_000;
        assert!(encode(&file).unwrap_err().to_string().contains("width 70000"));
    }

    #[test]
    fn records_a_model_and_reads_it_back_from_disk() {
        use crate::nn::{init_params, ModelConfig};
        let config = ModelConfig {
            cell: CellKind::Lstm,
            n_features: 4,
            n_layers: 2,
            n_hidden: 6,
            n_classes: 3,
            thresholds: Thresholds::both(0.1),
        };
        let model = init_params::<f32>(&config, 2).unwrap();
        let x: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        let file = record(&model, config.thresholds, [&x[..], &x[..20]]);
        assert_eq!(file.sequences.len(), 2);
        assert_eq!(file.sequences[1][0].steps(), 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.drt");
        write(&path, &file).unwrap();
        assert_eq!(read(&path).unwrap(), file);
        std::fs::write(&path, &encode(&file).unwrap()[..30]).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("t.drt") && err.contains("truncated"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn parse_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_damaged_files(cut in 0usize..2000, flips in proptest::collection::vec((0usize..2000, any::<u8>()), 0..4)) {
            let mut bytes = encode(&sample()).unwrap();
            for (at, value) in flips {
                let n = bytes.len();
                bytes[at % n] = value;
            }
            let cut = cut.min(bytes.len());
            let _ = parse(&bytes[..cut]);
            let _ = parse(&bytes);
        }
    }
}
