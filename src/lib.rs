//! afureko: the callback service for calls a call center cannot answer.
//!
//! Layout: `domain` is pure (call flow, TwiML, records, settings, the
//! rules of names); the use cases over the stores, one module per area,
//! each taking `deps::Deps` (the stores, the clock) and for a change the
//! `Actor`, writing its own audit entry: `calls` (call intake, recordings,
//! the agents' work on a record, retention), `accounts` (sign-in and
//! sessions, agents, API keys) and `tenants` (tenants and their settings,
//! the audit trail); `store` holds the storage traits and their adapters;
//! `twilio` speaks Twilio's protocol (signatures, media API); `secrets`
//! seals tenants' secrets at rest. The doors only parse, call a use case
//! and format: `http` is the one axum Router, `cli` the binary.

pub mod accounts;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "sim")]
pub mod demo;
pub mod deps;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod secrets;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod twilio;
