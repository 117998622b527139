//! SASL authentication of a new connection (SaslHandshake, then SaslAuthenticate frames): PLAIN, and SCRAM-SHA-256
//! / SCRAM-SHA-512 (RFC 5802, with Kafka's mechanism names). The server's final signature is checked, so a broker
//! that does not know the password cannot pass for one that does.

use std::collections::HashMap;

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::{StrBytes, VersionRange};
use sha2::{Digest, Sha256, Sha512};

use super::connection::{negotiate, Setup};
use super::{error_name, KafkaError};

/// The mechanisms this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// `PLAIN`.
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl Mechanism {
    /// Kafka's name of the mechanism.
    pub fn kafka_name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// Who to authenticate as.
#[derive(Clone)]
pub struct SaslSettings {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// SaslHandshake v1 (so that the tokens travel in SaslAuthenticate frames), then the mechanism's exchange.
pub(crate) async fn authenticate(
    setup: &mut Setup<'_>,
    versions: &HashMap<i16, VersionRange>,
    settings: &SaslSettings,
) -> Result<(), KafkaError> {
    let addr = setup.addr().to_string();
    let failed = |message: String| KafkaError::Sasl { broker: addr.clone(), message };
    let handshake_version = negotiate::<SaslHandshakeRequest>(versions, 1, 1, &addr)?;
    let name = settings.mechanism.kafka_name();
    let request = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(name));
    let answer = setup.round_trip(&request, handshake_version).await?;
    if answer.error_code != 0 {
        let offered: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(failed(format!(
            "{name} refused ({}); the broker offers {}",
            error_name(answer.error_code),
            offered.join(", ")
        )));
    }
    let auth_version = negotiate::<SaslAuthenticateRequest>(versions, 0, 2, &addr)?;
    match settings.mechanism {
        Mechanism::Plain => {
            exchange(setup, auth_version, plain_token(&settings.username, &settings.password)).await?;
        }
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            let mut scram = Scram::new(settings.mechanism, &settings.username, &settings.password, &nonce()?);
            let server_first = exchange(setup, auth_version, scram.client_first().into_bytes()).await?;
            let server_first =
                String::from_utf8(server_first).map_err(|_| failed("server-first-message is not UTF-8".into()))?;
            let client_final = scram.client_final(&server_first).map_err(failed)?;
            let server_final = exchange(setup, auth_version, client_final.into_bytes()).await?;
            let server_final =
                String::from_utf8(server_final).map_err(|_| failed("server-final-message is not UTF-8".into()))?;
            scram.verify_server(&server_final).map_err(failed)?;
        }
    }
    tracing::debug!("authenticated to {addr} with {name} as {}", settings.username);
    Ok(())
}

/// One SaslAuthenticate round trip: our token out, the server's back.
async fn exchange(setup: &mut Setup<'_>, version: i16, token: Vec<u8>) -> Result<Vec<u8>, KafkaError> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
    let answer = setup.round_trip(&request, version).await?;
    if answer.error_code != 0 {
        let message = answer.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default();
        return Err(KafkaError::Sasl {
            broker: setup.addr().to_string(),
            message: format!("{} {message}", error_name(answer.error_code)).trim_end().to_string(),
        });
    }
    Ok(answer.auth_bytes.to_vec())
}

fn plain_token(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

fn nonce() -> Result<String, KafkaError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| KafkaError::Sasl { broker: String::new(), message: e.to_string() })?;
    Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes).replace(['+', '/'], "x"))
}

/// One SCRAM conversation (client side).
struct Scram {
    mechanism: Mechanism,
    password: String,
    client_first_bare: String,
    client_nonce: String,
    server_signature: Vec<u8>,
}

impl Scram {
    fn new(mechanism: Mechanism, username: &str, password: &str, nonce: &str) -> Self {
        let user = username.replace('=', "=3D").replace(',', "=2C");
        Scram {
            mechanism,
            password: password.to_string(),
            client_first_bare: format!("n={user},r={nonce}"),
            client_nonce: nonce.to_string(),
            server_signature: Vec::new(),
        }
    }

    fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    fn client_final(&mut self, server_first: &str) -> Result<String, String> {
        let field = |name: &str| {
            server_first
                .split(',')
                .find_map(|part| part.strip_prefix(name).and_then(|p| p.strip_prefix('=')))
                .ok_or_else(|| format!("server-first-message lacks {name}=: {server_first}"))
        };
        let nonce = field("r")?;
        if !nonce.starts_with(&self.client_nonce) {
            return Err("the server's nonce does not extend ours".into());
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode(field("s")?).map_err(|e| format!("bad salt: {e}"))?;
        let iterations: u32 = field("i")?.parse().map_err(|e| format!("bad iteration count: {e}"))?;
        if iterations == 0 {
            return Err("bad iteration count: 0".into());
        }
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let salted = self.hi(&salt, iterations);
        let client_key = self.hmac(&salted, b"Client Key");
        let stored_key = self.hash(&client_key);
        let signature = self.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hmac(&salted, b"Server Key");
        self.server_signature = self.hmac(&server_key, auth_message.as_bytes());
        Ok(format!("{without_proof},p={}", b64.encode(proof)))
    }

    fn verify_server(&self, server_final: &str) -> Result<(), String> {
        if let Some(error) = server_final.strip_prefix("e=") {
            return Err(format!("the server refused: {error}"));
        }
        let signature = server_final
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .ok_or_else(|| format!("server-final-message lacks v=: {server_final}"))?;
        let signature = base64::engine::general_purpose::STANDARD.decode(signature).map_err(|e| e.to_string())?;
        if signature != self.server_signature {
            return Err("the server's signature does not match: it does not know the password".into());
        }
        Ok(())
    }

    fn hi(&self, salt: &[u8], iterations: u32) -> Vec<u8> {
        let password = self.password.as_bytes();
        match self.mechanism {
            Mechanism::ScramSha512 => pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec(),
            _ => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec(),
        }
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self.mechanism {
            Mechanism::ScramSha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            _ => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        match self.mechanism {
            Mechanism::ScramSha512 => Sha512::digest(data).to_vec(),
            _ => Sha256::digest(data).to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCRAM-SHA-256 example of RFC 7677, section 3.
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut scram = Scram::new(Mechanism::ScramSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            scram.client_final(server_first).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        scram.verify_server("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert!(scram.verify_server("v=AAAA").unwrap_err().contains("does not know the password"));
        assert!(scram.verify_server("e=invalid-proof").unwrap_err().contains("invalid-proof"));
    }

    #[test]
    fn scram_refuses_a_foreign_nonce_and_bad_fields() {
        let mut scram = Scram::new(Mechanism::ScramSha512, "u=,x", "p", "abc");
        assert_eq!(scram.client_first(), "n,,n=u=3D=2Cx,r=abc");
        assert!(scram.client_final("r=zzz,s=AAAA,i=4096").unwrap_err().contains("nonce"));
        assert!(scram.client_final("r=abcd,s=AAAA").unwrap_err().contains("i="));
        assert!(scram.client_final("r=abcd,s=AAAA,i=0").is_err());
        let reply = scram.client_final("r=abcd,s=AAAA,i=4096").unwrap();
        assert!(reply.starts_with("c=biws,r=abcd,p="), "{reply}");
        assert_eq!(scram.server_signature.len(), 64);
    }

    #[test]
    fn plain_tokens_and_nonces() {
        assert_eq!(plain_token("alice", "s3cret"), b"\0alice\0s3cret".to_vec());
        let (a, b) = (nonce().unwrap(), nonce().unwrap());
        assert_ne!(a, b);
        assert!(!a.contains(',') && a.len() >= 24, "{a}");
    }
}
