//! Twilio webhooks: verify, parse, hand to the use cases and the domain,
//! answer TwiML.

pub mod deadline;
pub mod forms;
pub mod ivr;
pub mod links;
pub mod outbound;
pub mod routing;
pub mod webhook;
