//! One integration-test binary: whole calls played through the real Router
//! the way Twilio plays them (signed requests, TwiML followed step by step).

mod api;
mod aws;
mod backends;
mod call_flow;
mod crash;
mod events;
mod helpers;
mod lambda;
mod recordings;
mod routing;
mod store_suite;
mod webhook_errors;
