//! One integration-test binary: whole calls played through the real Router
//! the way Twilio plays them (signed requests, TwiML followed step by step).

mod api;
mod call_flow;
mod helpers;
mod recordings;
mod routing;
mod webhook_errors;
