//! Serving the REST API on `listeners`: `http://` listeners with axum's server, `https://` ones with rustls in
//! front of hyper. Listeners are bound and TLS material is loaded before anything else starts, so a port in use or
//! a bad key store is reported at start-up as a configuration error.
//!
//! A client that stalls or fails its TLS handshake only loses its own connection: handshakes run in the
//! connection's task, never in the accept loop.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::{ConfigError, RestConfig, Scheme};

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener, ready to serve.
pub struct BoundListener {
    listener: TcpListener,
    url: String,
    tls: Option<TlsAcceptor>,
}

impl BoundListener {
    /// The bound address (the real port when the listener asked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The listener as configured, e.g. `https://:8443`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether it serves https.
    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }
}

/// Binds every listener of `config`, loading the TLS key material when one is `https://`.
pub async fn bind(config: &RestConfig) -> Result<Vec<BoundListener>, ConfigError> {
    let acceptor = match &config.tls {
        Some(tls) if config.listeners.iter().any(|l| l.scheme == Scheme::Https) => {
            Some(TlsAcceptor::from(super::tls::server_config(tls)?))
        }
        _ => None,
    };
    let mut bound = Vec::with_capacity(config.listeners.len());
    for listener in &config.listeners {
        let tcp = TcpListener::bind((listener.bind_host(), listener.port)).await.map_err(|e| {
            ConfigError::new(&config.file, Some("listeners"), format!("cannot listen on {}: {e}", listener.url))
        })?;
        let tls = match listener.scheme {
            Scheme::Http => None,
            Scheme::Https => acceptor.clone(),
        };
        bound.push(BoundListener { listener: tcp, url: listener.url.clone(), tls });
    }
    Ok(bound)
}

/// Serves `router` on `listener` until the future is dropped.
pub async fn serve(listener: BoundListener, router: Router) -> io::Result<()> {
    let BoundListener { listener, url, tls } = listener;
    let Some(acceptor) = tls else {
        return axum::serve(listener, router).await;
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning; the listener itself stays.
                tracing::warn!("REST listener {url}: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake with {peer} timed out");
                    return;
                }
            };
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("REST connection from {peer}: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use axum::routing::get;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

    use super::*;

    struct Pki {
        ca: rcgen::Certificate,
        ca_key: KeyPair,
    }

    impl Pki {
        fn new() -> Self {
            let ca_key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, "connect-rs test CA");
            Pki { ca: params.self_signed(&ca_key).unwrap(), ca_key }
        }

        /// A PEM file with a private key and its certificate for `names`, signed by the CA.
        fn issue(&self, dir: &Path, file: &str, names: &[&str]) {
            let key = KeyPair::generate().unwrap();
            let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
            let cert = CertificateParams::new(names).unwrap().signed_by(&key, &self.ca, &self.ca_key).unwrap();
            std::fs::write(dir.join(file), format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
        }
    }

    fn rest_config(dir: &Path, pairs: &[(&str, &str)]) -> RestConfig {
        let props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RestConfig::from_props(&dir.join("worker.properties"), &props, None).unwrap()
    }

    /// Serves a one-route router on the listeners of `config`; returns their addresses.
    async fn start(config: &RestConfig) -> Vec<SocketAddr> {
        let router = Router::new().route("/", get(|| async { "hello" }));
        let mut addrs = Vec::new();
        for listener in bind(config).await.unwrap() {
            addrs.push(listener.local_addr().unwrap());
            tokio::spawn(serve(listener, router.clone()));
        }
        addrs
    }

    fn client(dir: &Path, pairs: &[(&str, &str)]) -> reqwest::Client {
        crate::rest::client::http_client(&rest_config(dir, pairs), Duration::from_secs(5)).unwrap()
    }

    #[tokio::test]
    async fn https_and_http_listeners_serve_and_clients_trust_the_configured_ca() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new();
        pki.issue(dir.path(), "server.pem", &["localhost", "127.0.0.1"]);
        std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).unwrap();
        let config = rest_config(
            dir.path(),
            &[
                ("listeners", "https://127.0.0.1:0,http://127.0.0.1:0"),
                ("listeners.https.ssl.keystore.location", "server.pem"),
            ],
        );
        let addrs = start(&config).await;
        let https = format!("https://127.0.0.1:{}/", addrs[0].port());
        let http = format!("http://127.0.0.1:{}/", addrs[1].port());

        let trusting = client(dir.path(), &[("listeners.https.ssl.truststore.location", "ca.pem")]);
        let response = trusting.get(&https).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "hello");
        assert_eq!(trusting.get(&http).send().await.unwrap().status(), 200);

        // Without the CA (the system's CAs only), the handshake fails.
        let untrusting = crate::rest::client::http_client(&RestConfig::default(), Duration::from_secs(5)).unwrap();
        let err = untrusting.get(&https).send().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        // Plain http to the https listener gets nothing useful either.
        assert!(trusting.get(format!("http://127.0.0.1:{}/", addrs[0].port())).send().await.is_err());
    }

    #[tokio::test]
    async fn hostname_checks_can_be_turned_off_but_the_chain_is_still_checked() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new();
        pki.issue(dir.path(), "server.pem", &["worker-1.example"]);
        std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).unwrap();
        let config =
            rest_config(dir.path(), &[("listeners", "https://127.0.0.1:0"), ("ssl.keystore.location", "server.pem")]);
        let url = format!("https://127.0.0.1:{}/", start(&config).await[0].port());

        let checking = client(dir.path(), &[("listeners.https.ssl.truststore.location", "ca.pem")]);
        assert!(checking.get(&url).send().await.is_err(), "the certificate does not name 127.0.0.1");
        let lenient = client(
            dir.path(),
            &[
                ("listeners.https.ssl.truststore.location", "ca.pem"),
                ("listeners.https.ssl.endpoint.identification.algorithm", ""),
            ],
        );
        assert_eq!(lenient.get(&url).send().await.unwrap().status(), 200);

        let other = Pki::new();
        std::fs::write(dir.path().join("other-ca.pem"), other.ca.pem()).unwrap();
        let wrong_ca = client(
            dir.path(),
            &[
                ("listeners.https.ssl.truststore.location", "other-ca.pem"),
                ("listeners.https.ssl.endpoint.identification.algorithm", ""),
            ],
        );
        assert!(wrong_ca.get(&url).send().await.is_err());
    }

    #[tokio::test]
    async fn required_client_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new();
        pki.issue(dir.path(), "server.pem", &["127.0.0.1"]);
        pki.issue(dir.path(), "worker.pem", &["worker-2"]);
        std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).unwrap();
        let config = rest_config(
            dir.path(),
            &[
                ("listeners", "https://127.0.0.1:0"),
                ("ssl.keystore.location", "server.pem"),
                ("ssl.truststore.location", "ca.pem"),
                ("ssl.client.auth", "required"),
            ],
        );
        let url = format!("https://127.0.0.1:{}/", start(&config).await[0].port());

        let anonymous = client(dir.path(), &[("listeners.https.ssl.truststore.location", "ca.pem")]);
        assert!(anonymous.get(&url).send().await.is_err());
        let worker = client(
            dir.path(),
            &[
                ("listeners.https.ssl.truststore.location", "ca.pem"),
                ("listeners.https.ssl.keystore.location", "worker.pem"),
            ],
        );
        assert_eq!(worker.get(&url).send().await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let config = rest_config(dir.path(), &[("listeners", &format!("http://127.0.0.1:{port}"))]);
        let err = bind(&config).await.err().unwrap();
        assert_eq!(err.key.as_deref(), Some("listeners"));
        assert!(err.message.contains("cannot listen on"), "{err}");
    }
}
