//! The worker's own Kafka cluster, the default of a connector without `kafka.server`.
//!
//! connect-api gives connectors no view of the worker's configuration, so the worker hands its client settings
//! (librdkafka names: `bootstrap.servers`, `security.protocol`, `ssl.*`, `sasl.*`) to this crate once at start-up,
//! through its registry of built-ins. One process runs one worker, so one value per process is enough. This must
//! never hold anything but connection settings.

use std::collections::BTreeMap;
use std::sync::RwLock;

static WORKER_CLUSTER: RwLock<Option<BTreeMap<String, String>>> = RwLock::new(None);

/// Records the worker's Kafka client settings (librdkafka names).
pub fn set_worker_cluster(settings: BTreeMap<String, String>) {
    *WORKER_CLUSTER.write().unwrap_or_else(|p| p.into_inner()) = Some(settings);
}

/// The worker's Kafka client settings, when a worker recorded them.
pub fn worker_cluster() -> Option<BTreeMap<String, String>> {
    WORKER_CLUSTER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The exporter's keys for the worker's settings; a setting this client cannot honour is an error naming it.
pub fn exporter_keys(worker: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, (String, String)> {
    let get = |key: &str| worker.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut keys = Vec::new();
    let servers =
        get("bootstrap.servers").ok_or_else(|| ("bootstrap.servers".to_string(), "is not set".to_string()))?;
    keys.push(("kafka.server".to_string(), servers.to_string()));
    let protocol = get("security.protocol").unwrap_or("PLAINTEXT").to_ascii_uppercase();
    let (tls, sasl) = match protocol.as_str() {
        "PLAINTEXT" => (false, false),
        "SSL" => (true, false),
        "SASL_PLAINTEXT" => (false, true),
        "SASL_SSL" => (true, true),
        other => return Err(("security.protocol".into(), format!("{other} is not a security protocol"))),
    };
    if tls {
        keys.push(("tls.enabled".into(), "true".into()));
        for (theirs, ours) in [
            ("ssl.ca.location", "tls.ca-file"),
            ("ssl.certificate.location", "tls.cert-file"),
            ("ssl.key.location", "tls.key-file"),
        ] {
            if let Some(value) = get(theirs) {
                keys.push((ours.into(), value.into()));
            }
        }
        if get("enable.ssl.certificate.verification").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
            keys.push(("tls.insecure-skip-tls-verify".into(), "true".into()));
        }
        for unsupported in
            ["ssl.keystore.location", "ssl.key.password", "ssl.ca.pem", "ssl.certificate.pem", "ssl.key.pem"]
        {
            if get(unsupported).is_some() {
                return Err((
                    unsupported.into(),
                    "not supported by the Kafka Exporter: give PEM files (ssl.ca.location, ssl.certificate.location, \
                     ssl.key.location) or set kafka.server and the tls.* keys on the connector"
                        .into(),
                ));
            }
        }
    }
    if sasl {
        keys.push(("sasl.enabled".into(), "true".into()));
        let mechanism = get("sasl.mechanism").or_else(|| get("sasl.mechanisms")).unwrap_or("PLAIN");
        keys.push(("sasl.mechanism".into(), mechanism.into()));
        for (theirs, ours) in [("sasl.username", "sasl.username"), ("sasl.password", "sasl.password")] {
            if let Some(value) = get(theirs) {
                keys.push((ours.into(), value.into()));
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn worker_settings_become_exporter_keys() {
        let plain = exporter_keys(&settings(&[("bootstrap.servers", "a:9092,b:9092")])).unwrap();
        assert_eq!(plain, vec![("kafka.server".to_string(), "a:9092,b:9092".to_string())]);

        let secure = exporter_keys(&settings(&[
            ("bootstrap.servers", "a:9093"),
            ("security.protocol", "sasl_ssl"),
            ("ssl.ca.location", "/ca.pem"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "exporter"),
            ("sasl.password", "secret"),
        ]))
        .unwrap();
        for expected in [
            ("tls.enabled", "true"),
            ("tls.ca-file", "/ca.pem"),
            ("sasl.enabled", "true"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "exporter"),
        ] {
            assert!(secure.contains(&(expected.0.to_string(), expected.1.to_string())), "{expected:?} in {secure:?}");
        }
    }

    #[test]
    fn what_the_exporter_cannot_use_is_named() {
        let err = exporter_keys(&settings(&[])).unwrap_err();
        assert_eq!(err.0, "bootstrap.servers");
        let err = exporter_keys(&settings(&[
            ("bootstrap.servers", "a:9093"),
            ("security.protocol", "SSL"),
            ("ssl.keystore.location", "/ks.p12"),
        ]))
        .unwrap_err();
        assert_eq!(err.0, "ssl.keystore.location");
        let err = exporter_keys(&settings(&[("bootstrap.servers", "a:1"), ("security.protocol", "TLS")])).unwrap_err();
        assert_eq!(err.0, "security.protocol");
    }
}
