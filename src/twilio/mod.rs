//! Twilio's side of the wire: request signatures, the REST API for
//! recordings, and a stand-in that plays calls the way Twilio does.

pub mod api;
pub mod signature;
// Only for the demo and the tests: the Lambda build leaves it out.
#[cfg(feature = "sim")]
pub mod sim;
