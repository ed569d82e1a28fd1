//! The agents' JSON API under `/api/v1`: the callback list, claims,
//! attempts, completion, recordings, notes and hand-overs; sign-in and the
//! tenant's agents, API keys and settings; the service-level figures. The
//! tenant comes from the API key or the session.

pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod calls;
pub mod cursor;
pub mod erase;
pub mod handlers;
pub mod idempotency;
pub mod lists;
pub mod notes;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod views;
