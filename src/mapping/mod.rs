//! Field mappings and logsource conditions applied to rules before compiling.
//!
//! This module owns how a rule's field names and `logsource` become the field
//! names and extra conditions of a concrete log format. The compiler only
//! sees the [`FieldMapping`] trait; [`Identity`] leaves rules as written.

pub mod scope;
pub mod sigmac;

use crate::sigma::rule::{DetectionItem, Logsource};

/// Maps rule fields to event fields and adds logsource conditions.
pub trait FieldMapping: Send + Sync {
    /// The event fields a rule field stands for (OR over several). An
    /// unmapped field maps to itself.
    fn map_field(&self, logsource: &Logsource, field: &str) -> Vec<String>;

    /// Extra conditions for rules of this logsource: every group must match
    /// (AND); inside a group any item may match (OR). Field names in the
    /// items are rule-level names and are mapped with [`Self::map_field`].
    fn logsource_conditions(&self, _logsource: &Logsource) -> Vec<Vec<DetectionItem>> {
        Vec::new()
    }
}

/// No mapping: fields are used as written, no logsource conditions.
#[derive(Debug, Default, Clone, Copy)]
pub struct Identity;

impl FieldMapping for Identity {
    fn map_field(&self, _logsource: &Logsource, field: &str) -> Vec<String> {
        vec![field.to_string()]
    }
}

/// Reads a placeholder file for the `expand` modifier: a YAML mapping of
/// placeholder name (without `%`) to a value or a list of values, e.g.
/// `Administrators: [admin, 'adm_*']`. Values use Sigma string syntax
/// (wildcards allowed).
pub fn load_placeholders(
    path: &std::path::Path,
) -> Result<std::collections::HashMap<String, Vec<String>>, crate::error::ConfigError> {
    use crate::error::ConfigError;
    use crate::sigma::yaml::Value;
    let err = |pos, message: String| ConfigError {
        path: path.to_path_buf(),
        pos,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, e.to_string()))?;
    let docs = crate::sigma::yaml::load_documents(&text).map_err(|e| err(Some(e.pos), e.message))?;
    let mut out = std::collections::HashMap::new();
    for doc in &docs {
        let Value::Map(entries) = &doc.value else {
            return Err(err(
                Some(doc.pos),
                "expected a mapping of placeholder names to values".into(),
            ));
        };
        for (k, v) in entries {
            let name = k
                .scalar_text()
                .ok_or_else(|| err(Some(k.pos), "placeholder name must be a string".into()))?;
            let name = name.trim_matches('%').to_string();
            let values = match &v.value {
                Value::Seq(items) => items
                    .iter()
                    .map(|i| {
                        i.scalar_text()
                            .ok_or_else(|| err(Some(i.pos), "values must be scalars".into()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => vec![
                    v.scalar_text()
                        .ok_or_else(|| err(Some(v.pos), "values must be scalars".into()))?,
                ],
            };
            out.insert(name, values);
        }
    }
    Ok(out)
}
