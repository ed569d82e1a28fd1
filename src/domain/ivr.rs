//! The callback IVR as pure decisions: given what the caller did, what to
//! say next and what to remember. Handlers carry out the `Effect`.

use crate::domain::callback::{self, Confirmation};
use crate::domain::due;
use crate::domain::phone::{CallerId, E164};
use crate::domain::prompts::PromptKey;
use crate::domain::reason::Reason;
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::{Gather, Prompt, Record, Say, Twiml, Verb};
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
    /// This step's time: `{due}` says "today" or "tomorrow" from it.
    now: Timestamp,
}

impl<'a> Ivr<'a> {
    pub fn new(
        settings: &'a TenantSettings,
        links: &'a dyn Links,
        caller: CallerId,
        ctx: IvrContext,
        now: Timestamp,
    ) -> Self {
        Ivr {
            settings,
            links,
            caller,
            ctx,
            now,
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
    /// `due`: when the caller's record is due, `None` before it has one
    /// (a withheld caller ID): the time it will get.
    pub fn start(&self, repeat: bool, due: Option<Timestamp>) -> Twiml {
        let due = due.unwrap_or_else(|| self.expected_due());
        let greeting = if self.ctx.reason == Reason::AfterHours {
            PromptKey::AfterHoursGreeting
        } else {
            PromptKey::Greeting
        };
        let greet = Twiml::new().push(Verb::Say(self.say_text(with_due(
            self.settings,
            greeting,
            Some(due),
            self.now,
        ))));
        match &self.caller {
            CallerId::Known(number) if repeat => {
                let text = with_due(self.settings, PromptKey::RepeatCaller, Some(due), self.now);
                greet
                    .push(Verb::Say(self.say_text(self.read_back(text, number))))
                    .push(self.record_verb())
            }
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
            max_length_seconds: self.settings.max_recording_seconds,
            timeout_seconds: RECORD_SILENCE_SECONDS,
            status_callback: self.links.recording_status(),
        })
    }

    fn invalid(&self) -> Twiml {
        Twiml::new().push(Verb::Say(self.say(PromptKey::InvalidInput)))
    }

    fn with_number(&self, key: PromptKey, number: &E164) -> String {
        self.read_back(self.settings.prompt(key).to_owned(), number)
    }

    /// `{number}` in `text`, read back.
    fn read_back(&self, text: String, number: &E164) -> String {
        text.replace(
            "{number}",
            &number.read_back(self.settings.default_region, self.settings.language),
        )
    }

    /// When a record of this call is due: the tenant's SLA from the
    /// arrival or, after hours, from the next opening.
    fn expected_due(&self) -> Timestamp {
        let from = self
            .settings
            .due_from(self.ctx.reason, self.ctx.arrived)
            .unwrap_or(self.ctx.arrived);
        callback::due_at(from, self.settings.callback_sla_minutes)
    }

    fn say(&self, key: PromptKey) -> Say {
        self.say_text(self.settings.prompt(key).to_owned())
    }

    fn say_text(&self, text: String) -> Say {
        say_in(self.settings, text)
    }
}

/// After the recording: thank, say when the callback comes (`due`, the
/// record's due time; `None`, not known: as soon as possible), hang up.
pub fn after_recording(settings: &TenantSettings, due: Option<Timestamp>, now: Timestamp) -> Twiml {
    let thanks = say_in(settings, with_due(settings, PromptKey::Thanks, due, now));
    Twiml::new().push(Verb::Say(thanks)).push(Verb::Hangup)
}

/// The prompt `key`, `{due}` spoken from `due` in the tenant's zone.
fn with_due(
    settings: &TenantSettings,
    key: PromptKey,
    due: Option<Timestamp>,
    now: Timestamp,
) -> String {
    let text = settings.prompt(key);
    if !text.contains("{due}") {
        return text.to_owned();
    }
    let phrase = match due {
        Some(due) => due::due_phrase(due, now, &settings.time_zone(), settings.language, None),
        None => due::as_soon_as_possible(settings.language).to_owned(),
    };
    text.replace("{due}", &phrase)
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

    fn now() -> Timestamp {
        ctx().arrived
    }

    fn known() -> CallerId {
        CallerId::from_twilio("+81312345678", Region::JP)
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#;

    #[test]
    fn start_offers_the_caller_id_read_back() {
        let settings = TenantSettings::default();
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        assert_eq!(
            ivr.opens_on_caller_id(),
            Some(&E164::parse("+81312345678", Region::JP).unwrap())
        );
        assert_eq!(
            ivr.start(false, None).render(),
            format!(
                "{HEAD}{}{}{}</Response>",
                r#"<Say voice="Polly.Mizuki" language="ja-JP">お電話ありがとうございます。ただいま電話が大変混み合っております。担当者より折り返しお電話いたしますので、ご用件をお伺いします。</Say>"#,
                r##"<Gather input="dtmf" action="https://t/offer/overflow/1" method="POST" timeout="6" numDigits="1" finishOnKey="#"><Say voice="Polly.Mizuki" language="ja-JP">おかけの電話番号、ゼロサン、イチニーサンヨン、ゴーロクナナハチ に折り返してよろしければ 1 を、別の番号をご希望の場合は 2 を押してください。</Say></Gather>"##,
                r#"<Redirect method="POST">https://t/offer/overflow/1</Redirect>"#
            )
        );
    }

    #[test]
    fn withheld_caller_goes_straight_to_entry() {
        let settings = english();
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
        assert_eq!(ivr.opens_on_caller_id(), None);
        assert_eq!(
            ivr.start(false, None).render(),
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
        let step = Ivr::new(&settings, &TestLinks, known(), ctx(), now()).on_offer("1", 1);
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
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
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
                .contains("You entered 0 9 0, 1 2 3 4, 5 6 7 8.")
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
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
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
        let withheld = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
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
        let twiml = Ivr::new(&settings, &TestLinks, known(), ctx, now())
            .start(false, None)
            .render();
        assert!(twiml.contains("We are closed right now."));
    }

    #[test]
    fn the_thanks_says_when_the_callback_comes() {
        // Wed 2026-11-25 10:00 JST; the record due at 14:00 JST.
        let due = Some("2026-11-25T05:00:00Z".parse().unwrap());
        let thanks =
            |settings: &TenantSettings, due| after_recording(settings, due, now()).render();
        assert_eq!(
            thanks(&TenantSettings::default(), due),
            format!(
                "{HEAD}{}<Hangup/></Response>",
                r#"<Say voice="Polly.Mizuki" language="ja-JP">ありがとうございました。担当者より本日14時までに折り返しお電話いたします。失礼いたします。</Say>"#
            )
        );
        assert!(
            thanks(&english(), due)
                .contains(">Thank you. We will call you back by 2:00 pm today. Goodbye.</Say>")
        );
        // No record to read it from: no time promised.
        assert!(
            thanks(&english(), None)
                .contains(">Thank you. We will call you back as soon as possible. Goodbye.</Say>")
        );
        // A tenant's own text without {due} is said as it is.
        let mut own = english();
        own.prompts.insert(PromptKey::Thanks, "Bye now.".into());
        assert!(thanks(&own, due).contains(">Bye now.</Say>"));
    }

    #[test]
    fn the_repeat_caller_and_the_after_hours_greeting_may_say_when() {
        let mut settings = TenantSettings::default();
        settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
        settings.prompts.insert(
            PromptKey::AfterHoursGreeting,
            "ただいま営業時間外です。{due}折り返しお電話いたします。".into(),
        );
        settings.prompts.insert(
            PromptKey::RepeatCaller,
            "{number} に{due}お電話いたします。".into(),
        );
        // Wed 2026-11-25 20:00 JST: after hours. A withheld caller has no
        // record yet: the due time it will get, the next opening (Thu
        // 09:00) and the SLA (4 h).
        let evening: Timestamp = "2026-11-25T11:00:00Z".parse().unwrap();
        let ctx = IvrContext {
            reason: Reason::AfterHours,
            arrived: evening,
        };
        let withheld = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx, evening);
        assert!(
            withheld.start(false, None).render().contains(
                ">ただいま営業時間外です。明日13時までに折り返しお電話いたします。</Say>"
            )
        );
        // A repeat caller hears the due time of the record it joined.
        let earlier = "2026-11-25T06:10:00Z".parse().unwrap();
        let repeat =
            Ivr::new(&settings, &TestLinks, known(), ctx, evening).start(true, Some(earlier));
        assert!(
            repeat.render().contains(
                ">ゼロサン、イチニーサンヨン、ゴーロクナナハチ にできるだけ早くお電話いたします。</Say><Record "
            ),
            "{}",
            repeat.render()
        );
        let later = "2026-11-26T06:10:00Z".parse().unwrap();
        let repeat =
            Ivr::new(&settings, &TestLinks, known(), ctx, evening).start(true, Some(later));
        assert!(repeat.render().contains(
            ">ただいま営業時間外です。明日15時15分までに折り返しお電話いたします。</Say>"
        ));
        assert!(
            repeat
                .render()
                .contains(" に明日15時15分までにお電話いたします。</Say>")
        );
    }
}
