//! The reqwest client of a task, built from the settings: timeouts, proxy, and TLS on rustls (ring) with the
//! system's CA certificates or the configured ones, a client certificate, host name checks. Redirects are never
//! followed: a 3xx answer is judged by the key set (success for Aiven, a failure for Confluent), as upstream.

use connect_api::{ConnectError, Result};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Client, Identity, Proxy};

use crate::config::{Settings, TlsVersion};

/// A client for the requests of one task (and its token requests).
pub fn build(settings: &Settings) -> Result<Client> {
    let tls = &settings.tls;
    let mut builder = Client::builder()
        .redirect(Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .tcp_nodelay(true)
        .user_agent(concat!("connect-rs-http-sink/", env!("CARGO_PKG_VERSION")));
    match &tls.ca_pem {
        // A trust store replaces the system's CAs, as a Java trust store does.
        Some(pem) => {
            let certs = Certificate::from_pem_bundle(pem)
                .map_err(|e| ConnectError::new(format!("the configured CA certificates cannot be used: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            if native.certs.is_empty() {
                tracing::warn!(errors = ?native.errors, "no system CA certificates found: https URLs need a trust store");
            }
            for cert in native.certs {
                // A system certificate rustls cannot parse is skipped, as every rustls client does.
                if let Ok(cert) = Certificate::from_der(cert.as_ref()) {
                    builder = builder.add_root_certificate(cert);
                }
            }
        }
    }
    if let Some(pem) = &tls.identity_pem {
        let identity = Identity::from_pem(pem)
            .map_err(|e| ConnectError::new(format!("the configured client certificate cannot be used: {e}")))?;
        builder = builder.identity(identity);
    }
    if tls.trust_all {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if !tls.verify_hostname {
        builder = builder.danger_accept_invalid_hostnames(true);
    }
    if tls.version == Some(TlsVersion::UpTo12) {
        builder = builder.max_tls_version(reqwest::tls::Version::TLS_1_2);
    }
    match &settings.proxy {
        Some(proxy) => {
            let mut p = Proxy::all(&proxy.url)
                .map_err(|e| ConnectError::new(format!("the proxy {} cannot be used: {e}", proxy.url)))?;
            if let Some((user, password)) = &proxy.credentials {
                p = p.basic_auth(user, password);
            }
            builder = builder.proxy(p);
        }
        None => builder = builder.no_proxy(),
    }
    builder.build().map_err(|e| ConnectError::new(format!("cannot build the HTTP client: {e}")))
}
