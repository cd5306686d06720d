//! The `deltarnn` binary end to end, as one test binary (one link on a 2-core machine): each
//! module drives a group of subcommands; `util` runs the binary and checks what it printed,
//! `fixtures` builds the tiny inputs, `layout` checks the CLI's import picture.

mod arith;
mod bad_inputs;
mod data_commands;
mod faults;
mod fixtures;
mod layout;
mod learn;
mod numerics;
mod protocol;
mod sequences;
mod simulate;
mod training;
mod util;
