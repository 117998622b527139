//! One request, tried until the server acknowledges it or the retries run out. Connection errors, timeouts, 408,
//! 429 and 5xx are always retried, and so are the statuses the key set lists (every status from 400 for Aiven,
//! `retry.on.status.codes` for Confluent); a renew status (401 with OAuth2) drops the token and retries at once.
//! The wait between attempts is the server's `Retry-After` when it sends one, else the configured backoff
//! (constant, or doubling with jitter). Only an acknowledgement counts as delivered: nothing here ever reports
//! success for a request the server did not answer with a success status.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use connect_api::Result;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, Method, Url};

use crate::auth::{Authorizer, HEADER};
use crate::config::{RetrySettings, Settings, MAX_BACKOFF};

/// The longest `Retry-After` honoured; a longer one is cut to this (a stop still interrupts the wait).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Sends requests for one task.
pub struct Sender {
    client: Client,
    headers: HeaderMap,
    auth: Authorizer,
    retry: RetrySettings,
}

/// A request that failed for good.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: String,
    /// The last status, when the server answered.
    pub status: Option<reqwest::StatusCode>,
    /// The start of the response body, or what went wrong on the way.
    pub detail: String,
    /// How many attempts were made.
    pub attempts: u32,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} {} answered {status}", self.method, self.url)?,
            None => write!(f, "{} {} failed", self.method, self.url)?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// What one attempt ended with, when it did not succeed.
struct Attempt {
    failure: Failure,
    retriable: bool,
    /// The server's `Retry-After`.
    retry_after: Option<Duration>,
    /// Retry at once (a renewed token).
    immediate: bool,
}

impl Sender {
    /// A sender with the task's client, headers, authorization and retry rules.
    pub fn new(settings: &Settings) -> Result<Self> {
        let client = crate::client::build(settings)?;
        Ok(Sender {
            auth: Authorizer::new(&settings.auth, client.clone()),
            client,
            headers: settings.headers.clone(),
            retry: settings.retry.clone(),
        })
    }

    /// Sends one request until it is acknowledged or fails for good.
    pub async fn send(&self, method: &Method, url: &Url, body: Option<Bytes>) -> Result<(), Failure> {
        let mut retries = 0;
        loop {
            let attempt = match self.attempt(method, url, body.clone()).await {
                Ok(()) => return Ok(()),
                Err(attempt) => attempt,
            };
            let mut failure = attempt.failure;
            failure.attempts = retries + 1;
            if !attempt.retriable || retries >= self.retry.max_retries {
                return Err(failure);
            }
            retries += 1;
            let wait = if attempt.immediate {
                Duration::ZERO
            } else {
                attempt.retry_after.map(|w| w.min(MAX_RETRY_AFTER)).unwrap_or_else(|| self.backoff(retries))
            };
            tracing::warn!("{failure}; retry {retries} of {} in {} ms", self.retry.max_retries, wait.as_millis());
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<Bytes>) -> Result<(), Attempt> {
        let failure =
            |status, detail| Failure { method: method.clone(), url: redacted(url), status, detail, attempts: 1 };
        let authorization = self.auth.header().await.map_err(|why| Attempt {
            failure: failure(None, why),
            retriable: true,
            retry_after: None,
            immediate: false,
        })?;
        let mut headers = self.headers.clone();
        if let Some(value) = authorization {
            // The configured authorization wins over an Authorization entry among the static headers.
            headers.insert(HEADER, value);
        }
        let mut request = self.client.request(method.clone(), url.clone()).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                return Err(Attempt {
                    failure: failure(None, io_text(&err)),
                    retriable: true,
                    retry_after: None,
                    immediate: false,
                })
            }
        };
        let status = response.status();
        let code = status.as_u16();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
        // Reading the body to its end lets the connection be used again.
        let text = match response.bytes().await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if code < self.retry.success_below => {
                // The server acknowledged (the status is final), only its body was cut short.
                tracing::debug!("the body of an acknowledgement from {url} was cut short: {}", io_text(&err));
                String::new()
            }
            Err(err) => io_text(&err),
        };
        if code < self.retry.success_below {
            return Ok(());
        }
        let renew = self.auth.renew_on(code).await;
        let retriable = renew || code >= 500 || code == 429 || code == 408 || self.retry.statuses.contains(code);
        Err(Attempt { failure: failure(Some(status), snippet(&text)), retriable, retry_after, immediate: renew })
    }

    /// The wait before retry number `retry` (from 1).
    fn backoff(&self, retry: u32) -> Duration {
        let base = self.retry.backoff;
        if !self.retry.exponential || base.is_zero() {
            return base;
        }
        let full = base.saturating_mul(1 << (retry - 1).min(20)).min(MAX_BACKOFF.max(base));
        // Equal jitter: half the wait for sure, the other half at random, so tasks that failed together spread out.
        let half = full / 2;
        half + half.mul_f64(random_fraction())
    }
}

/// `url` for logs and error messages: a password in it (`https://user:secret@host/`) is masked.
pub fn redacted(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut masked = url.clone();
    let _ = masked.set_password(Some("[hidden]"));
    masked.to_string()
}

/// A number in [0, 1), different at each call; jitter needs no more than this.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A `Retry-After` value: seconds, or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// An error of reqwest with its causes, the way an operator wants to read it.
pub fn io_text(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of a response body, on one line.
pub fn snippet(text: &str) -> String {
    const MAX: usize = 500;
    let one_line: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(30);
        let wait = retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        let url = Url::parse("https://user:secret@h/x").unwrap();
        assert_eq!(redacted(&url), "https://user:%5Bhidden%5D@h/x");
        assert_eq!(redacted(&Url::parse("http://h/x").unwrap()), "http://h/x");
    }

    #[test]
    fn snippets_are_short_single_lines() {
        assert_eq!(snippet(" a\nb "), "a b");
        assert_eq!(snippet(&"x".repeat(600)).len(), 503);
    }

    #[test]
    fn exponential_backoff_doubles_with_jitter_up_to_the_cap() {
        let settings = RetrySettings {
            max_retries: 5,
            backoff: Duration::from_millis(100),
            exponential: true,
            statuses: Default::default(),
            success_below: 300,
        };
        let sender =
            Sender { client: Client::new(), headers: HeaderMap::new(), auth: Authorizer::None, retry: settings };
        for (retry, full) in [(1, 100), (2, 200), (3, 400), (30, 60_000)] {
            let wait = sender.backoff(retry).as_millis();
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait} ms");
        }
    }
}
