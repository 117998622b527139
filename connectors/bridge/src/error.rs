//! Strimzi's error answer: `{"error_code":..,"message":..}` (plus `validation_errors` for schema failures), sent as
//! `application/vnd.kafka.v2+json`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::format::KAFKA_JSON;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// The HTTP status, repeated in the body.
    pub error_code: u16,
    /// What went wrong.
    pub message: String,
    /// Schema validation failures, one line each; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<String>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError { error_code: status, message: message.into(), validation_errors: Vec::new() }
    }

    /// 400 for a body that does not match the API's schema, as Strimzi's request validation says it.
    pub fn schema(errors: Vec<String>) -> Self {
        ApiError {
            error_code: 400,
            message: "Validation error on: Schema validation error".to_string(),
            validation_errors: errors,
        }
    }

    /// 400 for a request that cannot be validated (wrong content type, undecodable body).
    pub fn validation(message: impl std::fmt::Display) -> Self {
        ApiError::new(400, format!("Validation error on: {message}"))
    }

    /// 404 for an unknown consumer instance.
    pub fn unknown_consumer() -> Self {
        ApiError::new(404, "The specified consumer instance was not found.")
    }

    /// 500 with `message`.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::new(500, message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.error_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, KAFKA_JSON)], body).into_response()
    }
}
