//! WAV reader from bytes: every input must give a `Wav` or an error, never a panic or an
//! allocation beyond the limits.
#![no_main]
use deltarnn::audio::{parse_wav, Limits};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_utterance_seconds: 30.0, max_file_bytes: 1 << 20 };
    if let Ok(wav) = parse_wav(Path::new("fuzz.wav"), data, &limits) {
        assert!(wav.samples.iter().all(|x| x.is_finite()));
        assert!(wav.duration_seconds() <= limits.max_utterance_seconds);
    }
});
