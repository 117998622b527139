//! Forwarding a request a follower cannot serve to the leader, as Kafka Connect's `HerderRequestHandler`:
//! at most two hops, tracked with the `forward` query parameter; the `Authorization` header goes along.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::RestError;
use super::signature::{SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER};
use crate::herder::api::{CONFLICT_NO_LEADER, CONFLICT_REBALANCE};

/// The parts of the incoming request needed to re-issue it elsewhere.
#[derive(Clone, Debug)]
pub struct Original {
    method: Method,
    path: String,
    /// Query pairs other than `forward`.
    query: Vec<(String, String)>,
    /// `forward`: none on a client's request, `true` or `false` on a forwarded one.
    forward: Option<bool>,
    authorization: Option<HeaderValue>,
    /// KIP-507 signature headers of internal requests, which travel with them.
    signature: Vec<(HeaderName, HeaderValue)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Original {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut query = Vec::new();
        let mut forward = None;
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned() {
            if key == "forward" {
                forward = Some(value.eq_ignore_ascii_case("true"));
            } else {
                query.push((key, value));
            }
        }
        Ok(Original {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query,
            forward,
            authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
            signature: [SIGNATURE_HEADER, SIGNATURE_ALGORITHM_HEADER]
                .into_iter()
                .filter_map(|name| {
                    let value = parts.headers.get(name)?.clone();
                    Some((HeaderName::from_bytes(name.as_bytes()).ok()?, value))
                })
                .collect(),
        })
    }
}

/// Re-issues requests to other workers.
#[derive(Clone)]
pub struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    /// A forwarder sending with `client` (see [`super::client::http_client`]: https with the REST trust store, and
    /// the request timeout).
    pub fn new(client: reqwest::Client) -> Self {
        Forwarder { client }
    }

    /// Sends `original` (with `body`) to the worker at `target` and relays its answer.
    pub async fn forward(&self, original: &Original, body: Bytes, target: Option<&str>) -> Response {
        let Some(target) = target else {
            return RestError::new(StatusCode::CONFLICT, CONFLICT_NO_LEADER).into_response();
        };
        let next_forward = match original.forward {
            None => true,
            Some(true) => false,
            Some(false) => return RestError::new(StatusCode::CONFLICT, CONFLICT_REBALANCE).into_response(),
        };
        let mut url =
            match reqwest::Url::parse(target).and_then(|base| base.join(original.path.trim_start_matches('/'))) {
                Ok(url) => url,
                Err(e) => return RestError::internal(format!("invalid leader URL {target}: {e}")).into_response(),
            };
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &original.query {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("forward", if next_forward { "true" } else { "false" });
        }
        tracing::debug!("forwarding {} {} to {url}", original.method, original.path);
        let mut request = self.client.request(original.method.clone(), url).header(header::ACCEPT, "application/json");
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body);
        }
        for (name, value) in &original.signature {
            request = request.header(name.clone(), value.clone());
        }
        if let Some(auth) = &original.authorization {
            request = request.header(header::AUTHORIZATION, auth.clone());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let mut headers = HeaderMap::new();
                for name in [header::CONTENT_TYPE, header::LOCATION] {
                    if let Some(v) = response.headers().get(&name) {
                        headers.insert(name, v.clone());
                    }
                }
                match response.bytes().await {
                    Ok(bytes) => (status, headers, bytes).into_response(),
                    Err(e) => {
                        RestError::internal(format!("IO Error trying to forward REST request: {e}")).into_response()
                    }
                }
            }
            Err(e) => RestError::internal(format!("IO Error trying to forward REST request: {e}")).into_response(),
        }
    }
}
