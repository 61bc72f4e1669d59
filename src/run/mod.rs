//! Running a compiled ruleset over inputs.
//!
//! This folder owns the run itself: [`engine`] (the parallel driver:
//! chunks from [`crate::input`] to evaluation to [`engine::Sink`]s, with
//! counts), [`preflight`] (never a silent nothing: missing paths, swapped
//! arguments, no rules, unreadable inputs) and [`floor`] (`--parse-only`,
//! the benchmark floor).

pub mod engine;
pub mod floor;
pub mod preflight;
