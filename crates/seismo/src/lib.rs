//! The parts of the `seismo` command that other programs (the fuzzers) use: its
//! settings file.

pub mod config;
