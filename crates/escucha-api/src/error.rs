use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// One problem with a request parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

/// Every error the API returns, mapped to a status and a JSON body
/// `{"error": code, "message": text, "details": [...]}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {}", .0.iter().map(|e| format!("{}: {}", e.param, e.message)).collect::<Vec<_>>().join("; "))]
    BadRequest(Vec<ParamError>),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this token's role ({have}) cannot access this resource; it needs {need}")]
    Forbidden {
        have: &'static str,
        need: &'static str,
    },
    #[error("not found")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Storage(String),
}

impl ApiError {
    pub fn param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(vec![ParamError {
            param: param.into(),
            message: message.into(),
        }])
    }

    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Storage(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
        }
    }
}

impl From<escucha_clickhouse::Error> for ApiError {
    fn from(e: escucha_clickhouse::Error) -> Self {
        tracing::error!(error = %e, "query failed");
        ApiError::Storage("the analytics store did not answer; try again".into())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [ParamError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let details: &[ParamError] = match &self {
            ApiError::BadRequest(d) => d,
            _ => &[],
        };
        let body = Body {
            error: code,
            message: self.to_string(),
            details,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"escucha\""),
            );
        }
        response
    }
}
