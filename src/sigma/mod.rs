//! Sigma rule text to a typed rule model.
//!
//! This folder owns everything that reads Sigma and knows nothing of
//! events or backends: [`yaml`] (YAML text to a positioned tree),
//! [`rule`] (rule documents, metadata, detections, collections),
//! [`value`] (the value model: Sigma strings, patterns, typed checks),
//! [`modifier`] (the modifier chain, one step per modifier: a new
//! modifier goes here) and [`condition`] (the condition parser).
//! Field mapping lives in [`crate::mapping`], matchers in [`crate::compile`].

pub mod condition;
pub mod modifier;
pub mod rule;
pub mod value;
pub mod yaml;
