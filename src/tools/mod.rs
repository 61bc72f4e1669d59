//! Tools around a ruleset that are not the run: checking rules before a
//! run ([`verify`]), showing one rule after mapping with an event's outcomes
//! ([`explain`]) and a rule as an OpenSearch `query_string` ([`lucene`]).
//! They read the same rule model, mapping and compiled ruleset as the run
//! and add nothing to it; a new subcommand's logic goes here.

pub mod explain;
pub mod lucene;
pub mod verify;
