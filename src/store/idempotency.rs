//! Idempotency keys: a client that retries a change with the same
//! `Idempotency-Key` gets the first answer back instead of a second change.
//! Kept apart from `Store`, as its own narrow trait, per tenant and sender.

use super::StoreError;
use crate::domain::agent::Role;
use crate::domain::ids::TenantId;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

/// How long a key is remembered after its request started.
pub const KEEP: SignedDuration = SignedDuration::from_hours(24);
/// A reservation still without an answer after this long was left by a
/// request that died (a crash, a Lambda timeout): a retry may take it over.
pub const LEASE: SignedDuration = SignedDuration::from_secs(60);

/// The answer a request got, kept to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What reserving a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is this request's now: run it, then `finish_idempotency_key`.
    Reserved,
    /// The key is live for an earlier request: `answer` is `None` while
    /// that request is still running.
    Taken {
        fingerprint: String,
        /// The sender's role when it made the first request.
        role: Role,
        answer: Option<StoredAnswer>,
    },
}

/// One use of a key: whose, which, for what request, and when it started.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    pub tenant: &'a TenantId,
    /// Who sends it (`agent:{login}`, `api_key:{id}`): another
    /// sender's same key is another key, so no one is answered with what
    /// someone else's request got.
    pub actor: &'a str,
    /// The sender's role now, kept with a reservation: a replay needs it.
    pub role: Role,
    pub key: &'a str,
    pub fingerprint: &'a str,
    pub at: Timestamp,
}

impl KeyUse<'_> {
    pub fn expires_at(&self) -> Timestamp {
        self.at.saturating_add(KEEP).unwrap_or(Timestamp::MAX)
    }

    pub fn stale_before(&self) -> Timestamp {
        self.at.saturating_sub(LEASE).unwrap_or(Timestamp::MIN)
    }
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves the key for this use in one conditional write, so two
    /// concurrent requests with one key cannot both run. Succeeds when the
    /// key is unknown, expired, or an abandoned reservation (see `LEASE`).
    async fn reserve_idempotency_key(&self, key: KeyUse<'_>) -> Result<Reservation, StoreError>;

    /// Keeps `answer` for the reservation made by `key`, or with `None`
    /// gives the key up so that a retry runs again. Does nothing when the
    /// reservation was taken over meanwhile.
    async fn finish_idempotency_key(
        &self,
        key: KeyUse<'_>,
        answer: Option<&StoredAnswer>,
    ) -> Result<(), StoreError>;
}
