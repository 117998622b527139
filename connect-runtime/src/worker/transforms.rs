//! A connector's transformation chain (Kafka Connect's `TransformationChain`): the `transforms` and `predicates`
//! of its configuration, resolved in the plugin registry, configured, and applied to each record in order.
//!
//! Each stage runs under the task's error handling: a failing transformation or predicate is retried while its
//! error is retriable, then fails the task or skips the record as `errors.tolerance` says.

use std::collections::BTreeSet;

use connect_api::abi::PluginType;
use connect_api::config::ConfigValueInfo;
use connect_api::{Config, ConnectError, TransformRecord};

use super::errors::{Failure, RetryWithTolerance, Stage};
use crate::config::{add_key_error, first_key_error, missing_key, KeyError};
use crate::plugins::{PluginRegistry, PredicateHandle, TransformationHandle};

/// One `transforms` entry as configured.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TransformSpec {
    /// The alias.
    pub alias: String,
    /// `transforms.<alias>.type`.
    pub class: String,
    /// The keys under `transforms.<alias>.` without that prefix, `type`, `predicate` and `negate`.
    pub settings: Config,
    /// `transforms.<alias>.predicate`.
    pub predicate: Option<String>,
    /// `transforms.<alias>.negate`.
    pub negate: bool,
}

/// One `predicates` entry as configured.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PredicateSpec {
    /// The alias.
    pub alias: String,
    /// `predicates.<alias>.type`.
    pub class: String,
    /// The keys under `predicates.<alias>.` without that prefix and `type`.
    pub settings: Config,
}

fn aliases(props: &Config, key: &str) -> Result<Vec<String>, KeyError> {
    let list: Vec<String> = props
        .get(key)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for alias in &list {
        if !seen.insert(alias) {
            return Err((
                key.to_string(),
                format!("Invalid value {alias} for configuration {key}: Duplicate alias provided."),
            ));
        }
    }
    Ok(list)
}

fn settings_under(props: &Config, prefix: &str, skip: &[&str]) -> Config {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v)))
        .filter(|(rest, _)| !skip.contains(rest))
        .map(|(rest, v)| (rest.to_string(), v.clone()))
        .collect()
}

fn required_type(props: &Config, key: &str) -> Result<String, KeyError> {
    match props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(class) => Ok(class.to_string()),
        None => Err(missing_key(key)),
    }
}

/// Reads `transforms` and `predicates`: every problem found, each with its key.
pub(crate) fn parse_specs(props: &Config) -> Result<(Vec<TransformSpec>, Vec<PredicateSpec>), Vec<KeyError>> {
    let mut errors = Vec::new();
    let predicate_aliases = aliases(props, "predicates").unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    });
    let mut predicates = Vec::new();
    for alias in &predicate_aliases {
        let prefix = format!("predicates.{alias}.");
        match required_type(props, &format!("{prefix}type")) {
            Ok(class) => predicates.push(PredicateSpec {
                alias: alias.clone(),
                class,
                settings: settings_under(props, &prefix, &["type"]),
            }),
            Err(e) => errors.push(e),
        }
    }
    let mut transforms = Vec::new();
    for alias in aliases(props, "transforms").unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    }) {
        let prefix = format!("transforms.{alias}.");
        let class = match required_type(props, &format!("{prefix}type")) {
            Ok(class) => class,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let predicate_key = format!("{prefix}predicate");
        let negate_key = format!("{prefix}negate");
        let predicate = props.get(&predicate_key).map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        if let Some(p) = &predicate {
            if !predicate_aliases.contains(p) {
                errors.push((
                    predicate_key.clone(),
                    format!("Invalid value {p} for configuration {predicate_key}: no predicate with this alias is listed in predicates"),
                ));
            }
        }
        let negate = match props.get(&negate_key).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                errors.push((
                    negate_key.clone(),
                    format!("Invalid value {other} for configuration {negate_key}: Expected value to be either true or false"),
                ));
                false
            }
        };
        if negate && predicate.is_none() {
            errors.push((
                negate_key.clone(),
                format!("{negate_key} is set but {predicate_key} is not: negate only applies to a predicate"),
            ));
        }
        transforms.push(TransformSpec {
            alias,
            class,
            settings: settings_under(props, &prefix, &["type", "predicate", "negate"]),
            predicate,
            negate,
        });
    }
    if errors.is_empty() {
        Ok((transforms, predicates))
    } else {
        Err(errors)
    }
}

/// Validates `transforms` and `predicates` as `PUT /connector-plugins/{c}/config/validate` reports them: the
/// list keys and every `type` key, plus each plugin's own keys under its prefix; instances are configured to find
/// the errors their own checks raise, which are reported on the `type` key.
pub(crate) fn validate(props: &Config, registry: &PluginRegistry) -> Vec<ConfigValueInfo> {
    let mut infos: Vec<ConfigValueInfo> = Vec::new();
    let error =
        |infos: &mut Vec<ConfigValueInfo>, key: &str, message: String| add_key_error(infos, props, key, message);
    let (transforms, predicates) = match parse_specs(props) {
        Ok(specs) => specs,
        Err(errors) => {
            for (key, message) in errors {
                error(&mut infos, &key, message);
            }
            return infos;
        }
    };
    let check = |infos: &mut Vec<ConfigValueInfo>, prefix: &str, class: &str, settings: &Config, wanted| {
        let type_key = format!("{prefix}type");
        let plugin = match registry.resolve_transform(class, wanted) {
            Ok(plugin) => plugin,
            Err(message) => {
                error(infos, &type_key, format!("Invalid value {class} for configuration {type_key}: {message}"));
                return;
            }
        };
        let mut own_errors = 0;
        for mut info in plugin.config_def().validate(settings) {
            info.name = format!("{prefix}{}", info.name);
            own_errors += info.errors.len();
            infos.push(info);
        }
        if own_errors > 0 {
            // The same problems would come back from `configure`, on the type key.
            return;
        }
        let configured = match wanted {
            PluginType::Predicate => plugin.new_predicate().and_then(|mut p| {
                let result = p.configure(settings);
                p.close();
                result
            }),
            _ => plugin.new_transformation().and_then(|mut t| {
                let result = t.configure(settings);
                t.close();
                result
            }),
        };
        if let Err(err) = configured {
            error(infos, &type_key, err.to_string());
        }
    };
    for spec in &transforms {
        check(
            &mut infos,
            &format!("transforms.{}.", spec.alias),
            &spec.class,
            &spec.settings,
            PluginType::Transformation,
        );
    }
    for spec in &predicates {
        check(&mut infos, &format!("predicates.{}.", spec.alias), &spec.class, &spec.settings, PluginType::Predicate);
    }
    infos
}

struct PredicateStage {
    class: String,
    predicate: PredicateHandle,
}

struct TransformStage {
    class: String,
    transform: TransformationHandle,
    /// The index of its predicate, and whether it is negated.
    predicate: Option<(usize, bool)>,
}

/// The configured transformations of one task, in order.
pub(crate) struct TransformChain {
    stages: Vec<TransformStage>,
    predicates: Vec<PredicateStage>,
}

impl TransformChain {
    /// An empty chain.
    pub(crate) fn empty() -> Self {
        TransformChain { stages: Vec::new(), predicates: Vec::new() }
    }

    /// The chain `props` configures, every plugin resolved and configured; the error names the key at fault.
    pub(crate) fn build(props: &Config, registry: &PluginRegistry) -> Result<Self, ConnectError> {
        let (transforms, predicates) = parse_specs(props).map_err(first_key_error)?;
        let mut chain = TransformChain::empty();
        for spec in &predicates {
            let key = format!("predicates.{}.type", spec.alias);
            let plugin = registry
                .resolve_transform(&spec.class, PluginType::Predicate)
                .map_err(|m| ConnectError::config(&key, format!("{}: {m}", spec.class)))?;
            let mut predicate = plugin.new_predicate()?;
            predicate.configure(&spec.settings).map_err(|e| e.context(format!("predicate {}", spec.alias)))?;
            chain.predicates.push(PredicateStage { class: plugin.class().to_string(), predicate });
        }
        for spec in &transforms {
            let key = format!("transforms.{}.type", spec.alias);
            let plugin = registry
                .resolve_transform(&spec.class, PluginType::Transformation)
                .map_err(|m| ConnectError::config(&key, format!("{}: {m}", spec.class)))?;
            let mut transform = plugin.new_transformation()?;
            transform.configure(&spec.settings).map_err(|e| e.context(format!("transformation {}", spec.alias)))?;
            let predicate = spec.predicate.as_ref().map(|alias| {
                let index = predicates.iter().position(|p| &p.alias == alias).unwrap_or_default();
                (index, spec.negate)
            });
            chain.stages.push(TransformStage { class: plugin.class().to_string(), transform, predicate });
        }
        Ok(chain)
    }

    /// Whether the chain has no transformation.
    pub(crate) fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Applies every stage to `record`: `Ok(Ok(Some))` the transformed record, `Ok(Ok(None))` a record a
    /// transformation dropped, `Ok(Err)` a tolerated failure (the record is skipped after it is reported), `Err`
    /// when the task must fail.
    pub(crate) fn apply(
        &mut self,
        record: TransformRecord,
        errors: &mut RetryWithTolerance,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Result<Option<TransformRecord>, Failure>, ConnectError> {
        let may_retry = errors.policy().may_retry();
        let mut current = record;
        for stage in &mut self.stages {
            if let Some((index, negate)) = stage.predicate {
                let predicate = &mut self.predicates[index];
                let matched = match errors
                    .execute(Stage::Transformation, &predicate.class, stopping, || predicate.predicate.test(&current))?
                {
                    Ok(matched) => matched,
                    Err(failure) => return Ok(Err(failure)),
                };
                if matched == negate {
                    continue;
                }
            }
            // A retry needs the input again; it is copied only when retries are possible at all.
            let backup = may_retry.then(|| current.clone());
            let mut input = Some(current);
            let transform = &mut stage.transform;
            let outcome = errors.execute(Stage::Transformation, &stage.class, stopping, || {
                let record = match input.take() {
                    Some(record) => record,
                    None => backup.clone().ok_or_else(|| ConnectError::new("no record to retry"))?,
                };
                transform.apply(record)
            })?;
            match outcome {
                Ok(Some(next)) => current = next,
                Ok(None) => return Ok(Ok(None)),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        Ok(Ok(Some(current)))
    }

    /// Closes every transformation and predicate.
    pub(crate) fn close(&mut self) {
        for stage in &mut self.stages {
            stage.transform.close();
        }
        for predicate in &mut self.predicates {
            predicate.predicate.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn specs_take_settings_predicates_and_negation() {
        let (transforms, predicates) = parse_specs(&props(&[
            ("transforms", "route, mask"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.predicate", "small"),
            ("transforms.route.negate", "true"),
            ("transforms.mask.type", "MaskField$Value"),
            ("predicates", "small"),
            ("predicates.small.type", "TopicNameMatches"),
            ("predicates.small.pattern", "s.*"),
        ]))
        .unwrap();
        assert_eq!(transforms.len(), 2);
        assert_eq!(transforms[0].settings, props(&[("regex", "(.*)")]));
        assert_eq!((transforms[0].predicate.as_deref(), transforms[0].negate), (Some("small"), true));
        assert_eq!((transforms[1].predicate.as_deref(), transforms[1].negate), (None, false));
        assert_eq!(predicates[0].settings, props(&[("pattern", "s.*")]));
    }

    #[test]
    fn spec_errors_name_their_keys() {
        let errors = parse_specs(&props(&[
            ("transforms", "a,b,c,c"),
            ("transforms.b.type", "X"),
            ("transforms.b.predicate", "nope"),
            ("transforms.c.type", "X"),
            ("predicates", "p"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["predicates.p.type", "transforms"]);
        let errors = parse_specs(&props(&[
            ("transforms", "a,b"),
            ("transforms.b.type", "X"),
            ("transforms.b.predicate", "nope"),
            ("transforms.b.negate", "maybe"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["transforms.a.type", "transforms.b.predicate", "transforms.b.negate"]);
        assert!(errors[0].1.contains("Missing required configuration \"transforms.a.type\""), "{}", errors[0].1);
    }
}
