//! afureko: the callback service for calls a call center cannot answer.
//!
//! Layout, from what imports nothing of ours to what wires it all; no
//! top-level module imports itself back through others (tests/layout.rs):
//! - `domain`: pure (call flow, TwiML, records, tenants' settings and their
//!   one definition, the rules of names); `clock`, `telemetry` and
//!   `secrets` (sealing tenants' secrets: pure crypto) import nothing of
//!   ours but the domain.
//! - `store`: the storage traits (tenants, callback records, API keys,
//!   agents, audit, …) and their adapters: SQLite and a folder, and
//!   DynamoDB, S3 and SQS with their SDK clients (`store::aws`); also the
//!   key record that unlocks tenants' secrets at start-up
//!   (`store::key_record`, with the KMS envelope).
//! - `twilio`: Twilio's protocol (signatures, the REST client).
//! - The use cases, one module per area, each taking `deps::Deps` (the
//!   stores, the clock) and for a change the `Actor`, writing its own
//!   audit entry: `calls` (call intake, recordings, the agents' work on a
//!   record, retention), `accounts` (sign-in and sessions, agents, API
//!   keys), `tenants` (tenants and their settings, the audit trail),
//!   `notify` (notification endpoints, their sender, the overdue sweep).
//! - `settings`: the deployment's values (base URLs, rate limits) that
//!   `config` reads from the environment and `http` uses.
//! - The doors only parse, call a use case and format: `http` (the one
//!   axum Router; `server`: its TCP side), `cli` (the binary).
//! - `monitoring`: the names of what operations watch (the `metrics`
//!   facade) and its recorders, Prometheus for `serve` and CloudWatch EMF
//!   on Lambda; imports nothing of ours.
//! - `config`, `startup` (wiring: configuration → stores → Router),
//!   `lambda`, `demo`.

pub mod accounts;
pub mod calls;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "sim")]
pub mod demo;
pub mod deps;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod monitoring;
pub mod notify;
pub mod secrets;
#[cfg(feature = "cli")]
pub mod server;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod twilio;
