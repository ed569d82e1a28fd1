//! The callback IVR as pure decisions: given what the caller did, what to
//! say next and what to remember. Handlers carry out the `Effect`.

use crate::domain::callback::{self, Confirmation};
use crate::domain::callback_window::{self, Occurrence};
use crate::domain::due::{self, Due};
use crate::domain::phone::{CallerId, E164};
use crate::domain::prompts::PromptKey;
use crate::domain::reason::Reason;
use crate::domain::speech::{self, Answer};
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::{Gather, Method, Prompt, Record, Say, SpeechInput, Twiml, Verb};
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
    /// The callback window choice.
    fn window(&self, ctx: &IvrContext, attempt: u32) -> String;
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
    /// The caller chose when to be called back: a window, as it next comes
    /// round, or as soon as possible (`None`).
    Window(Option<Occurrence>),
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
/// A model Twilio lists for ja-JP and en-US alike, made for phone audio.
const SPEECH_MODEL: &str = "phone_call";
/// Silence that ends what is said: a number is said in groups with short
/// pauses between them; a one-word answer needs less.
const ENTRY_SPEECH_TIMEOUT_SECONDS: u32 = 3;
const CHOICE_SPEECH_TIMEOUT_SECONDS: u32 = 2;

pub struct Ivr<'a> {
    settings: &'a TenantSettings,
    links: &'a dyn Links,
    caller: CallerId,
    ctx: IvrContext,
    /// This step's time: `{due}` says "today" or "tomorrow" from it, and a
    /// window chosen now comes round after it.
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
    /// request is still open, hears that it is kept (and, with `{due}`,
    /// when it comes, its window too) and may add to it; the choice of a
    /// window is not asked again. `due`: the caller's record's, `None`
    /// before it has one (a withheld caller ID): the time it will get.
    pub fn start(&self, repeat: bool, due: Option<Due>) -> Twiml {
        let due = due.unwrap_or_else(|| Due::at(self.expected_due()));
        let greeting = if self.ctx.reason == Reason::AfterHours {
            PromptKey::AfterHoursGreeting
        } else {
            PromptKey::Greeting
        };
        let greet = Twiml::new().push(Verb::Say(self.say_text(with_due(
            self.settings,
            greeting,
            Some(&due),
            self.now,
        ))));
        match &self.caller {
            CallerId::Known(number) if repeat => {
                let text = with_due(self.settings, PromptKey::RepeatCaller, Some(&due), self.now);
                greet
                    .push(Verb::Say(self.say_text(self.read_back(text, number))))
                    .push(self.record_verb())
            }
            CallerId::Known(number) => self.offer(greet, number, 1),
            CallerId::Withheld => self.entry(greet, 1),
        }
    }

    /// The answer at the caller-ID offer (no keys when there was none).
    pub fn on_offer(&self, answer: &Answer, attempt: u32) -> Step {
        let Some(number) = self.caller.number() else {
            return Step::say(self.entry(Twiml::new(), 1));
        };
        match self.choice(answer, true).as_str() {
            "1" => Step {
                effect: Effect::Confirm {
                    number: number.clone(),
                    how: Confirmation::CallerId,
                },
                twiml: self.number_settled(),
            },
            "2" => Step::say(self.entry(Twiml::new(), 1)),
            _ => self.retry(attempt, |next| self.offer(self.invalid(), number, next)),
        }
    }

    /// The number typed (or said) as the number to call back.
    pub fn on_entry(&self, answer: &Answer, attempt: u32) -> Step {
        let digits = self.digits(answer);
        match E164::from_keypad(&digits, self.settings.default_region) {
            Ok(number) => Step::say(self.confirm(Twiml::new(), &digits, &number, attempt)),
            Err(_) => self.retry(attempt, |next| self.entry(self.invalid(), next)),
        }
    }

    /// The answer when the number `typed` was read back.
    pub fn on_confirm(&self, typed: &str, answer: &Answer, attempt: u32) -> Step {
        let Ok(number) = E164::from_keypad(typed, self.settings.default_region) else {
            return self.retry(attempt, |next| self.entry(self.invalid(), next));
        };
        match self.choice(answer, true).as_str() {
            "1" => Step {
                effect: Effect::Confirm {
                    number,
                    how: Confirmation::Entered,
                },
                twiml: self.number_settled(),
            },
            "2" => self.retry(attempt, |next| self.entry(Twiml::new(), next)),
            _ => self.retry(attempt, |next| {
                self.confirm(self.invalid(), typed, &number, next)
            }),
        }
    }

    /// The answer at the callback window choice: 0, as soon as possible,
    /// or a window's key, the window as it next comes round from now (as
    /// soon as possible if it never does within a month). Asked again
    /// while unclear; when the tries are used up, the record stays as soon
    /// as possible and the caller goes on to leave the request.
    pub fn on_window(&self, answer: &Answer, attempt: u32) -> Step {
        let key = self.choice(answer, false);
        let chosen = match key.as_str() {
            "0" => Some(None),
            key => self
                .settings
                .callback_windows
                .iter()
                .find(|w| key.len() == 1 && key.parse() == Ok(w.key))
                .map(|w| {
                    w.next_occurrence(
                        self.now,
                        &self.settings.time_zone(),
                        &self.settings.schedule,
                    )
                }),
        };
        match chosen {
            Some(window) => Step {
                effect: Effect::Window(window),
                twiml: self.record(),
            },
            None if attempt < self.settings.number_entry_attempts => {
                Step::say(self.window_choice(self.invalid(), attempt + 1))
            }
            None => Step::say(self.invalid().extend(self.record())),
        }
    }

    /// The keys an answer stands for at a question: what was pressed, or,
    /// with speech on, the key what was said stands for (「はい」 1 and
    /// 「いいえ」 2 where `yes_no`); anything unclear is no key.
    fn choice(&self, answer: &Answer, yes_no: bool) -> String {
        match answer {
            Answer::Keys(keys) => keys.clone(),
            Answer::Speech(said) if self.settings.number_entry.speech() => {
                let key = if yes_no {
                    speech::choice_from_speech(said, self.settings.language)
                } else {
                    speech::digits_from_speech(said, self.settings.language)
                        .filter(|d| d.len() == 1)
                        .and_then(|d| d.chars().next())
                };
                key.map(String::from).unwrap_or_default()
            }
            Answer::Speech(_) => String::new(),
        }
    }

    /// The digits of a number typed, or, with speech on, said.
    fn digits(&self, answer: &Answer) -> String {
        match answer {
            Answer::Keys(keys) => keys.clone(),
            Answer::Speech(said) if self.settings.number_entry.speech() => {
                speech::digits_from_speech(said, self.settings.language).unwrap_or_default()
            }
            Answer::Speech(_) => String::new(),
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

    /// Once the number is settled: the window choice, when the tenant
    /// offers windows, else the request.
    fn number_settled(&self) -> Twiml {
        if self.settings.callback_windows.is_empty() {
            self.record()
        } else {
            self.window_choice(Twiml::new(), 1)
        }
    }

    fn offer(&self, before: Twiml, number: &E164, attempt: u32) -> Twiml {
        let action = self.links.offer(&self.ctx, attempt);
        let text = self.with_number(PromptKey::OfferCallerId, number);
        self.question(before, action, Some(1), text)
    }

    fn entry(&self, before: Twiml, attempt: u32) -> Twiml {
        let action = self.links.enter(&self.ctx, attempt);
        let key = if self.settings.number_entry.speech() {
            PromptKey::EnterNumberSpeech
        } else {
            PromptKey::EnterNumber
        };
        let text = self.settings.prompt(key).to_owned();
        self.question(before, action, None, text)
    }

    fn confirm(&self, before: Twiml, typed: &str, number: &E164, attempt: u32) -> Twiml {
        let action = self.links.confirm(&self.ctx, attempt, typed);
        let text = self.with_number(PromptKey::ConfirmNumber, number);
        self.question(before, action, Some(1), text)
    }

    /// The tenant's own text, or the choice made from its windows.
    fn window_choice(&self, before: Twiml, attempt: u32) -> Twiml {
        let action = self.links.window(&self.ctx, attempt);
        let text = match self.settings.prompts.get(&PromptKey::WindowChoice) {
            Some(own) => own.clone(),
            None => callback_window::choice_prompt(
                &self.settings.callback_windows,
                self.settings.language,
            ),
        };
        self.question(before, action, Some(1), text)
    }

    /// A Gather, then a Redirect to the same action so silence is handled
    /// there as empty input. A question of one key (`num_digits`) is a
    /// choice; else a number is entered.
    fn question(
        &self,
        before: Twiml,
        action: String,
        num_digits: Option<u32>,
        text: String,
    ) -> Twiml {
        let (timeout_seconds, speech_timeout) = match num_digits {
            Some(_) => (CHOICE_TIMEOUT_SECONDS, CHOICE_SPEECH_TIMEOUT_SECONDS),
            None => (ENTRY_TIMEOUT_SECONDS, ENTRY_SPEECH_TIMEOUT_SECONDS),
        };
        let speech = self.settings.number_entry.speech().then(|| SpeechInput {
            language: self.settings.language.code().to_owned(),
            model: SPEECH_MODEL.to_owned(),
            timeout_seconds: speech_timeout,
        });
        before
            .push(Verb::Gather(Gather {
                action: action.clone(),
                num_digits,
                timeout_seconds,
                finish_on_key: Some('#'),
                speech,
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

/// After the recording when its record is not known (a static fallback
/// document, a webhook past its budget): thank, promise no time, hang up.
pub fn after_recording_no_due(settings: &TenantSettings) -> Twiml {
    let thanks = say_in(
        settings,
        due::without_due(settings.prompt(PromptKey::Thanks)),
    );
    Twiml::new().push(Verb::Say(thanks)).push(Verb::Hangup)
}

/// After the recording: thank, say when the callback comes (`due`, the
/// record's; `None`, not known: as soon as possible), hang up.
pub fn after_recording(settings: &TenantSettings, due: Option<&Due>, now: Timestamp) -> Twiml {
    let thanks = say_in(settings, with_due(settings, PromptKey::Thanks, due, now));
    Twiml::new().push(Verb::Say(thanks)).push(Verb::Hangup)
}

/// The prompt `key`, `{due}` spoken from `due` in the tenant's zone; when
/// the tenant does not announce it, said without it (also the SMS
/// confirmation's text).
pub fn with_due(
    settings: &TenantSettings,
    key: PromptKey,
    due: Option<&Due>,
    now: Timestamp,
) -> String {
    let text = settings.prompt(key);
    if !text.contains("{due}") {
        return text.to_owned();
    }
    if !settings.announce_due {
        return due::without_due(text);
    }
    let phrase = match due {
        Some(due) => due.phrase(now, &settings.time_zone(), settings.language),
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
        fn window(&self, ctx: &IvrContext, attempt: u32) -> String {
            format!("https://t/window/{}/{attempt}", ctx.reason)
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

    fn keys(pressed: &str) -> Answer {
        Answer::Keys(pressed.into())
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
        let step = Ivr::new(&settings, &TestLinks, known(), ctx(), now()).on_offer(&keys("1"), 1);
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
        let step = ivr.on_entry(&keys("09012345678"), 1);
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
        let step = ivr.on_confirm("09012345678", &keys("1"), 1);
        assert_eq!(
            step.effect,
            Effect::Confirm {
                number: E164::parse("+819012345678", Region::JP).unwrap(),
                how: Confirmation::Entered
            }
        );
        let retype = ivr.on_confirm("09012345678", &keys("2"), 1);
        assert!(retype.twiml.render().contains("https://t/enter/overflow/2"));
    }

    #[test]
    fn invalid_input_is_asked_again_then_the_call_ends_politely() {
        let settings = english();
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        let again = ivr.on_offer(&keys("7"), 1).twiml.render();
        assert!(again.contains("Sorry, we did not get that.</Say><Gather"));
        assert!(again.contains("https://t/offer/overflow/2"));
        let last = ivr.on_offer(&keys(""), 3);
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
                .on_entry(&keys("12"), 3)
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
        let due = Due::at("2026-11-25T05:00:00Z".parse().unwrap());
        let due = Some(&due);
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
        let earlier = Due::at("2026-11-25T06:10:00Z".parse().unwrap());
        let repeat =
            Ivr::new(&settings, &TestLinks, known(), ctx, evening).start(true, Some(earlier));
        assert!(
            repeat.render().contains(
                ">ゼロサン、イチニーサンヨン、ゴーロクナナハチ にできるだけ早くお電話いたします。</Say><Record "
            ),
            "{}",
            repeat.render()
        );
        let later = Due::at("2026-11-26T06:10:00Z".parse().unwrap());
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

    fn with_windows(mut settings: TenantSettings) -> TenantSettings {
        settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
        settings.callback_windows =
            callback_window::parse_windows(&["1=09:00-12:00", "2=13:00-17:00"]).unwrap();
        settings.validate().unwrap();
        settings
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_settled_number_leads_to_the_window_choice() {
        let settings = with_windows(TenantSettings::default());
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        let step = ivr.on_offer(&keys("1"), 1);
        assert!(matches!(step.effect, Effect::Confirm { .. }));
        assert_eq!(
            step.twiml.render(),
            format!(
                "{HEAD}{}{}</Response>",
                r##"<Gather input="dtmf" action="https://t/window/overflow/1" method="POST" timeout="6" numDigits="1" finishOnKey="#"><Say voice="Polly.Mizuki" language="ja-JP">できるだけ早くをご希望の方は0を、午前9時から12時は1を、午後1時から5時は2を押してください。</Say></Gather>"##,
                r#"<Redirect method="POST">https://t/window/overflow/1</Redirect>"#
            )
        );
        let withheld = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
        let confirmed = withheld.on_confirm("0312345678", &keys("1"), 1);
        assert!(
            confirmed
                .twiml
                .render()
                .contains("https://t/window/overflow/1")
        );
        // A tenant's own text replaces the one made from the windows.
        let mut own = settings.clone();
        own.prompts.insert(
            PromptKey::WindowChoice,
            "午前は1、午後は2、お急ぎの方は0を押してください。".into(),
        );
        let ivr = Ivr::new(&own, &TestLinks, known(), ctx(), now());
        assert!(ivr.on_offer(&keys("1"), 1).twiml.render().contains(
            r#"language="ja-JP">午前は1、午後は2、お急ぎの方は0を押してください。</Say></Gather>"#
        ));
    }

    #[test]
    fn each_choice_is_a_window_or_as_soon_as_possible() {
        let settings = with_windows(TenantSettings::default());
        // Wed 2026-11-25 10:00 JST.
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        let record = ivr.record();
        let chose = |pressed: &str| ivr.on_window(&keys(pressed), 1);
        let morning = chose("1");
        assert_eq!(
            morning.effect,
            Effect::Window(Some(Occurrence {
                start: at("2026-11-25T00:00:00Z"),
                end: at("2026-11-25T03:00:00Z"),
            }))
        );
        assert_eq!(morning.twiml, record);
        assert_eq!(
            chose("2").effect,
            Effect::Window(Some(Occurrence {
                start: at("2026-11-25T04:00:00Z"),
                end: at("2026-11-25T08:00:00Z"),
            }))
        );
        let asap = chose("0");
        assert_eq!(asap.effect, Effect::Window(None));
        assert_eq!(asap.twiml, record);
        // 11:40 JST: the morning has less than 30 minutes left: tomorrow's.
        let late = Ivr::new(
            &settings,
            &TestLinks,
            known(),
            ctx(),
            at("2026-11-25T02:40:00Z"),
        );
        assert_eq!(
            late.on_window(&keys("1"), 1).effect,
            Effect::Window(Some(Occurrence {
                start: at("2026-11-26T00:00:00Z"),
                end: at("2026-11-26T03:00:00Z"),
            }))
        );
    }

    #[test]
    fn an_unclear_choice_is_asked_again_then_as_soon_as_possible() {
        let settings = with_windows(TenantSettings::for_language(Language::EnUs));
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        for unclear in ["3", "", "12", "#"] {
            let again = ivr.on_window(&keys(unclear), 1);
            assert_eq!(again.effect, Effect::None, "{unclear:?}");
            assert_eq!(
                again.twiml.render(),
                format!(
                    "{HEAD}{}{}{}</Response>",
                    r#"<Say voice="Polly.Joanna" language="en-US">Sorry, we did not get that.</Say>"#,
                    r##"<Gather input="dtmf" action="https://t/window/overflow/2" method="POST" timeout="6" numDigits="1" finishOnKey="#"><Say voice="Polly.Joanna" language="en-US">For a call as soon as possible, press 0. For 9 am to 12 noon, press 1. For 1 pm to 5 pm, press 2.</Say></Gather>"##,
                    r#"<Redirect method="POST">https://t/window/overflow/2</Redirect>"#
                ),
                "{unclear:?}"
            );
        }
        // The last try: no window, and on to the request.
        let last = ivr.on_window(&keys("9"), 3);
        assert_eq!(last.effect, Effect::None);
        assert_eq!(last.twiml, ivr.invalid().extend(ivr.record()));
    }

    fn speaking(language: Language) -> TenantSettings {
        TenantSettings {
            number_entry: speech::NumberEntry::DtmfSpeech,
            ..TenantSettings::for_language(language)
        }
    }

    #[test]
    fn with_speech_every_question_listens_and_entry_invites_saying_it() {
        let settings = speaking(Language::JaJp);
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
        let start = ivr.start(false, None).render();
        assert!(
            start.contains(concat!(
                r##"<Gather input="dtmf speech" action="https://t/enter/overflow/1" method="POST" timeout="10" finishOnKey="#" language="ja-JP" speechModel="phone_call" speechTimeout="3">"##,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">折り返し先の電話番号を、市外局番からボタンで入力するか、お話しください。ボタンの場合は、最後にシャープを押してください。</Say></Gather>"#
            )),
            "{start}"
        );
        let heard = ivr.on_entry(&Answer::Speech("ゼロサンの1234の５６７８".into()), 1);
        assert_eq!(heard.effect, Effect::None);
        assert!(heard.twiml.render().contains(concat!(
            r##"<Gather input="dtmf speech" action="https://t/confirm/overflow/1/0312345678" method="POST" timeout="6" numDigits="1" finishOnKey="#" language="ja-JP" speechModel="phone_call" speechTimeout="2">"##,
            r#"<Say voice="Polly.Mizuki" language="ja-JP">入力された番号は ゼロサン、イチニーサンヨン、ゴーロクナナハチ です。"#
        )));
        let english = speaking(Language::EnUs);
        let ivr = Ivr::new(&english, &TestLinks, known(), ctx(), now());
        assert!(ivr.start(false, None).render().contains(
            r##"numDigits="1" finishOnKey="#" language="en-US" speechModel="phone_call" speechTimeout="2">"##
        ));
    }

    #[test]
    fn a_spoken_number_is_confirmed_like_a_typed_one() {
        let settings = speaking(Language::JaJp);
        let ivr = Ivr::new(&settings, &TestLinks, CallerId::Withheld, ctx(), now());
        let said = |s: &str| Answer::Speech(s.into());
        // Not a number: asked again, as a bad typed one is.
        let refused = ivr.on_entry(&said("わかりません"), 1);
        assert_eq!(refused.twiml, ivr.on_entry(&keys("123"), 1).twiml);
        assert!(
            refused
                .twiml
                .render()
                .contains("https://t/enter/overflow/2")
        );
        // はい and いいえ are 1 and 2 at the read-back.
        let yes = ivr.on_confirm("0312345678", &said("はい。"), 1);
        assert_eq!(
            yes.effect,
            Effect::Confirm {
                number: E164::parse("+81312345678", Region::JP).unwrap(),
                how: Confirmation::Entered
            }
        );
        let no = ivr.on_confirm("0312345678", &said("いいえ"), 1);
        assert_eq!(no.twiml, ivr.on_confirm("0312345678", &keys("2"), 1).twiml);
        let unclear = ivr.on_confirm("0312345678", &said("そうです"), 1);
        assert_eq!(
            unclear.twiml,
            ivr.on_confirm("0312345678", &keys("5"), 1).twiml
        );
        // And at the caller-ID offer.
        let offered = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        assert!(matches!(
            offered.on_offer(&said("はい"), 1).effect,
            Effect::Confirm {
                how: Confirmation::CallerId,
                ..
            }
        ));
        let english = speaking(Language::EnUs);
        let offered = Ivr::new(&english, &TestLinks, known(), ctx(), now());
        assert_eq!(
            offered.on_offer(&said("No."), 1).twiml,
            offered.on_offer(&keys("2"), 1).twiml
        );
    }

    #[test]
    fn speech_counts_only_where_the_tenant_takes_it() {
        let settings = TenantSettings::default();
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        let said = Answer::Speech("はい".into());
        assert_eq!(ivr.on_offer(&said, 1), ivr.on_offer(&keys(""), 1));
        assert_eq!(
            ivr.on_entry(&Answer::Speech("0312345678".into()), 1),
            ivr.on_entry(&keys(""), 1)
        );
    }

    #[test]
    fn a_window_is_chosen_by_its_digit_said_but_not_by_yes() {
        let settings = with_windows(speaking(Language::JaJp));
        let ivr = Ivr::new(&settings, &TestLinks, known(), ctx(), now());
        let said = |s: &str| ivr.on_window(&Answer::Speech(s.into()), 1);
        assert_eq!(said("ニー").effect, ivr.on_window(&keys("2"), 1).effect);
        assert_eq!(said("ゼロ").effect, Effect::Window(None));
        assert_eq!(said("はい"), ivr.on_window(&keys(""), 1));
        assert!(ivr.on_offer(&keys("1"), 1).twiml.render().contains(
            r##"action="https://t/window/overflow/1" method="POST" timeout="6" numDigits="1" finishOnKey="#" language="ja-JP" speechModel="phone_call" speechTimeout="2">"##
        ));
    }

    #[test]
    fn without_announcing_no_time_is_said() {
        let quiet = TenantSettings {
            announce_due: false,
            ..TenantSettings::default()
        };
        let due = Due::at("2026-11-25T05:00:00Z".parse().unwrap());
        assert!(after_recording(&quiet, Some(&due), now()).render().contains(
            ">ありがとうございました。担当者より折り返しお電話いたします。失礼いたします。</Say><Hangup/>"
        ));
        let mut english = english();
        english.announce_due = false;
        assert!(
            after_recording(&english, Some(&due), now())
                .render()
                .contains(">Thank you. We will call you back. Goodbye.</Say><Hangup/>")
        );
        english.prompts.insert(
            PromptKey::RepeatCaller,
            "We have your request and will call {number} {due}. Add to it after the tone.".into(),
        );
        let repeat = Ivr::new(&english, &TestLinks, known(), ctx(), now())
            .start(true, Some(due))
            .render();
        assert!(
            repeat.contains(">We have your request and will call 0 3, 1 2 3 4, 5 6 7 8. Add to it after the tone.</Say><Record "),
            "{repeat}"
        );
    }

    #[test]
    fn a_repeat_caller_hears_the_window_of_the_record_it_joined() {
        let mut settings = with_windows(TenantSettings::default());
        settings.prompts.insert(
            PromptKey::RepeatCaller,
            "{number} に{due}お電話いたします。".into(),
        );
        let due = Due {
            at: at("2026-11-26T08:00:00Z"),
            window: Some(Occurrence {
                start: at("2026-11-26T04:00:00Z"),
                end: at("2026-11-26T08:00:00Z"),
            }),
        };
        let repeat = Ivr::new(&settings, &TestLinks, known(), ctx(), now())
            .start(true, Some(due))
            .render();
        assert!(
            repeat.contains(
                ">ゼロサン、イチニーサンヨン、ゴーロクナナハチ に明日の午後1時から5時の間にお電話いたします。</Say><Record "
            ),
            "{repeat}"
        );
        assert!(!repeat.contains("Gather"));
    }
}
