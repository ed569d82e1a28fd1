//! What was injected, counted where it happens; printed at the end.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Default)]
pub struct Faults {
    /// Off once the calls are played: the sweep runs on a healthy network.
    pub on: AtomicBool,
    pub media_500: AtomicUsize,
    pub media_stall: AtomicUsize,
    pub s3_put_503: AtomicUsize,
    pub dynamo_throttle: AtomicUsize,
    pub webhook_repeated: AtomicUsize,
    pub webhook_repeated_concurrently: AtomicUsize,
    /// Twilio's own retries after a refused connection, a reset or a 5xx.
    pub webhook_retried: AtomicUsize,
    pub kills: AtomicUsize,
}

impl Faults {
    pub fn on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    pub fn count(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }
}
