//! Rate limits as token buckets: per tenant on the JSON API, per tenant and
//! per client address on failed sign-ins. They live in this process's
//! memory (on Lambda, one execution environment's): a guard that keeps one
//! tenant or address from crowding out the rest, not an exact quota. Time
//! comes from the caller (the app's Clock), so tests never wait.

use crate::domain::agent::Lockout;
use crate::domain::ids::TenantId;
use crate::settings::{Rate, RateLimits};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::Timestamp;
use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

/// Seconds until a retry can pass: whole, at least 1 (`Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl RetryAfter {
    /// Until `until`, rounded up.
    pub fn until(until: Timestamp, now: Timestamp) -> Self {
        Self::seconds(until.duration_since(now).as_secs_f64())
    }

    fn seconds(seconds: f64) -> Self {
        // `as` saturates, and NaN becomes 0, which `max` lifts to 1.
        RetryAfter((seconds.ceil() as u64).max(1))
    }
}

struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// Buckets by key, at most `max_keys` of them, so memory stays bounded
/// whatever keys clients make up.
pub struct Limiter<K> {
    rate: Rate,
    max_keys: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Limiter {
            rate,
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`, or says when there will be one.
    pub fn take(&self, key: &K, now: Timestamp) -> Result<(), RetryAfter> {
        self.with(key, now, |tokens| {
            let enough = *tokens >= 1.0;
            if enough {
                *tokens -= 1.0;
            }
            enough
        })
    }

    /// Whether `key` has a token now; takes none.
    pub fn check(&self, key: &K, now: Timestamp) -> Result<(), RetryAfter> {
        self.with(key, now, |tokens| *tokens >= 1.0)
    }

    /// Counts one against `key` if it has a token left: for limits on
    /// failures, which `check` before and `spend` after a failure.
    pub fn spend(&self, key: &K, now: Timestamp) {
        self.with(key, now, |tokens| {
            *tokens = (*tokens - 1.0).max(0.0);
            true
        })
        .ok();
    }

    fn with(
        &self,
        key: &K,
        now: Timestamp,
        use_tokens: impl FnOnce(&mut f64) -> bool,
    ) -> Result<(), RetryAfter> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: f64::from(self.rate.burst),
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        // A clock that steps back refills nothing, and takes nothing back.
        bucket.at = bucket.at.max(now);
        if use_tokens(&mut bucket.tokens) {
            Ok(())
        } else {
            Err(RetryAfter::seconds(
                (1.0 - bucket.tokens) / self.rate.per_second,
            ))
        }
    }

    fn refilled(&self, bucket: &Bucket, now: Timestamp) -> f64 {
        let idle = now.duration_since(bucket.at).as_secs_f64().max(0.0);
        (bucket.tokens + idle * self.rate.per_second).min(f64::from(self.rate.burst))
    }

    /// A full bucket is the same as none, so those go first, losing
    /// nothing; if all are in use, the longest idle goes.
    fn evict(&self, buckets: &mut HashMap<K, Bucket>, now: Timestamp) {
        let burst = f64::from(self.rate.burst);
        buckets.retain(|_, bucket| self.refilled(bucket, now) < burst);
        if buckets.len() >= self.max_keys {
            let idlest = buckets
                .iter()
                .min_by_key(|(_, bucket)| bucket.at)
                .map(|(key, _)| key.clone());
            if let Some(key) = idlest {
                buckets.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap().len()
    }
}

/// Buckets kept per limiter: a few MB at most.
const MAX_KEYS: usize = 10_000;

/// The app's limiters, shared by every request of this process.
pub struct Limits {
    pub api: Limiter<TenantId>,
    pub sign_in_by_tenant: Limiter<TenantId>,
    pub sign_in_by_address: Limiter<IpAddr>,
    pub no_account: NoAccountLockouts,
}

impl Limits {
    pub fn new(rates: RateLimits) -> Self {
        Limits {
            api: Limiter::new(rates.api, MAX_KEYS),
            sign_in_by_tenant: Limiter::new(rates.sign_in_failures, MAX_KEYS),
            sign_in_by_address: Limiter::new(rates.sign_in_failures, MAX_KEYS),
            no_account: NoAccountLockouts::default(),
        }
    }
}

/// Lockouts of sign-ins that name no active account (an unknown tenant or
/// login, or a disabled agent), counted as a real login's are so that the
/// answers do not tell whether a login exists. In memory: such a login has
/// no password to guess, so its lock only has to look alike, and names
/// anyone can invent must not become store rows. At most `MAX_KEYS`; a full
/// map starts over.
#[derive(Default)]
pub struct NoAccountLockouts(Mutex<HashMap<(String, String), Lockout>>);

impl NoAccountLockouts {
    /// Until when `tenant`/`login` is locked, if it is now.
    pub fn locked(&self, tenant: &str, login: &str, now: Timestamp) -> Option<Timestamp> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(tenant.to_owned(), login.to_owned()))
            .and_then(|lockout| lockout.locked(now))
    }

    /// Counts a failed sign-in for `tenant`/`login`.
    pub fn fail(&self, tenant: &str, login: &str, now: Timestamp) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.clear();
        }
        map.entry((tenant.to_owned(), login.to_owned()))
            .or_default()
            .fail(now);
    }
}

/// The client's address, as a key: the TCP peer under `afureko serve`, API
/// Gateway's source IP on Lambda; `None` when neither is known (a request
/// sent straight to the Router). An IPv6 client is its /64, which one
/// client usually holds whole.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientAddress(address_of(parts).map(address_key)))
    }
}

fn address_of(parts: &Parts) -> Option<IpAddr> {
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        return Some(peer.ip());
    }
    use lambda_http::request::RequestContext;
    let source = match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        _ => None,
    };
    source?.parse().ok()
}

fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn t0() -> Timestamp {
        "2026-11-25T01:00:00Z".parse().unwrap()
    }

    fn at(millis: i64) -> Timestamp {
        t0() + SignedDuration::from_millis(millis)
    }

    fn limiter(per_second: f64, burst: u32, max_keys: usize) -> Limiter<&'static str> {
        Limiter::new(Rate { per_second, burst }, max_keys)
    }

    #[test]
    fn a_burst_passes_then_the_next_waits_for_its_token() {
        let l = limiter(2.0, 3, 10);
        for _ in 0..3 {
            assert_eq!(l.take(&"a", t0()), Ok(()));
        }
        // One token takes 0.5 s at 2 a second: rounded up to 1 s.
        assert_eq!(l.take(&"a", t0()), Err(RetryAfter(1)));
        assert_eq!(l.take(&"a", at(499)), Err(RetryAfter(1)));
        assert_eq!(l.take(&"a", at(500)), Ok(()));
        assert_eq!(l.take(&"a", at(500)), Err(RetryAfter(1)));
        // Idle for long, the bucket holds only a burst again.
        for _ in 0..3 {
            assert_eq!(l.take(&"a", at(60_000)), Ok(()));
        }
        assert!(l.take(&"a", at(60_000)).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds_until_the_next_token() {
        let l = limiter(0.1, 1, 10);
        assert_eq!(l.take(&"a", t0()), Ok(()));
        assert_eq!(l.take(&"a", t0()), Err(RetryAfter(10)));
        assert_eq!(l.take(&"a", at(2_500)), Err(RetryAfter(8)));
        assert_eq!(l.take(&"a", at(9_999)), Err(RetryAfter(1)));
        assert_eq!(l.take(&"a", at(10_000)), Ok(()));
        assert_eq!(RetryAfter::until(at(1), t0()), RetryAfter(1));
        assert_eq!(RetryAfter::until(t0(), at(5_000)), RetryAfter(1));
        assert_eq!(RetryAfter::until(at(90_001), t0()), RetryAfter(91));
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let l = limiter(1.0, 1, 10);
        assert_eq!(l.take(&"a", t0()), Ok(()));
        assert!(l.take(&"a", t0()).is_err());
        assert_eq!(l.take(&"b", t0()), Ok(()));
    }

    #[test]
    fn check_takes_nothing_and_spend_counts_failures() {
        let l = limiter(1.0, 2, 10);
        assert_eq!(l.check(&"a", t0()), Ok(()));
        assert_eq!(l.check(&"a", t0()), Ok(()));
        l.spend(&"a", t0());
        l.spend(&"a", t0());
        assert_eq!(l.check(&"a", t0()), Err(RetryAfter(1)));
        // Spending on an empty bucket neither fails nor digs deeper.
        l.spend(&"a", t0());
        assert_eq!(l.check(&"a", at(1_000)), Ok(()));
    }

    #[test]
    fn a_clock_stepping_back_refills_nothing() {
        let l = limiter(1.0, 1, 10);
        assert_eq!(l.take(&"a", at(5_000)), Ok(()));
        assert!(l.take(&"a", t0()).is_err());
        assert!(l.take(&"a", at(5_999)).is_err());
        assert_eq!(l.take(&"a", at(6_000)), Ok(()));
    }

    #[test]
    fn full_buckets_are_evicted_first_and_the_map_stays_bounded() {
        let l = limiter(1.0, 2, 3);
        l.take(&"a", t0()).unwrap();
        l.take(&"b", at(1_200)).unwrap();
        l.take(&"c", at(1_500)).unwrap();
        assert_eq!(l.len(), 3);
        // At 2 s "a" is full again (dropped, nothing lost); "b", "c" stay.
        l.take(&"d", at(2_000)).unwrap();
        assert_eq!(l.len(), 3);
        l.take(&"b", at(2_000)).unwrap();
        assert!(l.take(&"b", at(2_000)).is_err(), "b kept its count");
        // None full: the idlest ("c", last used at 1.5 s) goes.
        l.take(&"e", at(2_100)).unwrap();
        assert_eq!(l.len(), 3);
        for key in ["x", "y", "z", "w"] {
            l.take(&key, at(2_200)).unwrap();
            assert!(l.len() <= 3);
        }
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
