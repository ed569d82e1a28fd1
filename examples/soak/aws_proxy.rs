//! A fault-injecting proxy in front of the AWS stand-in (moto serves
//! DynamoDB and S3 on one endpoint): while faults are on it refuses 10% of
//! S3 uploads with 503 SlowDown and throttles 1% of DynamoDB requests, both
//! without reaching moto, so a retry is always safe. Everything else is
//! passed through unchanged.

use crate::faults::Faults;
use crate::rng::Rng;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    rng: Mutex<Rng>,
    faults: Arc<Faults>,
}

/// Serves on `port`; returns the endpoint URL to give afureko.
pub async fn start(
    port: u16,
    upstream: &str,
    seed: u64,
    faults: Arc<Faults>,
) -> anyhow::Result<String> {
    let proxy = Arc::new(Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        rng: Mutex::new(Rng::new(seed)),
        faults,
    });
    let app = Router::new().fallback(forward).with_state(proxy);
    let listener = crate::bind(port).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://127.0.0.1:{port}"))
}

/// The hop-by-hop headers and those reqwest sets itself.
fn passed_on(name: &header::HeaderName) -> bool {
    ![
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::EXPECT,
    ]
    .contains(name)
}

fn refuse(status: StatusCode, content_type: &'static str, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let dynamo = request
        .headers()
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes().starts_with(b"DynamoDB_"));
    let upload = !dynamo && request.method() == Method::PUT;
    if proxy.faults.on() {
        let (throttle, refuse_upload) = {
            let mut rng = proxy.rng.lock().unwrap_or_else(|p| p.into_inner());
            (rng.chance(1), rng.chance(10))
        };
        if dynamo && throttle {
            Faults::count(&proxy.faults.dynamo_throttle);
            return refuse(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
            );
        }
        if upload && refuse_upload {
            Faults::count(&proxy.faults.s3_put_503);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>soak</RequestId></Error>",
            );
        }
    }
    match pass(&proxy, request).await {
        Ok(response) => response,
        Err(e) => (StatusCode::BAD_GATEWAY, format!("soak proxy: {e:#}")).into_response(),
    }
}

async fn pass(proxy: &Proxy, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await?;
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut upstream = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| passed_on(n)) {
        upstream = upstream.header(name, value);
    }
    let answer = upstream.send().await?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(n, _)| passed_on(n)) {
        response = response.header(name, value);
    }
    Ok(response.body(Body::from(answer.bytes().await?))?)
}
