//! Pure domain logic: no HTTP, no storage, no AWS.

pub mod agent;
pub mod api_key;
pub mod audit;
pub mod call_routing;
pub mod callback;
pub mod callback_window;
pub mod due;
pub mod ids;
pub mod ivr;
mod jp_numbers;
pub mod number_search;
pub mod outbound;
pub mod phone;
pub mod prompts;
pub mod reason;
pub mod routing;
pub mod schedule;
pub mod settings;
pub mod speech;
pub mod stats;
pub mod tenant;
pub mod twiml;
pub mod work;
