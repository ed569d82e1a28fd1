//! Time as a dependency, so tests never depend on the real clock.

use jiff::Timestamp;
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Millisecond precision: what every store keeps and sorts on.
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        now.round(jiff::Unit::Millisecond).unwrap_or(now)
    }
}

/// A clock that only moves when told to.
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
