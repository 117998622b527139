//! The Authorization header of each request: none, a fixed value, or an OAuth2 access token from the client
//! credentials grant. A token is fetched on first use, kept, fetched again shortly before it expires
//! (`expires_in`), and dropped when the server answers one of the renew statuses (401), so the retry carries a new
//! one. Secrets never reach a log line.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Client;
use tokio::sync::Mutex;

use crate::config::{AuthSettings, ClientAuth, OAuth2Settings};

/// Authorizes requests.
pub enum Authorizer {
    /// No Authorization header.
    None,
    /// The same header on every request.
    Header(HeaderValue),
    /// OAuth2 tokens.
    OAuth2(Box<TokenSource>),
}

impl Authorizer {
    /// The authorizer of `settings`, fetching tokens with `client`.
    pub fn new(settings: &AuthSettings, client: Client) -> Self {
        match settings {
            AuthSettings::None => Authorizer::None,
            AuthSettings::Header(value) => Authorizer::Header(value.clone()),
            AuthSettings::OAuth2(oauth) => Authorizer::OAuth2(Box::new(TokenSource {
                client,
                settings: (**oauth).clone(),
                token: Mutex::new(None),
            })),
        }
    }

    /// The header value for the next request, if any; an error when no token can be had.
    pub async fn header(&self) -> Result<Option<HeaderValue>, String> {
        match self {
            Authorizer::None => Ok(None),
            Authorizer::Header(value) => Ok(Some(value.clone())),
            Authorizer::OAuth2(source) => source.header().await.map(Some),
        }
    }

    /// Whether `status` means the token must be fetched again; drops it if so.
    pub async fn renew_on(&self, status: u16) -> bool {
        match self {
            Authorizer::OAuth2(source) if source.settings.renew_on.contains(&status) => {
                *source.token.lock().await = None;
                true
            }
            _ => false,
        }
    }
}

/// OAuth2 client credentials: fetches, keeps and renews the access token.
pub struct TokenSource {
    client: Client,
    settings: OAuth2Settings,
    token: Mutex<Option<Token>>,
}

struct Token {
    header: HeaderValue,
    /// When to fetch a new one; `None` when the server gave no lifetime (kept until a renew status).
    renew_at: Option<Instant>,
}

impl TokenSource {
    async fn header(&self) -> Result<HeaderValue, String> {
        let mut token = self.token.lock().await;
        if let Some(current) = token.as_ref() {
            if current.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(current.header.clone());
            }
            tracing::debug!("the OAuth2 access token is about to expire: fetching a new one");
        }
        let fresh = self.fetch().await?;
        let header = fresh.header.clone();
        *token = Some(fresh);
        Ok(header)
    }

    async fn fetch(&self) -> Result<Token, String> {
        let s = &self.settings;
        let token_url = crate::sender::redacted(&s.token_url);
        let mut request = self.client.post(s.token_url.clone()).headers(s.token_headers.clone());
        // The form is finished before any await: its serializer is not Send.
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair(&s.grant_type.0, &s.grant_type.1);
            if let Some(scope) = &s.scope {
                form.append_pair("scope", scope);
            }
            match s.client_auth {
                ClientAuth::Header => request = request.basic_auth(&s.client_id, Some(&s.client_secret)),
                ClientAuth::Form => {
                    form.append_pair(&s.id_field, &s.client_id);
                    form.append_pair(&s.secret_field, &s.client_secret);
                }
            }
            form.finish()
        };
        let response = request
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| {
                format!("cannot fetch an OAuth2 access token from {token_url}: {}", crate::sender::io_text(&e))
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "the OAuth2 token endpoint {token_url} answered {status}: {}",
                crate::sender::snippet(&text)
            ));
        }
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("the OAuth2 token endpoint {token_url} answered something else than JSON: {e}"))?;
        let token =
            json.get(&s.token_property).and_then(|t| t.as_str()).filter(|t| !t.is_empty()).ok_or_else(|| {
                format!("the OAuth2 token response of {token_url} has no {} property", s.token_property)
            })?;
        let kind = match json.get("token_type").and_then(|t| t.as_str()) {
            Some(kind) if !kind.eq_ignore_ascii_case("bearer") => kind.to_string(),
            _ => "Bearer".to_string(),
        };
        let mut header = HeaderValue::from_str(&format!("{kind} {token}"))
            .map_err(|_| format!("the OAuth2 token of {token_url} cannot be sent in a header"))?;
        header.set_sensitive(true);
        let lifetime = json.get("expires_in").and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok()));
        let renew_at = lifetime.filter(|l| *l > 0.0).map(|seconds| {
            let lifetime = Duration::from_secs_f64(seconds.min(1e9));
            // Renew a little early so a token never expires on its way: a tenth of its life, at most a minute.
            Instant::now() + lifetime - (lifetime / 10).min(Duration::from_secs(60))
        });
        tracing::debug!(expires_in = ?lifetime, "fetched an OAuth2 access token");
        Ok(Token { header, renew_at })
    }
}

/// The name of the header [`Authorizer`] fills.
pub const HEADER: reqwest::header::HeaderName = AUTHORIZATION;
