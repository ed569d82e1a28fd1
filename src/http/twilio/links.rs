//! The absolute URLs Twilio is sent to next. The call's state (reason,
//! arrival, attempt, typed digits; a call back's record, agent and start)
//! travels in their paths, never in query strings, which API Gateway's
//! REST API may reorder.

use crate::domain::call_routing::RoutingLinks;
use crate::domain::ids::TenantId;
use crate::domain::ivr::{IvrContext, Links};
use crate::domain::outbound::{CallKey, OutboundLinks};
use crate::http::AppState;
use crate::settings::BaseUrl;
use jiff::Timestamp;

pub struct TwilioLinks {
    base: String,
}

/// The recording status callback of `tenant`: also where the static
/// fallback TwiML sends its recordings (`afureko fallback-twiml`).
pub fn recording_status_url(public_url: &BaseUrl, tenant: &TenantId) -> String {
    public_url.join(&format!("/twilio/{tenant}/recording"))
}

impl TwilioLinks {
    pub fn new(state: &AppState, tenant: &TenantId) -> Self {
        TwilioLinks {
            base: state.public_url.join(&format!("/twilio/{tenant}")),
        }
    }

    fn step(&self, step: &str, ctx: &IvrContext, attempt: u32) -> String {
        format!(
            "{}/ivr/{step}/{}/{}/{attempt}",
            self.base,
            ctx.reason,
            ctx.arrived.as_second()
        )
    }

    fn routing(&self, step: &str, arrived: Timestamp) -> String {
        format!("{}/{step}/{}", self.base, arrived.as_second())
    }
}

impl Links for TwilioLinks {
    fn offer(&self, ctx: &IvrContext, attempt: u32) -> String {
        self.step("offer", ctx, attempt)
    }
    fn enter(&self, ctx: &IvrContext, attempt: u32) -> String {
        self.step("enter", ctx, attempt)
    }
    fn confirm(&self, ctx: &IvrContext, attempt: u32, typed: &str) -> String {
        format!("{}/{typed}", self.step("confirm", ctx, attempt))
    }
    fn window(&self, ctx: &IvrContext, attempt: u32) -> String {
        self.step("window", ctx, attempt)
    }
    fn recorded(&self) -> String {
        format!("{}/ivr/recorded", self.base)
    }
    fn recording_status(&self) -> String {
        format!("{}/recording", self.base)
    }
}

impl RoutingLinks for TwilioLinks {
    fn dial_result(&self, arrived: Timestamp) -> String {
        self.routing("dial-result", arrived)
    }
    fn queue_wait(&self, arrived: Timestamp) -> String {
        self.routing("queue/wait", arrived)
    }
    fn queue_offer(&self, arrived: Timestamp) -> String {
        self.routing("queue/offer", arrived)
    }
    fn queue_result(&self, arrived: Timestamp) -> String {
        self.routing("queue/result", arrived)
    }
}

impl TwilioLinks {
    fn outbound(&self, key: &CallKey, step: &str) -> String {
        format!(
            "{}/outbound/{}/{}/{}/{step}",
            self.base, key.callback, key.agent, key.started
        )
    }
}

impl OutboundLinks for TwilioLinks {
    fn answer(&self, key: &CallKey) -> String {
        self.outbound(key, "answer")
    }
    fn connect(&self, key: &CallKey) -> String {
        self.outbound(key, "connect")
    }
    fn dialed(&self, key: &CallKey) -> String {
        self.outbound(key, "dialed")
    }
    fn customer(&self, key: &CallKey) -> String {
        self.outbound(key, "customer")
    }
    fn status(&self, key: &CallKey) -> String {
        self.outbound(key, "status")
    }
    fn recording(&self, key: &CallKey) -> String {
        self.outbound(key, "recording")
    }
}
