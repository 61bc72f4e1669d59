//! Timesketch mode: what Timesketch itself does with a Sigma rule.
//!
//! sigma-match's default reading follows the Sigma specification; this
//! module tree owns the second reading, Timesketch's, so an operator can
//! predict what Timesketch will tag without running it. See
//! `docs/timesketch.md` for the sources followed and every known difference.
//!
//! | module | owns |
//! |---|---|
//! | [`pyyaml`] | YAML as PyYAML's `safe_load` types it (YAML 1.1), Python value semantics |
//! | [`legacy`] | legacy sigmac 0.19.1: configuration, rule parser, optimizer, `es-qs` backend |
//! | [`query`] | Timesketch's steps around sigmac: rule -> stored `es_query` or the error it logs |
//! | [`query_string`] | OpenSearch's `query_string` syntax (Lucene classic parser) and its errors |
//! | [`regexp`] | Lucene `RegExp` syntax (`/.../` terms) and matching |
//! | [`analyzer`] | the `standard` analyzer Timesketch's mapping gives string fields |
//! | [`index`] | Timesketch's index mapping and one event as OpenSearch indexes it |
//! | [`evaluate`] | a Timesketch query evaluated on one indexed event as OpenSearch would |
//! | [`run`] | the Timesketch reading of a run: every query on every event, in parallel |
//! | [`diff`] | spec reading vs Timesketch reading: counts, reasons, examples, `--diff` |

pub mod analyzer;
pub mod diff;
pub mod evaluate;
pub mod index;
pub mod legacy;
pub mod pyyaml;
pub mod query;
pub mod query_string;
pub mod regexp;
pub mod run;
