//! Use cases of a call: what the webhooks do with the store, apart from
//! HTTP. Each operation takes the store and the time, and decides with the
//! domain.

pub mod intake;
pub mod outbound;
pub mod reconcile;
pub mod recordings;
pub mod retention;
pub mod spool;
pub mod stats;
pub mod work;
