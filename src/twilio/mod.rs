//! Twilio's side of the wire: request signatures, the REST API for
//! recordings, and a stand-in that plays calls the way Twilio does.

pub mod api;
pub mod signature;
pub mod sim;
