//! afureko: the callback service for calls a call center cannot answer.
//!
//! Layout, from what imports nothing of ours to what wires it all; no
//! top-level module imports itself back through others (tests/layout.rs):
//! - `domain`: pure (call flow, TwiML, records, tenants' settings);
//!   `clock`, `telemetry` and `secrets` (sealing tenants' secrets: pure
//!   crypto) import nothing of ours but the domain.
//! - `store`: the storage traits (tenants, callback records, API keys,
//!   agents, audit, …) and their adapters: SQLite and a folder, and
//!   DynamoDB, S3 and SQS with their SDK clients (`store::aws`); also the
//!   key record that unlocks tenants' secrets at start-up
//!   (`store::key_record`, with the KMS envelope).
//! - `twilio`: Twilio's protocol (signatures, media API).
//! - `calls`: the use cases (intake, agents' work, recording copies).
//! - `settings`: the deployment's values (base URLs, rate limits) that
//!   `config` reads from the environment and `http` uses.
//! - `http`: the one axum Router; `server`: its TCP side.
//! - `config`, `startup` (wiring: configuration → stores → Router),
//!   `lambda`, `demo`, and `cli`, the binary.

pub mod calls;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "sim")]
pub mod demo;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod secrets;
#[cfg(feature = "cli")]
pub mod server;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod twilio;
