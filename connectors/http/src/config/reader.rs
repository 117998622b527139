//! Typed reads of a configuration against its definition that record every error instead of stopping at the
//! first, so the checks across keys can go on and report everything at once.

use connect_api::config::{ConfigDef, ConfigValue};
use connect_api::Config;

use super::KeyErrors;

/// Reads typed values of `config` as `def` defines them; each failed read leaves an error under its key.
pub(crate) struct Reader<'a> {
    def: ConfigDef,
    config: &'a Config,
    errors: KeyErrors,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(def: ConfigDef, config: &'a Config) -> Self {
        Reader { def, config, errors: KeyErrors::default() }
    }

    /// The parsed value of a defined key (its default when unset); `None` after an error.
    fn value(&mut self, key: &str) -> Option<ConfigValue> {
        let Some(definition) = self.def.key(key) else {
            // Only keys of the connector's own definition are read this way.
            self.error(key, format!("{key} is not a key of this connector"));
            return None;
        };
        match definition.parse(self.config.get(key).map(String::as_str)) {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(key, message);
                None
            }
        }
    }

    /// A string, password or class value; `None` when null (unset without default) or invalid.
    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        match self.value(key)? {
            ConfigValue::String(s) | ConfigValue::Password(s) | ConfigValue::Class(s) => Some(s),
            _ => None,
        }
    }

    /// A string value trimmed, `None` when unset or blank.
    pub(crate) fn non_blank(&mut self, key: &str) -> Option<String> {
        self.string(key).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// The value exactly as the user wrote it, whitespace included (batch separators), or `default`.
    pub(crate) fn verbatim(&mut self, key: &str, default: &str) -> String {
        self.value(key);
        self.config.get(key).cloned().unwrap_or_else(|| default.to_string())
    }

    /// An INT value (or 0 after an error, which is then reported).
    pub(crate) fn int(&mut self, key: &str) -> i32 {
        match self.value(key) {
            Some(ConfigValue::Int(n)) => n,
            _ => 0,
        }
    }

    /// A LONG value; `None` when null or invalid.
    pub(crate) fn long(&mut self, key: &str) -> Option<i64> {
        match self.value(key)? {
            ConfigValue::Long(n) => Some(n),
            ConfigValue::Int(n) => Some(n.into()),
            _ => None,
        }
    }

    /// A BOOLEAN value (false after an error).
    pub(crate) fn boolean(&mut self, key: &str) -> bool {
        matches!(self.value(key), Some(ConfigValue::Boolean(true)))
    }

    /// A LIST value (empty after an error).
    pub(crate) fn list(&mut self, key: &str) -> Vec<String> {
        match self.value(key) {
            Some(ConfigValue::List(items)) => items,
            _ => Vec::new(),
        }
    }

    /// The raw value the user set, for error messages (passwords must not go through here).
    pub(crate) fn raw(&self, key: &str) -> &str {
        self.config.get(key).map(String::as_str).unwrap_or("null")
    }

    /// Records an error about `key`.
    pub(crate) fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.0.push((key.to_string(), message.into()));
    }

    /// Records Kafka's "Invalid value .. for configuration ..: why" about `key` with its raw value.
    pub(crate) fn invalid(&mut self, key: &str, why: impl std::fmt::Display) {
        let message = super::invalid(key, self.raw(key), why);
        self.error(key, message);
    }

    /// The settings built, unless an error was recorded.
    pub(crate) fn finish<T>(self, settings: T) -> Result<T, KeyErrors> {
        if self.errors.0.is_empty() {
            Ok(settings)
        } else {
            Err(self.errors)
        }
    }
}
