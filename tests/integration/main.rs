//! One integration-test binary: whole calls played through the real Router
//! the way Twilio plays them (signed requests, TwiML followed step by step).

mod admin;
mod agent_store;
mod api;
mod aws;
mod backends;
mod body_properties;
mod call_backs;
mod call_flow;
mod capacity;
mod choices;
mod crash;
mod doors;
mod events;
mod helpers;
mod history;
mod idempotency;
mod lambda;
mod limits;
mod lists;
mod meter;
mod page;
mod races;
mod recordings;
mod retention;
mod routing;
mod secrets;
mod sessions;
mod settings;
mod stats;
mod store_suite;
mod twilio_api;
mod webhook_errors;
