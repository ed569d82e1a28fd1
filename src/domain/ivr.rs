//! The callback IVR as pure decisions: given what the caller did, what to
//! say next and what to remember. Handlers carry out the `Effect`.

use crate::domain::callback::Confirmation;
use crate::domain::phone::{CallerId, E164};
use crate::domain::prompts::PromptKey;
use crate::domain::reason::Reason;
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::{Gather, Method, Prompt, Record, Say, Twiml, Verb};
use jiff::Timestamp;

/// Travels with the call through every step (in the action URLs), so any
/// instance can answer any step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvrContext {
    pub reason: Reason,
    /// When the call first arrived; the record keeps it as its place in line.
    pub arrived: Timestamp,
}

/// Absolute URLs for the IVR's actions. Implemented by the HTTP layer.
pub trait Links: Send + Sync {
    fn offer(&self, ctx: &IvrContext, attempt: u32) -> String;
    fn enter(&self, ctx: &IvrContext, attempt: u32) -> String;
    fn confirm(&self, ctx: &IvrContext, attempt: u32, typed: &str) -> String;
    fn recorded(&self) -> String;
    fn recording_status(&self) -> String;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// The number to call back is settled.
    Confirm {
        number: E164,
        how: Confirmation,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub effect: Effect,
    pub twiml: Twiml,
}

impl Step {
    fn say(twiml: Twiml) -> Self {
        Step {
            effect: Effect::None,
            twiml,
        }
    }
}

const CHOICE_TIMEOUT_SECONDS: u32 = 6;
const ENTRY_TIMEOUT_SECONDS: u32 = 10;
/// Silence that ends a recording.
const RECORD_SILENCE_SECONDS: u32 = 5;

pub struct Ivr<'a> {
    settings: &'a TenantSettings,
    links: &'a dyn Links,
    caller: CallerId,
    ctx: IvrContext,
}

impl<'a> Ivr<'a> {
    pub fn new(
        settings: &'a TenantSettings,
        links: &'a dyn Links,
        caller: CallerId,
        ctx: IvrContext,
    ) -> Self {
        Ivr {
            settings,
            links,
            caller,
            ctx,
        }
    }

    /// A known caller gets a record on the caller ID before anything is
    /// asked, so one who hangs up is still called back. The handler keeps it
    /// (or finds the caller's open record) before calling `start`.
    pub fn opens_on_caller_id(&self) -> Option<&E164> {
        self.caller.number()
    }

    /// The first answer: greeting, then the caller-ID offer, or number entry
    /// when the caller ID is withheld. A `repeat` caller, whose earlier
    /// request is still open, hears that it is kept and may add to it.
    pub fn start(&self, repeat: bool) -> Twiml {
        let greeting = if self.ctx.reason == Reason::AfterHours {
            PromptKey::AfterHoursGreeting
        } else {
            PromptKey::Greeting
        };
        let greet = Twiml::new().push(Verb::Say(self.say(greeting)));
        match &self.caller {
            CallerId::Known(number) if repeat => greet
                .push(Verb::Say(
                    self.say_text(self.with_number(PromptKey::RepeatCaller, number)),
                ))
                .push(self.record_verb()),
            CallerId::Known(number) => self.offer(greet, number, 1),
            CallerId::Withheld => self.entry(greet, 1),
        }
    }

    /// Digits pressed at the caller-ID offer (`""` when there were none).
    pub fn on_offer(&self, digits: &str, attempt: u32) -> Step {
        let Some(number) = self.caller.number() else {
            return Step::say(self.entry(Twiml::new(), 1));
        };
        match digits {
            "1" => Step {
                effect: Effect::Confirm {
                    number: number.clone(),
                    how: Confirmation::CallerId,
                },
                twiml: self.record(),
            },
            "2" => Step::say(self.entry(Twiml::new(), 1)),
            _ => self.retry(attempt, |next| self.offer(self.invalid(), number, next)),
        }
    }

    /// Digits typed as the callback number.
    pub fn on_entry(&self, digits: &str, attempt: u32) -> Step {
        match E164::from_keypad(digits, self.settings.default_region) {
            Ok(number) => Step::say(self.confirm(Twiml::new(), digits, &number, attempt)),
            Err(_) => self.retry(attempt, |next| self.entry(self.invalid(), next)),
        }
    }

    /// Digits pressed when the typed number was read back.
    pub fn on_confirm(&self, typed: &str, digits: &str, attempt: u32) -> Step {
        let Ok(number) = E164::from_keypad(typed, self.settings.default_region) else {
            return self.retry(attempt, |next| self.entry(self.invalid(), next));
        };
        match digits {
            "1" => Step {
                effect: Effect::Confirm {
                    number,
                    how: Confirmation::Entered,
                },
                twiml: self.record(),
            },
            "2" => self.retry(attempt, |next| self.entry(Twiml::new(), next)),
            _ => self.retry(attempt, |next| {
                self.confirm(self.invalid(), typed, &number, next)
            }),
        }
    }

    fn retry(&self, attempt: u32, ask_again: impl Fn(u32) -> Twiml) -> Step {
        if attempt < self.settings.number_entry_attempts {
            Step::say(ask_again(attempt + 1))
        } else {
            let goodbye = if self.caller.number().is_some() {
                PromptKey::GoodbyeCallerId
            } else {
                PromptKey::GoodbyeNoNumber
            };
            Step::say(
                Twiml::new()
                    .push(Verb::Say(self.say(goodbye)))
                    .push(Verb::Hangup),
            )
        }
    }

    fn offer(&self, before: Twiml, number: &E164, attempt: u32) -> Twiml {
        let action = self.links.offer(&self.ctx, attempt);
        let text = self.with_number(PromptKey::OfferCallerId, number);
        self.question(before, action, Some(1), CHOICE_TIMEOUT_SECONDS, text)
    }

    fn entry(&self, before: Twiml, attempt: u32) -> Twiml {
        let action = self.links.enter(&self.ctx, attempt);
        let text = self.settings.prompt(PromptKey::EnterNumber).to_owned();
        self.question(before, action, None, ENTRY_TIMEOUT_SECONDS, text)
    }

    fn confirm(&self, before: Twiml, typed: &str, number: &E164, attempt: u32) -> Twiml {
        let action = self.links.confirm(&self.ctx, attempt, typed);
        let text = self.with_number(PromptKey::ConfirmNumber, number);
        self.question(before, action, Some(1), CHOICE_TIMEOUT_SECONDS, text)
    }

    /// A Gather, then a Redirect to the same action so silence is handled
    /// there as empty input.
    fn question(
        &self,
        before: Twiml,
        action: String,
        num_digits: Option<u32>,
        timeout_seconds: u32,
        text: String,
    ) -> Twiml {
        before
            .push(Verb::Gather(Gather {
                action: action.clone(),
                num_digits,
                timeout_seconds,
                finish_on_key: Some('#'),
                prompts: vec![Prompt::Say(self.say_text(text))],
            }))
            .push(Verb::Redirect { url: action })
    }

    fn record(&self) -> Twiml {
        Twiml::new()
            .push(Verb::Say(self.say(PromptKey::RecordRequest)))
            .push(self.record_verb())
    }

    fn record_verb(&self) -> Verb {
        Verb::Record(Record {
            action: self.links.recorded(),
            method: Method::Post,
            max_length_seconds: self.settings.max_recording_seconds,
            timeout_seconds: RECORD_SILENCE_SECONDS,
            status_callback: self.links.recording_status(),
        })
    }

    fn invalid(&self) -> Twiml {
        Twiml::new().push(Verb::Say(self.say(PromptKey::InvalidInput)))
    }

    fn with_number(&self, key: PromptKey, number: &E164) -> String {
        self.settings.prompt(key).replace(
            "{number}",
            &number.spoken_digits(self.settings.default_region),
        )
    }

    fn say(&self, key: PromptKey) -> Say {
        self.say_text(self.settings.prompt(key).to_owned())
    }

    fn say_text(&self, text: String) -> Say {
        say_in(self.settings, text)
    }
}

/// The record-only flow, with no question on the way: the apology, then
/// `<Record>` of the request (`recorded` its action, fetched with
/// `method`; `recording_status` its recordingStatusCallback). What the
/// number's fallback URL serves while afureko is down (`afureko
/// fallback-twiml`), and what a webhook answers when its store work runs
/// past its budget. The record is made from the recording's callback.
pub fn record_only(
    settings: &TenantSettings,
    recorded: String,
    method: Method,
    recording_status: String,
) -> Twiml {
    let apology = say_in(
        settings,
        settings.prompt(PromptKey::FallbackGreeting).to_owned(),
    );
    Twiml::new()
        .push(Verb::Say(apology))
        .push(Verb::Record(Record {
            action: recorded,
            method,
            max_length_seconds: settings.max_recording_seconds,
            timeout_seconds: RECORD_SILENCE_SECONDS,
            status_callback: recording_status,
        }))
}

/// After the recording: thank and hang up.
pub fn after_recording(settings: &TenantSettings) -> Twiml {
    let thanks = say_in(settings, settings.prompt(PromptKey::Thanks).to_owned());
    Twiml::new().push(Verb::Say(thanks)).push(Verb::Hangup)
}

fn say_in(settings: &TenantSettings, text: String) -> Say {
    Say {
        text,
        voice: settings.voice.clone(),
        language: settings.language.code().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::phone::Region;
    use crate::domain::prompts::Language;

    struct TestLinks;

    impl Links for TestLinks {
        fn offer(&self, ctx: &IvrContext, attempt: u32) -> String {
            format!("https://t/offer/{}/{attempt}", ctx.reason)
        }
        fn enter(&self, ctx: &IvrContext, attempt: u32) -> String {
            format!("https://t/enter/{}/{attempt}", ctx.reason)
        }
        fn confirm(&self, ctx: &IvrContext, attempt: u32, typed: &str) -> String {
            format!("https://t/confirm/{}/{attempt}/{typed}", ctx.reason)
        }
        fn recorded(&self) -> String {
            "https://t/recorded".into()
        }
        fn recording_status(&self) -> String {
            "https://t/recording".into()
        }
    }

    fn english() -> TenantSettings {
        TenantSettings::for_language(Language::EnUs)
    }

    fn ctx() -> IvrContext {
        IvrContext {
            reason: Reason::Overflow,
            arrived: "2026-11-25T01:00:00Z".parse().unwrap(),
        }
    }

    fn known() -> CallerId {
        CallerId::from_twilio("+81312345678", Region::JP)
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#;

    #[test]
    fn start_offers_the_caller_id_read_back() {
        let settings = TenantSettings::default();
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx());
        assert_eq!(
            ivr.opens_on_caller_id(),
            Some(&E164::parse("+81312345678", Region::JP).unwrap())
        );
        assert_eq!(
            ivr.start(false).render(),
            format!(
                "{HEAD}{}{}{}</Response>",
                r#"<Say voice="Polly.Mizuki" language="ja-JP">お電話ありがとうございます。ただいま電話が大変混み合っております。担当者より折り返しお電話いたしますので、ご用件をお伺いします。</Say>"#,
                r##"<Gather input="dtmf" action="https://t/offer/overflow/1" method="POST" timeout="6" numDigits="1" finishOnKey="#"><Say voice="Polly.Mizuki" language="ja-JP">おかけの電話番号、0 3 1 2 3 4 5 6 7 8 に折り返してよろしければ 1 を、別の番号をご希望の場合は 2 を押してください。</Say></Gather>"##,
                r#"<Redirect method="POST">https://t/offer/overflow/1</Redirect>"#
            )
        );
    }

    #[test]
    fn withheld_caller_goes_straight_to_entry() {
        let settings = english();
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx());
        assert_eq!(ivr.opens_on_caller_id(), None);
        assert_eq!(
            ivr.start(false).render(),
            format!(
                "{HEAD}{}{}{}</Response>",
                r#"<Say voice="Polly.Joanna" language="en-US">Thank you for calling. All of our agents are busy right now. We will call you back, so please leave us your request.</Say>"#,
                r##"<Gather input="dtmf" action="https://t/enter/overflow/1" method="POST" timeout="10" finishOnKey="#"><Say voice="Polly.Joanna" language="en-US">Please enter the number we should call back, with its area code, then press the pound key.</Say></Gather>"##,
                r#"<Redirect method="POST">https://t/enter/overflow/1</Redirect>"#
            )
        );
    }

    #[test]
    fn accepting_the_caller_id_records() {
        let settings = english();
        let step = Ivr::new(&settings, &TestLinks, known(), ctx()).on_offer("1", 1);
        assert_eq!(
            step.effect,
            Effect::Confirm {
                number: E164::parse("+81312345678", Region::JP).unwrap(),
                how: Confirmation::CallerId
            }
        );
        assert_eq!(
            step.twiml.render(),
            format!(
                "{HEAD}{}{}</Response>",
                r#"<Say voice="Polly.Joanna" language="en-US">After the tone, please tell us what you are calling about. When you are done, press the pound key or hang up.</Say>"#,
                r##"<Record action="https://t/recorded" method="POST" maxLength="120" timeout="5" finishOnKey="#" playBeep="true" recordingStatusCallback="https://t/recording" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>"##
            )
        );
    }

    #[test]
    fn typed_number_is_read_back_and_confirmed() {
        let settings = english();
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx());
        let step = ivr.on_entry("09012345678", 1);
        assert_eq!(step.effect, Effect::None);
        assert!(
            step.twiml
                .render()
                .contains(r#"action="https://t/confirm/overflow/1/09012345678""#)
        );
        assert!(
            step.twiml
                .render()
                .contains("You entered 0 9 0 1 2 3 4 5 6 7 8.")
        );
        let step = ivr.on_confirm("09012345678", "1", 1);
        assert_eq!(
            step.effect,
            Effect::Confirm {
                number: E164::parse("+819012345678", Region::JP).unwrap(),
                how: Confirmation::Entered
            }
        );
        let retype = ivr.on_confirm("09012345678", "2", 1);
        assert!(retype.twiml.render().contains("https://t/enter/overflow/2"));
    }

    #[test]
    fn invalid_input_is_asked_again_then_the_call_ends_politely() {
        let settings = english();
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx());
        let again = ivr.on_offer("7", 1).twiml.render();
        assert!(again.contains("Sorry, we did not get that.</Say><Gather"));
        assert!(again.contains("https://t/offer/overflow/2"));
        let last = ivr.on_offer("", 3);
        assert_eq!(last.effect, Effect::None);
        assert_eq!(
            last.twiml.render(),
            format!(
                "{HEAD}{}<Hangup/></Response>",
                r#"<Say voice="Polly.Joanna" language="en-US">Sorry, we did not get that. We will call you back at the number you are calling from. Goodbye.</Say>"#
            )
        );
        let withheld = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx());
        assert!(
            withheld
                .on_entry("12", 3)
                .twiml
                .render()
                .contains("Please call us again.")
        );
    }

    #[test]
    fn after_hours_uses_its_own_greeting() {
        let settings = english();
        let ctx = IvrContext {
            reason: Reason::AfterHours,
            ..ctx()
        };
        let twiml = Ivr::new(&settings, &TestLinks, known(), ctx)
            .start(false)
            .render();
        assert!(twiml.contains("We are closed right now."));
    }
}
