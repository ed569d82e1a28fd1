//! Pure domain logic: no HTTP, no storage, no AWS.

pub mod api_key;
pub mod callback;
pub mod flow;
pub mod ids;
pub mod phone;
pub mod prompts;
pub mod routing;
pub mod schedule;
pub mod tenant;
pub mod twiml;
