//! Cross-module tests in one binary (fast link). Everything here is self-contained: signals are
//! generated, bad files are written by the tests, and the synth test runs espeak-ng.
mod bad_files;
mod datasets;
mod golden;
mod synth;
mod util;
