//! Internal request signing (KIP-507, the `sessioned` protocol), as Kafka Connect's `InternalRequestSignature`:
//! an HMAC of the raw request body with the session key the leader distributes through the config topic, sent in
//! `X-Connect-Authorization` (base64) with the algorithm in `X-Connect-Request-Signature-Algorithm`.
//!
//! Signatures are always compared in constant time, and a session key never goes to a log.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};

use super::error::RestError;
use crate::storage::kafka::SessionKey;

/// The header carrying the base64 signature.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// The header naming the signature algorithm.
pub const SIGNATURE_ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";

/// An HMAC algorithm, named as the JCA names it (`HmacSHA256`...), which is how Kafka Connect writes it in worker
/// configs, headers and the session-key record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    /// `HmacSHA1`.
    HmacSha1,
    /// `HmacSHA256`, Kafka Connect's default.
    HmacSha256,
    /// `HmacSHA384`.
    HmacSha384,
    /// `HmacSHA512`.
    HmacSha512,
}

/// An algorithm name this worker cannot compute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Algorithm {0} not available; connect-rs supports HmacSHA1, HmacSHA256, HmacSHA384 and HmacSHA512")]
pub struct UnknownAlgorithm(pub String);

impl HmacAlgorithm {
    /// Every algorithm this worker supports.
    pub const ALL: [HmacAlgorithm; 4] =
        [HmacAlgorithm::HmacSha1, HmacAlgorithm::HmacSha256, HmacAlgorithm::HmacSha384, HmacAlgorithm::HmacSha512];

    /// The JCA name, e.g. `HmacSHA256`.
    pub fn name(self) -> &'static str {
        match self {
            HmacAlgorithm::HmacSha1 => "HmacSHA1",
            HmacAlgorithm::HmacSha256 => "HmacSHA256",
            HmacAlgorithm::HmacSha384 => "HmacSHA384",
            HmacAlgorithm::HmacSha512 => "HmacSHA512",
        }
    }

    /// The key size Java's `KeyGenerator` uses for this algorithm when `inter.worker.key.size` is not set, in bytes.
    pub fn default_key_bytes(self) -> usize {
        match self {
            HmacAlgorithm::HmacSha1 => 64,
            HmacAlgorithm::HmacSha256 => 32,
            HmacAlgorithm::HmacSha384 => 48,
            HmacAlgorithm::HmacSha512 => 64,
        }
    }

    /// HMAC of `message` with `key`.
    pub fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length: new_from_slice cannot fail.
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            HmacAlgorithm::HmacSha1 => run::<Hmac<sha1::Sha1>>(key, message),
            HmacAlgorithm::HmacSha256 => run::<Hmac<sha2::Sha256>>(key, message),
            HmacAlgorithm::HmacSha384 => run::<Hmac<sha2::Sha384>>(key, message),
            HmacAlgorithm::HmacSha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

impl FromStr for HmacAlgorithm {
    type Err = UnknownAlgorithm;

    /// Parses a JCA name, ignoring case as `Mac.getInstance` does.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let name = name.trim();
        HmacAlgorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownAlgorithm(name.to_string()))
    }
}

impl fmt::Display for HmacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key could not be generated: the operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate a session key: the system random source failed: {0}")]
pub struct KeyGenerationError(String);

/// A new random session key for `algorithm`, of `size_bits` (`inter.worker.key.size`, rounded up to whole bytes as
/// Java does) or else the algorithm's default size, stamped with the current time.
pub fn generate_key(algorithm: HmacAlgorithm, size_bits: Option<u32>) -> Result<SessionKey, KeyGenerationError> {
    let len = size_bits.map(|bits| bits.div_ceil(8) as usize).unwrap_or_else(|| algorithm.default_key_bytes());
    let mut key = vec![0u8; len];
    getrandom::fill(&mut key).map_err(|e| KeyGenerationError(e.to_string()))?;
    let creation_timestamp =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    Ok(SessionKey { key, algorithm: algorithm.name().to_string(), creation_timestamp })
}

/// The base64 signature of `body` with `key`, as sent in [`SIGNATURE_HEADER`].
pub fn signature(key: &SessionKey, algorithm: HmacAlgorithm, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(algorithm.mac(&key.key, body))
}

/// Sets `body` on `request` and signs it: the body sent is exactly the one signed.
pub fn sign(
    request: reqwest::RequestBuilder,
    body: impl Into<Bytes>,
    key: &SessionKey,
    algorithm: HmacAlgorithm,
) -> reqwest::RequestBuilder {
    let body = body.into();
    request
        .header(SIGNATURE_HEADER, signature(key, algorithm, &body))
        .header(SIGNATURE_ALGORITHM_HEADER, algorithm.name())
        .body(body)
}

/// Checks the signature of an internal request, with Kafka Connect's outcomes
/// (`DistributedHerder.requestNotSignedProperly`):
/// - no signature headers: 400;
/// - an algorithm not in `allowed` (`inter.worker.verification.algorithms`) or unknown: 400;
/// - no session key read from the config topic yet: 503;
/// - a signature that does not match (or is not base64): 403.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&SessionKey>,
    allowed: &[HmacAlgorithm],
) -> Result<(), RestError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let (Some(algorithm), Some(signature)) = (header(SIGNATURE_ALGORITHM_HEADER), header(SIGNATURE_HEADER)) else {
        return Err(RestError::bad_request("Internal request missing required signature"));
    };
    let algorithm: HmacAlgorithm =
        algorithm.parse().map_err(|e: UnknownAlgorithm| RestError::bad_request(e.to_string()))?;
    if !allowed.contains(&algorithm) {
        let allowed: Vec<&str> = allowed.iter().map(|a| a.name()).collect();
        return Err(RestError::bad_request(format!(
            "This worker does not support the '{algorithm}' key signing algorithm used by other workers. This worker \
             is currently configured to use: [{}]. Check that all workers' configuration files permit the same set \
             of signature algorithms, and correct any misconfigured worker and restart it.",
            allowed.join(", ")
        )));
    }
    let Some(key) = key else {
        return Err(RestError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "This worker has not read a session key from the config topic yet, so it cannot verify internal \
             requests; try again shortly",
        ));
    };
    let invalid = || RestError::new(StatusCode::FORBIDDEN, "Internal request contained invalid signature.");
    let signature = base64::engine::general_purpose::STANDARD.decode(signature).map_err(|_| invalid())?;
    let expected = algorithm.mac(&key.key, body);
    if bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), signature.as_slice())) {
        Ok(())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn key(bytes: &[u8]) -> SessionKey {
        SessionKey { key: bytes.to_vec(), algorithm: "HmacSHA256".into(), creation_timestamp: 0 }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn known_hmac_vectors() {
        // RFC 4231 test case 2 (HMAC-SHA256, -SHA512) and RFC 2202 test case 2 (HMAC-SHA1).
        let (k, m) = (b"Jefe".as_slice(), b"what do ya want for nothing?".as_slice());
        assert_eq!(
            hex(&HmacAlgorithm::HmacSha256.mac(k, m)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&HmacAlgorithm::HmacSha512.mac(k, m)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(hex(&HmacAlgorithm::HmacSha1.mac(k, m)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // RFC 4231 test case 1.
        assert_eq!(
            hex(&HmacAlgorithm::HmacSha256.mac(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn algorithm_names_parse_as_the_jca_does() {
        assert_eq!("HmacSHA256".parse(), Ok(HmacAlgorithm::HmacSha256));
        assert_eq!("hmacsha1".parse(), Ok(HmacAlgorithm::HmacSha1));
        assert_eq!("HmacMD5".parse::<HmacAlgorithm>(), Err(UnknownAlgorithm("HmacMD5".into())));
        assert_eq!(HmacAlgorithm::HmacSha512.to_string(), "HmacSHA512");
    }

    #[test]
    fn generated_keys_have_the_algorithms_size() {
        let a = generate_key(HmacAlgorithm::HmacSha256, None).unwrap();
        let b = generate_key(HmacAlgorithm::HmacSha256, None).unwrap();
        assert_eq!(a.key.len(), 32);
        assert_ne!(a.key, b.key);
        assert_eq!(a.algorithm, "HmacSHA256");
        assert!(a.creation_timestamp > 1_600_000_000_000);
        assert_eq!(generate_key(HmacAlgorithm::HmacSha512, None).unwrap().key.len(), 64);
        assert_eq!(generate_key(HmacAlgorithm::HmacSha256, Some(129)).unwrap().key.len(), 17);
    }

    fn signed_headers(key: &SessionKey, algorithm: HmacAlgorithm, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature(key, algorithm, body)).unwrap());
        headers.insert(SIGNATURE_ALGORITHM_HEADER, HeaderValue::from_static(algorithm.name()));
        headers
    }

    #[test]
    fn verify_outcomes_follow_kafka_connect() {
        let k = key(b"0123456789abcdef0123456789abcdef");
        let body = br#"[{"task.class":"X"}]"#;
        let allowed = [HmacAlgorithm::HmacSha256];
        let headers = signed_headers(&k, HmacAlgorithm::HmacSha256, body);
        assert_eq!(verify(&headers, body, Some(&k), &allowed), Ok(()));

        let status = |r: Result<(), RestError>| r.unwrap_err().status;
        assert_eq!(status(verify(&HeaderMap::new(), body, Some(&k), &allowed)), StatusCode::BAD_REQUEST);
        let sha512 = signed_headers(&k, HmacAlgorithm::HmacSha512, body);
        let err = verify(&sha512, body, Some(&k), &allowed).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("'HmacSHA512'") && err.message.contains("[HmacSHA256]"), "{}", err.message);
        let mut unknown = headers.clone();
        unknown.insert(SIGNATURE_ALGORITHM_HEADER, HeaderValue::from_static("HmacMD5"));
        assert_eq!(status(verify(&unknown, body, Some(&k), &allowed)), StatusCode::BAD_REQUEST);
        assert_eq!(status(verify(&headers, body, None, &allowed)), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(verify(&headers, b"[]", Some(&k), &allowed)), StatusCode::FORBIDDEN);
        assert_eq!(status(verify(&headers, body, Some(&key(b"another key")), &allowed)), StatusCode::FORBIDDEN);
        let mut garbage = headers.clone();
        garbage.insert(SIGNATURE_HEADER, HeaderValue::from_static("not base64!"));
        assert_eq!(status(verify(&garbage, body, Some(&k), &allowed)), StatusCode::FORBIDDEN);
    }

    #[test]
    fn sign_sets_headers_and_the_signed_body() {
        let k = key(b"secret");
        let request = sign(
            reqwest::Client::new().post("http://leader:8083/connectors/c/tasks"),
            br#"[]"#.to_vec(),
            &k,
            HmacAlgorithm::HmacSha256,
        )
        .build()
        .unwrap();
        let body = request.body().and_then(|b| b.as_bytes()).unwrap().to_vec();
        assert_eq!(body, b"[]");
        let mut headers = HeaderMap::new();
        for (name, value) in request.headers() {
            headers.insert(name.clone(), value.clone());
        }
        assert_eq!(headers[SIGNATURE_ALGORITHM_HEADER], "HmacSHA256");
        assert_eq!(verify(&headers, &body, Some(&k), &[HmacAlgorithm::HmacSha256]), Ok(()));
    }
}
