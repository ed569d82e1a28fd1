//! The HTTP client of deliveries: no request into the operator's network.
//! Every address a name resolves to is checked when the connection is made
//! (a resolver that refuses loopback, private, link-local and the other
//! special ranges, `domain::notify::address`), so a name that changes to a
//! private address after the endpoint was added is refused too; an address
//! written in the URL is checked before sending (it is not resolved).
//! Redirects are not followed, no proxy is used, every request has a
//! timeout, and at most `MAX_ANSWER_BYTES` of an answer are read.

use crate::domain::notify::address::{Reach, check_ip, check_url};
use crate::domain::notify::endpoint::Answer;
use crate::telemetry::error_chain;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Of an answer, this much is read: enough for the error an admin sees.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024;

/// A delivery that does not get through in this time has failed.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
    reach: Reach,
}

/// Resolves as the system does, then refuses the name if any of its
/// addresses is not public (unless `reach` allows private ones).
struct PublicOnly {
    reach: Reach,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            for addr in &addrs {
                if check_ip(addr.ip(), reach).is_err() {
                    return Err(
                        format!("{host} resolves to {}, not a public address", addr.ip()).into(),
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl HookClient {
    pub fn new(reach: Reach) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnly { reach }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!(
                "afureko/",
                env!("CARGO_PKG_VERSION"),
                " (notifications)"
            ))
            .build()?;
        Ok(HookClient { http, reach })
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// POSTs `body` as JSON with `headers`; how the endpoint answered.
    /// Never fails: a refusal or an error is the answer, for the endpoint's
    /// log (without the URL, which may hold a token).
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> Answer {
        if let Err(e) = check_url(url, self.reach) {
            return Answer::Failed(e.to_string());
        }
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Answer::Failed(error_chain(&e.without_url())),
        };
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        // The start of the answer is all an admin needs; a slow or endless
        // one is cut off by the timeout.
        while answer.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        answer.truncate(MAX_ANSWER_BYTES);
        Answer::Status {
            status,
            body: String::from_utf8_lossy(&answer).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve(app: axum::Router) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }

    const PUBLIC: Reach = Reach {
        allow_private: false,
    };
    const ANY: Reach = Reach {
        allow_private: true,
    };

    #[tokio::test]
    async fn loopback_by_address_or_by_name_is_refused_unless_allowed() {
        let port = serve(axum::Router::new().fallback(|| async { "ok" })).await;
        let strict = HookClient::new(PUBLIC).unwrap();
        for (url, error) in [
            (
                format!("https://127.0.0.1:{port}/"),
                "url: 127.0.0.1 is not a public address",
            ),
            (
                format!("http://127.0.0.1:{port}/"),
                "url: must start with https://",
            ),
        ] {
            assert_eq!(
                strict.post(&url, &[], "{}".into()).await,
                Answer::Failed(error.into())
            );
        }
        // A name the URL check cannot judge is refused when it resolves.
        let resolver = PublicOnly { reach: PUBLIC };
        let refused = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved for a public-only client"),
            Err(e) => e.to_string(),
        };
        assert!(
            refused.starts_with("localhost resolves to ")
                && refused.ends_with("not a public address"),
            "{refused}"
        );
        let open = HookClient::new(ANY).unwrap();
        assert_eq!(
            open.post(&format!("http://localhost:{port}/"), &[], "{}".into())
                .await,
            Answer::Status {
                status: 200,
                body: "ok".into()
            }
        );
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_an_answer_is_read_only_so_far() {
        let app = axum::Router::new()
            .route(
                "/moved",
                axum::routing::post(|| async {
                    axum::response::Redirect::temporary("http://127.0.0.1:1/elsewhere")
                }),
            )
            .route(
                "/big",
                axum::routing::post(|| async {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "x".repeat(100_000),
                    )
                }),
            );
        let port = serve(app).await;
        let client = HookClient::new(ANY).unwrap();
        let moved = client
            .post(&format!("http://127.0.0.1:{port}/moved"), &[], "{}".into())
            .await;
        assert!(
            matches!(moved, Answer::Status { status: 307, .. }),
            "{moved:?}"
        );
        match client
            .post(&format!("http://127.0.0.1:{port}/big"), &[], "{}".into())
            .await
        {
            Answer::Status { status, body } => {
                assert_eq!((status, body.len()), (500, MAX_ANSWER_BYTES));
            }
            other => panic!("{other:?}"),
        }
        let refused = client.post("http://127.0.0.1:1/", &[], "{}".into()).await;
        let Answer::Failed(error) = refused else {
            panic!("{refused:?}");
        };
        assert!(
            !error.contains("127.0.0.1:1/"),
            "no URL in the error: {error}"
        );
    }
}
