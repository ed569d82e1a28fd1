//! The agents' JSON API under `/api/v1`: the callback list, claims,
//! attempts, completion and recordings. The tenant comes from the API key.

pub mod auth;
pub mod cursor;
pub mod handlers;
pub mod idempotency;
pub mod rules;
pub mod views;
