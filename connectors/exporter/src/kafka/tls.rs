//! TLS to the brokers, as kafka_exporter's `--tls.*` flags describe it: the CA file (else the system's CA
//! certificates), an optional client certificate and key (both or neither), the server name to verify (else the
//! broker's host), or no verification at all (`--tls.insecure-skip-tls-verify`).
//!
//! Files are read when the settings are built, so a bad file is a configuration error naming its flag, never a
//! failure at the first scrape.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::KafkaError;

/// Where the TLS material comes from (paths as given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificates (PEM) that sign the brokers' certificates.
    pub ca_file: Option<String>,
    /// The client certificate (PEM).
    pub cert_file: Option<String>,
    /// The client certificate's private key (PEM, unencrypted).
    pub key_file: Option<String>,
    /// The name the brokers' certificates must carry, instead of the host connected to.
    pub server_name: Option<String>,
    /// Accept any certificate.
    pub insecure_skip_verify: bool,
}

/// A TLS configuration ready to connect with.
#[derive(Clone)]
pub struct TlsSettings {
    config: Arc<ClientConfig>,
    server_name: Option<String>,
}

/// A TLS setting that cannot be used: which key (flag name without dashes) and why.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsConfigError {
    /// `tls.ca-file`, `tls.cert-file`, `tls.key-file` or `tls.server-name`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

fn error(key: &'static str, message: impl Into<String>) -> TlsConfigError {
    TlsConfigError { key, message: message.into() }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(key: &'static str, path: &str) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(Path::new(path)).map_err(|e| error(key, format!("cannot read {path}: {e}")))
}

fn certificates(key: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let bytes = read(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(key, format!("{path}: malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(error(key, format!("{path} holds no PEM certificate")));
    }
    Ok(certs)
}

impl TlsSettings {
    /// Reads the files and builds the configuration.
    pub fn new(files: &TlsFiles) -> Result<TlsSettings, TlsConfigError> {
        let roots = match &files.ca_file {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates("tls.ca-file", path)? {
                    roots
                        .add(cert)
                        .map_err(|e| error("tls.ca-file", format!("{path}: invalid CA certificate: {e}")))?;
                }
                roots
            }
            None => system_roots(),
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| error("tls.enabled", e.to_string()))?;
        let builder = if files.insecure_skip_verify {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match (&files.cert_file, &files.key_file) {
            (Some(cert), Some(key)) => {
                let chain = certificates("tls.cert-file", cert)?;
                let bytes = read("tls.key-file", key)?;
                let private = PrivateKeyDer::from_pem_slice(&bytes)
                    .map_err(|e| error("tls.key-file", format!("{key}: no usable PEM private key: {e}")))?;
                builder.with_client_auth_cert(chain, private).map_err(|e| {
                    error("tls.key-file", format!("{key} and {cert} cannot be used as client certificate: {e}"))
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            // kafka_exporter's wording: "certificate and key must be supplied as a pair".
            (Some(cert), None) => {
                return Err(error("tls.key-file", format!("{cert}: certificate and key must be supplied as a pair")))
            }
            (None, Some(key)) => {
                return Err(error("tls.cert-file", format!("{key}: certificate and key must be supplied as a pair")))
            }
        };
        if let Some(name) = &files.server_name {
            ServerName::try_from(name.clone()).map_err(|e| error("tls.server-name", format!("{name}: {e}")))?;
        }
        Ok(TlsSettings { config: Arc::new(config), server_name: files.server_name.clone() })
    }

    /// Runs the handshake on `tcp`, checking the certificate against the server name or `addr`'s host.
    pub(crate) async fn connect(&self, addr: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, KafkaError> {
        let tls_error = |message: String| KafkaError::Tls { broker: addr.to_string(), message };
        let name = self.server_name.clone().unwrap_or_else(|| super::host_of(addr).to_string());
        let name = ServerName::try_from(name).map_err(|e| tls_error(e.to_string()))?;
        TlsConnector::from(self.config.clone()).connect(name, tcp).await.map_err(|e| tls_error(e.to_string()))
    }
}

/// The operating system's CA certificates (Go's default when no CA file is given); unreadable ones are skipped.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!("skipping system CA certificates: {error}");
    }
    roots.add_parsable_certificates(found.certs);
    roots
}

/// `--tls.insecure-skip-tls-verify`: any certificate is accepted, its signatures on the handshake still checked.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn files_are_checked_when_the_settings_are_built() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["broker".into()]).unwrap();
        let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
        let key_file = write(dir.path(), "key.pem", &ca.key_pair.serialize_pem());
        let cert_file = write(dir.path(), "cert.pem", &ca.cert.pem());
        let garbage = write(dir.path(), "garbage.pem", "not pem");

        let files = TlsFiles {
            ca_file: Some(ca_file.clone()),
            cert_file: Some(cert_file.clone()),
            key_file: Some(key_file.clone()),
            ..TlsFiles::default()
        };
        assert!(TlsSettings::new(&files).is_ok());
        assert!(TlsSettings::new(&TlsFiles { insecure_skip_verify: true, ..TlsFiles::default() }).is_ok());

        let err = TlsSettings::new(&TlsFiles { ca_file: Some(garbage.clone()), ..TlsFiles::default() }).err().unwrap();
        assert_eq!(err.key, "tls.ca-file");
        assert!(err.message.contains("no PEM certificate"), "{err:?}");

        let missing = dir.path().join("missing.pem").display().to_string();
        let err = TlsSettings::new(&TlsFiles { ca_file: Some(missing), ..TlsFiles::default() }).err().unwrap();
        assert!(err.message.starts_with("cannot read"), "{err:?}");

        let err = TlsSettings::new(&TlsFiles { cert_file: Some(cert_file), ..TlsFiles::default() }).err().unwrap();
        assert_eq!(err.key, "tls.key-file");
        assert!(err.message.contains("must be supplied as a pair"), "{err:?}");

        let files = TlsFiles { cert_file: Some(ca_file), key_file: Some(garbage), ..TlsFiles::default() };
        assert_eq!(TlsSettings::new(&files).err().unwrap().key, "tls.key-file");
    }
}
