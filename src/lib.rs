//! afureko: the callback service for calls a call center cannot answer.
//!
//! Layout: `domain` is pure (call flow, TwiML, records); `calls` holds the
//! use cases (intake, agents' work, recording copies) over the stores;
//! `store` holds the storage traits and their adapters; `twilio` speaks
//! Twilio's protocol (signatures, media API); `secrets` seals tenants'
//! secrets at rest; `http` is the one axum Router;
//! `cli` is the binary.

pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "sim")]
pub mod demo;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod secrets;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod twilio;
