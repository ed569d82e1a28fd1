//! What an incoming call does before the callback IVR, by the tenant's
//! routing mode and business hours. Pure decisions; the handlers carry
//! them out.

use crate::domain::ivr::{Ivr, IvrContext, Links};
use crate::domain::phone::CallerId;
use crate::domain::prompts::PromptKey;
use crate::domain::reason::Reason;
use crate::domain::routing::{Destination, RoutingMode};
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::{self, Dial, Enqueue, Gather, Prompt, Twiml, Verb};
use jiff::Timestamp;

/// Absolute URLs for the routing steps. Implemented by the HTTP layer.
pub trait RoutingLinks: Send + Sync {
    fn dial_result(&self, arrived: Timestamp) -> String;
    fn queue_wait(&self, arrived: Timestamp) -> String;
    fn queue_offer(&self, arrived: Timestamp) -> String;
    fn queue_result(&self, arrived: Timestamp) -> String;
}

/// What to do with a new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Into the callback IVR, for this reason.
    Ivr(Reason),
    /// Ring the agents, or wait in the queue: this TwiML.
    Connect(Twiml),
}

/// The first decision: business hours, then the tenant's mode.
pub fn route_incoming(
    settings: &TenantSettings,
    now: Timestamp,
    links: &dyn RoutingLinks,
) -> Incoming {
    if !settings.is_open(now) {
        return Incoming::Ivr(Reason::AfterHours);
    }
    let routing = &settings.routing;
    match routing.mode {
        RoutingMode::Overflow => Incoming::Ivr(Reason::Overflow),
        // Nobody to ring: as good as closed.
        RoutingMode::Dial if routing.dial.destinations.is_empty() => {
            Incoming::Ivr(Reason::AfterHours)
        }
        RoutingMode::Dial => Incoming::Connect(
            Twiml::new().push(Verb::Dial(Dial {
                action: links.dial_result(now),
                timeout_seconds: routing.dial.ring_timeout_seconds,
                caller_id: routing.dial.caller_id.as_ref().map(|n| n.to_string()),
                targets: routing
                    .dial
                    .destinations
                    .iter()
                    .map(|d| match d {
                        Destination::Number(n) => twiml::DialTarget::Number(n.to_string()),
                        Destination::Sip(uri) => twiml::DialTarget::Sip(uri.clone()),
                    })
                    .collect(),
            })),
        ),
        RoutingMode::Queue => Incoming::Connect(Twiml::new().push(Verb::Enqueue(Enqueue {
            queue: routing.queue.name.clone(),
            wait_url: links.queue_wait(now),
            action: links.queue_result(now),
        }))),
    }
}

/// The first TwiML of a new caller's call arriving at `now`, and why it
/// went to the callback IVR if it did: what `voice` answers a caller with
/// no open record (an admin's preview of the settings).
pub fn first_answer<L: Links + RoutingLinks>(
    settings: &TenantSettings,
    now: Timestamp,
    links: &L,
    caller: CallerId,
) -> (Option<Reason>, Twiml) {
    match route_incoming(settings, now, links) {
        Incoming::Ivr(reason) => {
            let ctx = IvrContext {
                reason,
                arrived: now,
            };
            let ivr = Ivr::new(settings, links, caller, ctx, now);
            (Some(reason), ivr.start(false, None))
        }
        Incoming::Connect(twiml) => (None, twiml),
    }
}

/// After `<Dial>`: `None` when an agent took the call.
pub fn after_dial(dial_call_status: &str) -> Option<Reason> {
    match dial_call_status {
        "completed" | "answered" => None,
        "busy" => Some(Reason::Busy),
        // no-answer, failed, canceled: nobody took it.
        _ => Some(Reason::NoAnswer),
    }
}

/// The wait URL's answer: leave for the callback IVR, or hold on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    Leave(Reason),
    Hold(Twiml),
}

impl Wait {
    pub fn twiml(&self) -> Twiml {
        match self {
            Wait::Leave(_) => Twiml::new().push(Verb::Leave),
            Wait::Hold(twiml) => twiml.clone(),
        }
    }
}

/// Called by Twilio while the caller waits (`QueueTime` seconds so far, in
/// a queue of `queue_size`). Only verbs Twilio allows in a wait URL.
pub fn queue_wait(
    settings: &TenantSettings,
    queue_time: u32,
    queue_size: u32,
    arrived: Timestamp,
    links: &dyn RoutingLinks,
) -> Wait {
    let queue = &settings.routing.queue;
    if queue_time >= queue.max_wait_seconds {
        return Wait::Leave(Reason::QueueTimeout);
    }
    if queue_size > queue.max_queue_size {
        return Wait::Leave(Reason::QueueFull);
    }
    Wait::Hold(hold(settings, arrived, links))
}

/// Digits pressed at the callback offer while waiting.
pub fn queue_offer(
    settings: &TenantSettings,
    digits: &str,
    arrived: Timestamp,
    links: &dyn RoutingLinks,
) -> Wait {
    if digits == "1" {
        Wait::Leave(Reason::QueueOptOut)
    } else {
        Wait::Hold(hold(settings, arrived, links))
    }
}

fn hold(settings: &TenantSettings, arrived: Timestamp, links: &dyn RoutingLinks) -> Twiml {
    let queue = &settings.routing.queue;
    let say = |key: PromptKey| twiml::Say {
        text: settings.prompt(key).to_owned(),
        voice: settings.voice.clone(),
        language: settings.language.code().to_owned(),
    };
    let hold = match &queue.hold_audio_url {
        Some(url) => Prompt::Play { url: url.clone() },
        None => Prompt::Say(say(PromptKey::QueueHold)),
    };
    Twiml::new()
        .push(Verb::Gather(Gather {
            action: links.queue_offer(arrived),
            num_digits: Some(1),
            timeout_seconds: queue.offer_interval_seconds,
            finish_on_key: None,
            speech: None,
            prompts: vec![hold, Prompt::Say(say(PromptKey::QueueOffer))],
        }))
        .push(Verb::Redirect {
            url: links.queue_wait(arrived),
        })
}

/// After `<Enqueue>`: `None` when the call is over (bridged to an agent, or
/// the caller hung up); otherwise the IVR. `left_for` is the reason stored
/// when the caller left, if any.
pub fn after_queue(
    queue_result: &str,
    left_for: Option<Reason>,
    queue_time: u32,
    settings: &TenantSettings,
) -> Option<Reason> {
    match queue_result {
        "bridged" | "bridging-in-process" | "hangup" | "redirected-from-bridged" => None,
        "queue-full" => Some(Reason::QueueFull),
        "leave" => Some(left_for.unwrap_or(
            // Without a record (a withheld caller ID) the wait tells why.
            if queue_time >= settings.routing.queue.max_wait_seconds {
                Reason::QueueTimeout
            } else {
                Reason::QueueOptOut
            },
        )),
        // error, system-error, redirected: nobody will take it; keep the caller.
        _ => Some(Reason::Overflow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::phone::Region;
    use crate::domain::prompts::Language;

    struct L;
    impl RoutingLinks for L {
        fn dial_result(&self, a: Timestamp) -> String {
            format!("https://t/dial-result/{}", a.as_second())
        }
        fn queue_wait(&self, a: Timestamp) -> String {
            format!("https://t/queue-wait/{}", a.as_second())
        }
        fn queue_offer(&self, a: Timestamp) -> String {
            format!("https://t/queue-offer/{}", a.as_second())
        }
        fn queue_result(&self, a: Timestamp) -> String {
            format!("https://t/queue-result/{}", a.as_second())
        }
    }

    fn now() -> Timestamp {
        "2026-11-25T01:00:00Z".parse().unwrap()
    }

    #[test]
    fn dial_rings_every_destination() {
        let mut s = TenantSettings::for_language(Language::EnUs);
        s.routing.mode = RoutingMode::Dial;
        // docs/operations.md: dial mode with no destinations counts as closed (the
        // tenant is open now: the same settings ring below).
        assert_eq!(
            route_incoming(&s, now(), &L),
            Incoming::Ivr(Reason::AfterHours)
        );
        s.routing.dial.destinations = vec![
            Destination::parse("03-5555-0000", Region::JP).unwrap(),
            Destination::parse("sip:desk@pbx.example.com", Region::JP).unwrap(),
        ];
        let Incoming::Connect(twiml) = route_incoming(&s, now(), &L) else {
            panic!("expected a Dial");
        };
        assert_eq!(
            twiml.render(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="https://t/dial-result/1795568400" method="POST" timeout="20"><Number>+81355550000</Number><Sip>sip:desk@pbx.example.com</Sip></Dial></Response>"#
        );
        assert_eq!(after_dial("completed"), None);
        assert_eq!(after_dial("busy"), Some(Reason::Busy));
        for s in ["no-answer", "failed", "canceled"] {
            assert_eq!(after_dial(s), Some(Reason::NoAnswer));
        }
    }

    #[test]
    fn wait_url_holds_offers_and_leaves() {
        let mut s = TenantSettings::for_language(Language::EnUs);
        s.routing.mode = RoutingMode::Queue;
        let hold = queue_wait(&s, 10, 3, now(), &L);
        let Wait::Hold(twiml) = &hold else {
            panic!("expected hold")
        };
        assert_eq!(
            twiml.render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Gather input="dtmf" action="https://t/queue-offer/1795568400" method="POST" timeout="30" numDigits="1">"#,
                r#"<Say voice="Polly.Joanna" language="en-US">All of our agents are busy. Please stay on the line.</Say>"#,
                r#"<Say voice="Polly.Joanna" language="en-US">To be called back instead, press 1. You keep your place in line.</Say></Gather>"#,
                r#"<Redirect method="POST">https://t/queue-wait/1795568400</Redirect></Response>"#
            )
        );
        assert_eq!(
            queue_wait(&s, 300, 3, now(), &L),
            Wait::Leave(Reason::QueueTimeout)
        );
        assert_eq!(
            queue_wait(&s, 10, 21, now(), &L),
            Wait::Leave(Reason::QueueFull)
        );
        assert_eq!(
            queue_offer(&s, "1", now(), &L),
            Wait::Leave(Reason::QueueOptOut)
        );
        assert!(matches!(queue_offer(&s, "7", now(), &L), Wait::Hold(_)));
        assert_eq!(
            queue_wait(&s, 300, 3, now(), &L).twiml().render(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Leave/></Response>"#
        );
        s.routing.queue.hold_audio_url = Some("https://cdn.example.com/hold.mp3".into());
        let Wait::Hold(twiml) = queue_wait(&s, 0, 0, now(), &L) else {
            panic!()
        };
        assert!(
            twiml
                .render()
                .contains("<Play>https://cdn.example.com/hold.mp3</Play>")
        );
    }

    #[test]
    fn the_wait_url_uses_only_verbs_twilio_allows_there() {
        let mut s = TenantSettings::default();
        s.routing.queue.hold_audio_url = Some("https://cdn.example.com/hold.mp3".into());
        let allowed = [
            "Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather",
        ];
        for wait in [
            queue_wait(&s, 0, 0, now(), &L),
            queue_wait(&s, 9999, 0, now(), &L),
            queue_offer(&s, "1", now(), &L),
            queue_offer(&s, "", now(), &L),
        ] {
            for verb in &wait.twiml().verbs {
                let name = match verb {
                    Verb::Say(_) => "Say",
                    Verb::Play { .. } => "Play",
                    Verb::Pause { .. } => "Pause",
                    Verb::Gather(_) => "Gather",
                    Verb::Redirect { .. } => "Redirect",
                    Verb::Leave => "Leave",
                    Verb::Hangup => "Hangup",
                    Verb::Record(_) => "Record",
                    Verb::Dial(_) | Verb::Bridge(_) => "Dial",
                    Verb::Enqueue(_) => "Enqueue",
                };
                assert!(allowed.contains(&name), "{name} in a wait URL");
            }
        }
    }

    #[test]
    fn queue_results() {
        let s = TenantSettings::default();
        assert_eq!(after_queue("bridged", None, 5, &s), None);
        assert_eq!(after_queue("hangup", None, 5, &s), None);
        assert_eq!(
            after_queue("queue-full", None, 0, &s),
            Some(Reason::QueueFull)
        );
        assert_eq!(
            after_queue("leave", Some(Reason::QueueFull), 5, &s),
            Some(Reason::QueueFull)
        );
        assert_eq!(after_queue("leave", None, 5, &s), Some(Reason::QueueOptOut));
        assert_eq!(
            after_queue("leave", None, 300, &s),
            Some(Reason::QueueTimeout)
        );
        assert_eq!(
            after_queue("system-error", None, 5, &s),
            Some(Reason::Overflow)
        );
    }
}
