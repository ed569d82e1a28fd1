//! A tenant's notification endpoints: where events go, in which format,
//! and what became of the newest deliveries (for admins: the last error,
//! a delivery given up, an endpoint disabled by `410 Gone`).

use super::EventType;
use super::address::{AddressError, Reach, check_url};
use super::retry::MAX_ATTEMPTS;
use super::signing::WebhookSecret;
use crate::domain::ids::TenantId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// Endpoints a tenant may have.
pub const MAX_ENDPOINTS: usize = 10;

/// Deliveries an endpoint remembers, newest first.
pub const MAX_DELIVERIES: usize = 20;

/// Of an endpoint's answer to a failed delivery, this much is kept.
pub const MAX_ERROR_CHARS: usize = 300;

/// The `type` of the test event (`POST …/notifications/{id}/test`).
pub const TEST_EVENT: &str = "notification.test";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Standard Webhooks: signed JSON for the tenant's own systems.
    Standard,
    /// A Slack incoming webhook: text and blocks in the tenant's language.
    Slack,
}

impl Format {
    pub const NAMES: [&'static str; 2] = ["standard", "slack"];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(Format::Standard),
            "slack" => Ok(Format::Slack),
            other => Err(format!("format must be standard or slack, got {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Url(#[from] AddressError),
    #[error("events: name at least one of {}", event_names())]
    NoEvents,
    #[error("a tenant has at most {MAX_ENDPOINTS} notification endpoints")]
    TooMany,
}

fn event_names() -> String {
    let names: Vec<&str> = EventType::ALL.iter().map(|e| e.name()).collect();
    names.join(", ")
}

impl EndpointError {
    /// The input at fault, if one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            EndpointError::Url(_) => Some("url"),
            EndpointError::NoEvents => Some("events"),
            EndpointError::TooMany => None,
        }
    }
}

/// Why an endpoint no longer gets deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    pub at: Timestamp,
    /// E.g. `410 Gone`.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Failed so far; tried again.
    Retrying,
    Delivered,
    /// Failed `MAX_ATTEMPTS` times: given up.
    Failed,
    /// The endpoint answered `410 Gone`: it is disabled.
    Gone,
}

/// A delivery to an endpoint: its first and latest try, and how the
/// latest went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    /// The `webhook-id`.
    pub id: String,
    /// The event's `type`.
    pub event: String,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub attempts: u32,
    pub state: DeliveryState,
    /// The endpoint's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the latest try failed: the start of the answer, or the
    /// connection's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `ne_` and 16 hex digits.
    pub id: String,
    pub tenant_id: TenantId,
    pub url: String,
    /// Sorted, without repeats.
    pub events: Vec<EventType>,
    pub format: Format,
    /// Signs the standard format's deliveries; sealed at rest
    /// (`store::sealed`). Slack takes no signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<WebhookSecret>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
    /// Newest first, at most `MAX_DELIVERIES`.
    #[serde(default)]
    pub deliveries: Vec<DeliveryLog>,
    /// Bumped by the store on every write; updates are conditional on it.
    pub version: u64,
}

/// How one try of a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered `status`; `body` is the start of its answer.
    Status { status: u16, body: String },
    /// No answer: refused, timed out, not a public address…
    Failed(String),
}

impl Answer {
    fn error(&self) -> Option<String> {
        match self {
            Answer::Status { status, .. } if (200..300).contains(status) => None,
            Answer::Status { status, body } => {
                let body = body.trim();
                Some(if body.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {body}")
                })
            }
            Answer::Failed(error) => Some(error.clone()),
        }
        .map(|e| e.chars().take(MAX_ERROR_CHARS).collect())
    }

    fn status(&self) -> Option<u16> {
        match self {
            Answer::Status { status, .. } => Some(*status),
            Answer::Failed(_) => None,
        }
    }
}

/// One try of a delivery, the `attempt`-th.
#[derive(Debug, Clone)]
pub struct Try<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub attempt: u32,
    /// No other try follows (the last of `MAX_ATTEMPTS`, or a test).
    pub last: bool,
    pub at: Timestamp,
    pub answer: Answer,
}

impl Try<'_> {
    /// The `attempt`-th try of a queued delivery: the last after
    /// `MAX_ATTEMPTS`.
    pub fn queued<'a>(
        id: &'a str,
        event: &'a str,
        attempt: u32,
        at: Timestamp,
        answer: Answer,
    ) -> Try<'a> {
        Try {
            id,
            event,
            attempt,
            last: attempt >= MAX_ATTEMPTS,
            at,
            answer,
        }
    }

    /// What the delivery comes to: a 2xx delivers it (a redirect is not
    /// followed, so it fails), `410 Gone` disables the endpoint, anything
    /// else is tried again until the last try.
    pub fn state(&self) -> DeliveryState {
        match self.answer.status() {
            Some(status) if (200..300).contains(&status) => DeliveryState::Delivered,
            Some(410) => DeliveryState::Gone,
            _ if self.last => DeliveryState::Failed,
            _ => DeliveryState::Retrying,
        }
    }
}

impl Endpoint {
    /// A new endpoint, its URL checked by `reach`; a standard one gets its
    /// signing secret, to show once.
    pub fn new(
        tenant_id: TenantId,
        url: &str,
        events: &[EventType],
        format: Format,
        reach: Reach,
        now: Timestamp,
    ) -> Result<Endpoint, EndpointError> {
        let url = check_url(url, reach)?;
        let mut events = events.to_vec();
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(EndpointError::NoEvents);
        }
        Ok(Endpoint {
            id: format!("ne_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            tenant_id,
            url: url.to_string(),
            events,
            format,
            secret: (format == Format::Standard).then(WebhookSecret::generate),
            created_at: now,
            disabled: None,
            deliveries: Vec::new(),
            version: 0,
        })
    }

    /// Whether `event` goes to this endpoint now.
    pub fn wants(&self, event: EventType) -> bool {
        self.disabled.is_none() && self.events.contains(&event)
    }

    /// Notes how a try went (and disables the endpoint on `410 Gone`);
    /// returns what the delivery came to.
    pub fn note(&mut self, tried: &Try<'_>) -> DeliveryState {
        let state = tried.state();
        let log = DeliveryLog {
            id: tried.id.to_owned(),
            event: tried.event.to_owned(),
            first_at: tried.at,
            last_at: tried.at,
            attempts: tried.attempt,
            state,
            status: tried.answer.status(),
            error: tried.answer.error(),
        };
        match self.deliveries.iter().position(|d| d.id == tried.id) {
            Some(i) => {
                let earlier = self.deliveries.remove(i);
                self.deliveries.insert(
                    0,
                    DeliveryLog {
                        first_at: earlier.first_at,
                        ..log
                    },
                );
            }
            None => self.deliveries.insert(0, log),
        }
        self.deliveries.truncate(MAX_DELIVERIES);
        if state == DeliveryState::Gone && self.disabled.is_none() {
            self.disabled = Some(Disabled {
                at: tried.at,
                reason: "410 Gone".to_owned(),
            });
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn endpoint(format: Format) -> Endpoint {
        Endpoint::new(
            TenantId::parse("acme").unwrap(),
            "https://example.com/hooks",
            &[
                EventType::CallbackOverdue,
                EventType::CallbackCreated,
                EventType::CallbackCreated,
            ],
            format,
            Reach::default(),
            at("2026-11-25T01:00:00Z"),
        )
        .unwrap()
    }

    #[test]
    fn a_new_endpoint_is_checked_sorted_and_signed_when_standard() {
        let e = endpoint(Format::Standard);
        assert!(e.id.starts_with("ne_") && e.id.len() == 19, "{}", e.id);
        assert_eq!(
            e.events,
            [EventType::CallbackCreated, EventType::CallbackOverdue]
        );
        assert!(e.secret.is_some());
        assert!(endpoint(Format::Slack).secret.is_none());
        assert!(e.wants(EventType::CallbackCreated));
        assert!(!e.wants(EventType::CallbackFailed));
        let tenant = TenantId::parse("acme").unwrap();
        let now = at("2026-11-25T01:00:00Z");
        let refused = Endpoint::new(
            tenant.clone(),
            "https://e.com/",
            &[],
            Format::Slack,
            Reach::default(),
            now,
        );
        assert_eq!(refused.unwrap_err().field(), Some("events"));
        let refused = Endpoint::new(
            tenant,
            "http://e.com/",
            &EventType::ALL,
            Format::Slack,
            Reach::default(),
            now,
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "url: must start with https://"
        );
    }

    fn tried<'a>(id: &'a str, attempt: u32, answer: Answer, when: &str) -> Try<'a> {
        Try::queued(id, "callback.created", attempt, at(when), answer)
    }

    #[test]
    fn deliveries_are_logged_newest_first_with_their_last_error() {
        let mut e = endpoint(Format::Standard);
        let failed = Answer::Status {
            status: 500,
            body: format!("  oops {}", "x".repeat(400)),
        };
        assert_eq!(
            e.note(&tried("msg_1", 1, failed, "2026-11-25T01:00:00Z")),
            DeliveryState::Retrying
        );
        let error = e.deliveries[0].error.clone().unwrap();
        assert!(error.starts_with("HTTP 500: oops xx"), "{error}");
        assert_eq!(error.chars().count(), MAX_ERROR_CHARS);
        let refused = Answer::Failed("connection refused".into());
        e.note(&tried("msg_2", 1, refused, "2026-11-25T01:00:01Z"));
        let ok = Answer::Status {
            status: 204,
            body: String::new(),
        };
        assert_eq!(
            e.note(&tried("msg_1", 2, ok, "2026-11-25T01:00:30Z")),
            DeliveryState::Delivered
        );
        let ids: Vec<&str> = e.deliveries.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["msg_1", "msg_2"]);
        let first = &e.deliveries[0];
        assert_eq!(
            (
                first.first_at,
                first.last_at,
                first.attempts,
                first.status,
                first.error.clone()
            ),
            (
                at("2026-11-25T01:00:00Z"),
                at("2026-11-25T01:00:30Z"),
                2,
                Some(204),
                None
            )
        );
        assert_eq!(e.deliveries[1].error.as_deref(), Some("connection refused"));
        for n in 0..MAX_DELIVERIES {
            let id = format!("msg_x{n}");
            e.note(&tried(
                &id,
                1,
                Answer::Failed("x".into()),
                "2026-11-25T02:00:00Z",
            ));
        }
        assert_eq!(e.deliveries.len(), MAX_DELIVERIES);
    }

    #[test]
    fn the_last_try_gives_up_a_redirect_fails_and_gone_disables() {
        let mut e = endpoint(Format::Standard);
        let moved = || Answer::Status {
            status: 301,
            body: String::new(),
        };
        assert_eq!(
            tried("m", MAX_ATTEMPTS - 1, moved(), "2026-11-25T01:00:00Z").state(),
            DeliveryState::Retrying
        );
        assert_eq!(
            tried("m", MAX_ATTEMPTS, moved(), "2026-11-25T01:00:00Z").state(),
            DeliveryState::Failed
        );
        let gone = Answer::Status {
            status: 410,
            body: String::new(),
        };
        assert_eq!(
            e.note(&tried("m", 1, gone, "2026-11-25T01:00:00Z")),
            DeliveryState::Gone
        );
        assert_eq!(e.disabled.as_ref().unwrap().reason, "410 Gone");
        assert!(!e.wants(EventType::CallbackCreated));
    }

    #[test]
    fn the_secret_is_never_in_debug_output() {
        let e = endpoint(Format::Standard);
        let secret = e.secret.clone().unwrap();
        assert!(!format!("{e:?}").contains(secret.expose()));
    }
}
