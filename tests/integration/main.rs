//! One integration-test binary: whole calls played through the real Router
//! the way Twilio plays them (signed requests, TwiML followed step by step).

mod api;
mod aws;
mod backends;
mod call_flow;
mod events;
mod helpers;
mod lambda;
mod races;
mod recordings;
mod routing;
mod settings;
mod store_suite;
mod webhook_errors;
