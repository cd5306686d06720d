//! Activity-trace files (`deltarnn train --record-trace`) from bytes: parse never panics, and
//! whatever it accepts encodes back to the same bytes and replays as a valid trace.
#![no_main]
use deltarnn::tracefile::{encode, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = parse(data) {
        for sequence in &file.sequences {
            assert_eq!(sequence.len(), file.layers.len());
            for (trace, shape) in sequence.iter().zip(&file.layers) {
                assert!(trace.input.indices.iter().all(|&j| (j as usize) < shape.n_input));
                assert!(trace.hidden.indices.iter().all(|&j| (j as usize) < shape.n_hidden));
            }
        }
        let bytes = encode(&file).expect("a parsed trace encodes");
        assert_eq!(parse(&bytes).expect("re-parse"), file);
    }
});
