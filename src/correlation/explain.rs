//! `sigma-match explain` for a correlation rule: what it references, its
//! window, and over an events file its firings and, per group, why it did or
//! did not reach the condition.
