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

pub mod legacy;
pub mod pyyaml;
pub mod query;
