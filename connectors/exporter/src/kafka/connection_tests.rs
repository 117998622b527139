//! The connection setup against a small in-process broker that speaks just enough of the protocol (ApiVersions,
//! SaslHandshake, SaslAuthenticate with PLAIN, Metadata), over TLS or not: the paths the test broker (tansu 0.6.0,
//! whose TLS cannot be configured and whose SCRAM needs users we cannot create) cannot exercise end to end.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Decodable, Encodable, HeaderVersion, StrBytes};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::sasl::{Mechanism, SaslSettings};
use super::tls::{TlsFiles, TlsSettings};
use super::{ClientSettings, KafkaClient, KafkaError};

fn frame<R: Encodable + HeaderVersion>(response: &R, version: i16, correlation: i32) -> Vec<u8> {
    let mut body = BytesMut::new();
    ResponseHeader::default().with_correlation_id(correlation).encode(&mut body, R::header_version(version)).unwrap();
    response.encode(&mut body, version).unwrap();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.put_i32(body.len() as i32);
    out.extend_from_slice(&body);
    out
}

/// Answers requests on one stream until it closes; `password` is the PLAIN password of user "exporter".
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, password: &str) {
    loop {
        let Ok(size) = stream.read_i32().await else { return };
        let mut buf = vec![0; size as usize];
        if stream.read_exact(&mut buf).await.is_err() {
            return;
        }
        let mut buf = Bytes::from(buf);
        let header = decode_request_header_from_buffer(&mut buf).unwrap();
        let (version, correlation) = (header.request_api_version, header.correlation_id);
        let answer = match ApiKey::try_from(header.request_api_key).unwrap() {
            ApiKey::ApiVersions => {
                let range = |key: ApiKey, max| {
                    ApiVersion::default().with_api_key(key as i16).with_min_version(0).with_max_version(max)
                };
                let response = ApiVersionsResponse::default().with_api_keys(vec![
                    range(ApiKey::ApiVersions, 3),
                    range(ApiKey::Metadata, 12),
                    range(ApiKey::SaslHandshake, 1),
                    range(ApiKey::SaslAuthenticate, 2),
                ]);
                // ApiVersions answers carry a v0 header whatever the version.
                let mut body = BytesMut::new();
                ResponseHeader::default().with_correlation_id(correlation).encode(&mut body, 0).unwrap();
                response.encode(&mut body, version).unwrap();
                let mut out = Vec::new();
                out.put_i32(body.len() as i32);
                out.extend_from_slice(&body);
                out
            }
            ApiKey::SaslHandshake => {
                let request = SaslHandshakeRequest::decode(&mut buf, version).unwrap();
                let response =
                    SaslHandshakeResponse::default().with_mechanisms(vec![StrBytes::from_static_str("PLAIN")]);
                // UNSUPPORTED_SASL_MECHANISM for anything else.
                let code = if request.mechanism.as_str() == "PLAIN" { 0 } else { 33 };
                frame(&response.with_error_code(code), version, correlation)
            }
            ApiKey::SaslAuthenticate => {
                let request = SaslAuthenticateRequest::decode(&mut buf, version).unwrap();
                let expected = format!("\0exporter\0{password}");
                let response = if request.auth_bytes[..] == *expected.as_bytes() {
                    SaslAuthenticateResponse::default()
                } else {
                    SaslAuthenticateResponse::default()
                        .with_error_code(58)
                        .with_error_message(Some(StrBytes::from_static_str("Authentication failed: wrong password")))
                };
                frame(&response, version, correlation)
            }
            ApiKey::Metadata => {
                let response = MetadataResponse::default().with_brokers(vec![MetadataResponseBroker::default()
                    .with_node_id(BrokerId(7))
                    .with_host(StrBytes::from_static_str("localhost"))
                    .with_port(9092)]);
                frame(&response, version, correlation)
            }
            other => panic!("unexpected {other:?}"),
        };
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// A broker on a free port, TLS with `tls` when given; returns its address.
async fn broker(tls: Option<Arc<rustls::ServerConfig>>, password: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        if let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await {
                            serve(stream, password).await;
                        }
                    }
                    None => serve(tcp, password).await,
                }
            });
        }
    });
    addr
}

struct Pki {
    dir: tempfile::TempDir,
    server: Arc<rustls::ServerConfig>,
}

/// A CA, a server certificate for localhost / 127.0.0.1 signed by it (in `ca.pem`), and a second, unrelated CA
/// (`other.pem`).
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = params.clone().self_signed(&ca_key).unwrap();
    let other = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("other.pem"), other.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = CertificateParams::new(names).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    Pki { dir, server: Arc::new(server) }
}

fn client(addr: &str, tls: Option<TlsSettings>, sasl: Option<SaslSettings>) -> KafkaClient {
    KafkaClient::new(ClientSettings {
        bootstrap: vec![addr.to_string()],
        client_id: "kafka_exporter".into(),
        request_timeout: Duration::from_secs(5),
        tls,
        sasl,
    })
}

async fn metadata(client: &KafkaClient, addr: &str) -> Result<MetadataResponse, KafkaError> {
    client.request(addr, 1, 12, |_| MetadataRequest::default().with_topics(None)).await
}

fn tls(pki: &Pki, ca: &str, server_name: Option<&str>, insecure: bool) -> TlsSettings {
    TlsSettings::new(&TlsFiles {
        ca_file: Some(pki.dir.path().join(ca).display().to_string()),
        server_name: server_name.map(String::from),
        insecure_skip_verify: insecure,
        ..TlsFiles::default()
    })
    .unwrap()
}

#[tokio::test]
async fn tls_checks_the_broker_certificate() {
    let pki = pki();
    let addr = broker(Some(pki.server.clone()), "").await;
    let answer = metadata(&client(&addr, Some(tls(&pki, "ca.pem", None, false)), None), &addr).await.unwrap();
    assert_eq!(answer.brokers[0].node_id, BrokerId(7));
    // The name to verify instead of the host connected to.
    let named = client(&addr, Some(tls(&pki, "ca.pem", Some("localhost"), false)), None);
    metadata(&named, &addr).await.unwrap();

    let err = metadata(&client(&addr, Some(tls(&pki, "other.pem", None, false)), None), &addr).await.unwrap_err();
    assert!(matches!(err, KafkaError::Tls { .. }), "{err}");
    let wrong_name = client(&addr, Some(tls(&pki, "ca.pem", Some("kafka.example.com"), false)), None);
    let err = metadata(&wrong_name, &addr).await.unwrap_err();
    assert!(err.to_string().contains("TLS with"), "{err}");
    // --tls.insecure-skip-tls-verify accepts it anyway.
    metadata(&client(&addr, Some(tls(&pki, "other.pem", None, true)), None), &addr).await.unwrap();
    // A plain client gets no answer it can read from a TLS listener.
    assert!(metadata(&client(&addr, None, None), &addr).await.is_err());
}

#[tokio::test]
async fn sasl_plain_over_tls_and_plaintext() {
    let pki = pki();
    let sasl = |password: &str| {
        Some(SaslSettings { mechanism: Mechanism::Plain, username: "exporter".into(), password: password.into() })
    };
    let plain = broker(None, "s3cret").await;
    metadata(&client(&plain, None, sasl("s3cret")), &plain).await.unwrap();
    let err = metadata(&client(&plain, None, sasl("guess")), &plain).await.unwrap_err();
    assert!(matches!(err, KafkaError::Sasl { .. }), "{err}");
    assert!(err.to_string().contains("wrong password"), "{err}");

    let secure = broker(Some(pki.server.clone()), "s3cret").await;
    metadata(&client(&secure, Some(tls(&pki, "ca.pem", None, false)), sasl("s3cret")), &secure).await.unwrap();

    // SCRAM is refused by this broker (it offers PLAIN only): the error says what it offers.
    let scram = SaslSettings { mechanism: Mechanism::ScramSha512, username: "exporter".into(), password: "x".into() };
    let err = metadata(&client(&plain, None, Some(scram)), &plain).await.unwrap_err();
    assert!(err.to_string().contains("SCRAM-SHA-512") && err.to_string().contains("PLAIN"), "{err}");
}
