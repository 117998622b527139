//! `RestError`: every failure of the REST API, rendered once as Kafka Connect's `{"error_code":..,"message":..}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::herder::api::{HerderError, CONFLICT_NO_LEADER};

/// Kafka Connect's error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// The HTTP status.
    pub error_code: u16,
    /// What went wrong.
    pub message: String,
}

/// An error answered with its status and Kafka Connect's error body.
#[derive(Clone, Debug, PartialEq)]
pub struct RestError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message.
    pub message: String,
}

impl RestError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        RestError { status, message: message.into() }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<HerderError> for RestError {
    fn from(err: HerderError) -> Self {
        let status = match &err {
            HerderError::NotFound(_) => StatusCode::NOT_FOUND,
            HerderError::AlreadyExists(_) | HerderError::Conflict(_) => StatusCode::CONFLICT,
            HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::NotLeader { .. } => StatusCode::CONFLICT,
            HerderError::Forbidden(_) => StatusCode::FORBIDDEN,
            HerderError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HerderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match err {
            HerderError::NotLeader { .. } => CONFLICT_NO_LEADER.to_string(),
            other => other.to_string(),
        };
        RestError::new(status, message)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = ErrorMessage { error_code: self.status.as_u16(), message: self.message };
        (self.status, Json(body)).into_response()
    }
}
