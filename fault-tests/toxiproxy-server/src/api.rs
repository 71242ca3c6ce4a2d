//! Toxiproxy 2.x's HTTP API: same paths, methods, status codes and JSON shapes.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | /version | 200 `{"version": "..."}` |
//! | POST | /reset | 204: every proxy enabled, every toxic removed |
//! | GET | /proxies | 200 `{name: proxy, ...}` |
//! | POST | /proxies | 201 proxy; 409 if it exists |
//! | POST | /populate | 201 `{"proxies": [...]}` (array body) |
//! | GET | /proxies/{proxy} | 200 proxy |
//! | POST, PATCH | /proxies/{proxy} | 200 proxy (`enabled`, `listen`, `upstream`) |
//! | DELETE | /proxies/{proxy} | 204 |
//! | GET | /proxies/{proxy}/toxics | 200 `[toxic, ...]` |
//! | POST | /proxies/{proxy}/toxics | 200 toxic; 409 if the name exists |
//! | GET | /proxies/{proxy}/toxics/{toxic} | 200 toxic |
//! | POST, PATCH | /proxies/{proxy}/toxics/{toxic} | 200 toxic |
//! | DELETE | /proxies/{proxy}/toxics/{toxic} | 204 |
//!
//! A proxy is `{"name", "listen", "upstream", "enabled", "toxics": [...]}`; errors are
//! `{"error": "...", "status": N}` with status N.

use crate::store::{ProxySpec, Store};
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

/// The version string `GET /version` reports.
pub const VERSION: &str = concat!(
    "2.x-compatible (zksync toxiproxy-server ",
    env!("CARGO_PKG_VERSION"),
    " on noxious 1.0.4)"
);

/// An API error: Toxiproxy's message and HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub message: String,
    pub status: u16,
}

impl ApiError {
    pub fn new(message: impl Into<String>, status: u16) -> ApiError {
        ApiError {
            message: message.into(),
            status,
        }
    }

    fn json(&self) -> Value {
        json!({"error": self.message, "status": self.status})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.json())
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{v}\n"),
    )
        .into_response()
}

type Shared = State<Arc<Store>>;
type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &v))
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/reset", post(reset))
        .route("/populate", post(populate))
        .route("/proxies", get(list_proxies).post(create_proxy))
        .route(
            "/proxies/{proxy}",
            get(show_proxy)
                .post(update_proxy)
                .patch(update_proxy)
                .delete(delete_proxy),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(list_toxics).post(create_toxic),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(show_toxic)
                .post(update_toxic)
                .patch(update_toxic)
                .delete(delete_toxic),
        )
        .layer(middleware::from_fn(log_request))
        .with_state(store)
}

/// One line per request that changes something (and per failed request) on stderr.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if method != axum::http::Method::GET || !response.status().is_success() {
        eprintln!(
            "toxiproxy-server: {method} {path} -> {}",
            response.status().as_u16()
        );
    }
    response
}

async fn version() -> ApiResult {
    // Toxiproxy >= 2.6 answers JSON with this content type.
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        format!("{}\n", json!({ "version": VERSION })),
    )
        .into_response())
}

async fn reset(State(store): Shared) -> ApiResult {
    store.reset().await?;
    no_content()
}

fn bad_body(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(format!("bad request body: {why}"), 400)
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(bad_body)
}

fn opt_string(v: &Value, field: &str) -> Result<Option<String>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad_body(format!("{field} must be a string, got {other}"))),
    }
}

fn opt_bool(v: &Value, field: &str) -> Result<Option<bool>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad_body(format!("{field} must be a boolean, got {other}"))),
    }
}

/// A proxy from a create or populate body; `what` names it in errors (Toxiproxy style).
fn parse_spec(v: &Value, what: &str) -> Result<ProxySpec, ApiError> {
    if !v.is_object() {
        return Err(bad_body("a proxy must be a JSON object"));
    }
    let missing =
        |field: &str| ApiError::new(format!("missing required field: {field}{what}"), 400);
    let name = opt_string(v, "name")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("name"))?;
    let upstream = opt_string(v, "upstream")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("upstream"))?;
    let listen = opt_string(v, "listen")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let enabled = opt_bool(v, "enabled")?.unwrap_or(true);
    Ok(ProxySpec {
        name,
        listen,
        upstream,
        enabled,
    })
}

async fn list_proxies(State(store): Shared) -> ApiResult {
    ok(store.list().await)
}

async fn create_proxy(State(store): Shared, body: Bytes) -> ApiResult {
    let spec = parse_spec(&parse_json(&body)?, "")?;
    let proxy = store.create(spec).await?;
    Ok(json_response(StatusCode::CREATED, &proxy))
}

/// Validates a populate body (a JSON array of proxies) as a whole, then creates or replaces
/// the proxies. Returns the proxies applied and the error that stopped it, if any.
pub async fn populate_json(
    store: &Store,
    body: &[u8],
) -> Result<(Vec<Value>, Option<ApiError>), ApiError> {
    let v = parse_json(body)?;
    let list = v
        .as_array()
        .ok_or_else(|| bad_body("populate expects a JSON array of proxies"))?;
    let mut specs: Vec<ProxySpec> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let spec = parse_spec(p, &format!(" at proxy {}", i + 1))?;
        if specs.iter().any(|s| s.name == spec.name) {
            return Err(ApiError::new(
                format!("duplicate proxy name {:?}", spec.name),
                400,
            ));
        }
        specs.push(spec);
    }
    Ok(store.populate(specs).await)
}

async fn populate(State(store): Shared, body: Bytes) -> ApiResult {
    let (proxies, err) = populate_json(&store, &body).await?;
    let mut body = json!({ "proxies": proxies });
    let status = match err {
        None => StatusCode::CREATED,
        Some(e) => {
            body["error"] = json!(e.message);
            body["status"] = json!(e.status);
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
    };
    Ok(json_response(status, &body))
}

async fn show_proxy(State(store): Shared, Path(proxy): Path<String>) -> ApiResult {
    ok(store.get(&proxy).await?)
}

async fn update_proxy(State(store): Shared, Path(proxy): Path<String>, body: Bytes) -> ApiResult {
    let v = parse_json(&body)?;
    if !v.is_object() {
        return Err(bad_body("not a JSON object"));
    }
    let updated = store
        .update(
            &proxy,
            opt_string(&v, "listen")?,
            opt_string(&v, "upstream")?,
            opt_bool(&v, "enabled")?,
        )
        .await?;
    ok(updated)
}

async fn delete_proxy(State(store): Shared, Path(proxy): Path<String>) -> ApiResult {
    store.delete(&proxy).await?;
    no_content()
}

async fn list_toxics(State(store): Shared, Path(proxy): Path<String>) -> ApiResult {
    ok(store.toxics(&proxy).await?)
}

async fn create_toxic(State(store): Shared, Path(proxy): Path<String>, body: Bytes) -> ApiResult {
    ok(store.add_toxic(&proxy, &body).await?)
}

async fn show_toxic(
    State(store): Shared,
    Path((proxy, toxic)): Path<(String, String)>,
) -> ApiResult {
    ok(store.toxic(&proxy, &toxic).await?)
}

async fn update_toxic(
    State(store): Shared,
    Path((proxy, toxic)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    ok(store.update_toxic(&proxy, &toxic, &body).await?)
}

async fn delete_toxic(
    State(store): Shared,
    Path((proxy, toxic)): Path<(String, String)>,
) -> ApiResult {
    store.delete_toxic(&proxy, &toxic).await?;
    no_content()
}
