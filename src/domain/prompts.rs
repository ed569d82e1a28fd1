//! What callers hear: a Japanese and an English set, every text overridable
//! per tenant. `{number}` in a text is replaced by the number read back,
//! `{due}` by when the callback comes (「本日15時30分までに」, "by 3:30 pm
//! today").

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Language {
    #[default]
    #[serde(rename = "ja-JP")]
    JaJp,
    #[serde(rename = "en-US")]
    EnUs,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::JaJp, Language::EnUs];
    /// The codes of `ALL`, as serde writes them.
    pub const CODES: [&'static str; 2] = [Self::ALL[0].code(), Self::ALL[1].code()];

    pub const fn code(self) -> &'static str {
        match self {
            Language::JaJp => "ja-JP",
            Language::EnUs => "en-US",
        }
    }

    pub fn default_voice(self) -> &'static str {
        match self {
            Language::JaJp => "Polly.Mizuki",
            Language::EnUs => "Polly.Joanna",
        }
    }

    /// Voices Twilio's `<Say>` accepts for this language; a mismatch makes
    /// Say fail on the call, so it is refused when the tenant is saved.
    pub fn accepts_voice(self, voice: &str) -> bool {
        match self {
            Language::JaJp => {
                matches!(
                    voice,
                    "Polly.Mizuki"
                        | "Polly.Takumi"
                        | "Polly.Takumi-Neural"
                        | "Polly.Kazuha-Neural"
                        | "Polly.Tomoko-Neural"
                ) || voice.starts_with("Google.ja-JP-")
            }
            Language::EnUs => {
                matches!(
                    voice,
                    "man"
                        | "woman"
                        | "Polly.Joanna"
                        | "Polly.Joanna-Neural"
                        | "Polly.Matthew"
                        | "Polly.Matthew-Neural"
                        | "Polly.Salli"
                        | "Polly.Salli-Neural"
                        | "Polly.Joey"
                        | "Polly.Joey-Neural"
                        | "Polly.Kendra"
                        | "Polly.Kendra-Neural"
                        | "Polly.Kimberly"
                        | "Polly.Kimberly-Neural"
                        | "Polly.Ivy"
                        | "Polly.Ivy-Neural"
                        | "Polly.Justin"
                        | "Polly.Justin-Neural"
                        | "Polly.Kevin-Neural"
                        | "Polly.Ruth-Neural"
                        | "Polly.Stephen-Neural"
                ) || voice.starts_with("Google.en-US-")
            }
        }
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ja-JP" | "ja" => Ok(Language::JaJp),
            "en-US" | "en" => Ok(Language::EnUs),
            other => Err(format!(
                "unknown language {other:?} (expected ja-JP or en-US)"
            )),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Every text the IVR says, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKey {
    Greeting,
    AfterHoursGreeting,
    OfferCallerId,
    EnterNumber,
    ConfirmNumber,
    InvalidInput,
    RecordRequest,
    Thanks,
    GoodbyeCallerId,
    GoodbyeNoNumber,
    RepeatCaller,
    QueueHold,
    QueueOffer,
    /// Number entry when the number may be said too.
    EnterNumberSpeech,
    /// The callback window choice; by default made from the windows.
    WindowChoice,
    /// Not said but sent: the caller's SMS confirmation (`domain::notify::sms`).
    SmsConfirmation,
    /// The record-only flow's greeting: afureko is down or slow.
    FallbackGreeting,
}

impl PromptKey {
    pub const ALL: [PromptKey; 17] = [
        PromptKey::Greeting,
        PromptKey::AfterHoursGreeting,
        PromptKey::OfferCallerId,
        PromptKey::EnterNumber,
        PromptKey::ConfirmNumber,
        PromptKey::InvalidInput,
        PromptKey::RecordRequest,
        PromptKey::Thanks,
        PromptKey::GoodbyeCallerId,
        PromptKey::GoodbyeNoNumber,
        PromptKey::RepeatCaller,
        PromptKey::QueueHold,
        PromptKey::QueueOffer,
        PromptKey::EnterNumberSpeech,
        PromptKey::WindowChoice,
        PromptKey::SmsConfirmation,
        PromptKey::FallbackGreeting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PromptKey::Greeting => "greeting",
            PromptKey::AfterHoursGreeting => "after_hours_greeting",
            PromptKey::OfferCallerId => "offer_caller_id",
            PromptKey::EnterNumber => "enter_number",
            PromptKey::ConfirmNumber => "confirm_number",
            PromptKey::InvalidInput => "invalid_input",
            PromptKey::RecordRequest => "record_request",
            PromptKey::Thanks => "thanks",
            PromptKey::GoodbyeCallerId => "goodbye_caller_id",
            PromptKey::GoodbyeNoNumber => "goodbye_no_number",
            PromptKey::RepeatCaller => "repeat_caller",
            PromptKey::QueueHold => "queue_hold",
            PromptKey::QueueOffer => "queue_offer",
            PromptKey::EnterNumberSpeech => "enter_number_speech",
            PromptKey::WindowChoice => "window_choice",
            PromptKey::SmsConfirmation => "sms_confirmation",
            PromptKey::FallbackGreeting => "fallback_greeting",
        }
    }

    /// Whether the text must contain `{number}`.
    pub fn takes_number(self) -> bool {
        matches!(
            self,
            PromptKey::OfferCallerId | PromptKey::ConfirmNumber | PromptKey::RepeatCaller
        )
    }

    /// Whether the text may contain `{due}`: the prompts said once the
    /// record's due time is known.
    pub fn takes_due(self) -> bool {
        matches!(
            self,
            PromptKey::Thanks
                | PromptKey::RepeatCaller
                | PromptKey::AfterHoursGreeting
                | PromptKey::SmsConfirmation
        )
    }

    /// The language's text. `WindowChoice`'s is the choice without any
    /// window: the IVR adds each of the tenant's windows to it.
    pub fn default_text(self, language: Language) -> &'static str {
        match language {
            Language::JaJp => match self {
                PromptKey::Greeting => {
                    "お電話ありがとうございます。ただいま電話が大変混み合っております。担当者より折り返しお電話いたしますので、ご用件をお伺いします。"
                }
                PromptKey::AfterHoursGreeting => {
                    "お電話ありがとうございます。ただいま営業時間外です。営業時間になりましたら担当者より折り返しお電話いたしますので、ご用件をお伺いします。"
                }
                PromptKey::OfferCallerId => {
                    "おかけの電話番号、{number} に折り返してよろしければ 1 を、別の番号をご希望の場合は 2 を押してください。"
                }
                PromptKey::EnterNumber => {
                    "折り返し先の電話番号を市外局番から入力し、最後にシャープを押してください。"
                }
                PromptKey::ConfirmNumber => {
                    "入力された番号は {number} です。よろしければ 1 を、入力し直す場合は 2 を押してください。"
                }
                PromptKey::InvalidInput => "入力を確認できませんでした。",
                PromptKey::RecordRequest => {
                    "発信音のあとにご用件をお話しください。終わりましたらシャープを押すか、電話をお切りください。"
                }
                PromptKey::Thanks => {
                    "ありがとうございました。担当者より{due}折り返しお電話いたします。失礼いたします。"
                }
                PromptKey::GoodbyeCallerId => {
                    "入力を確認できませんでした。おかけの電話番号に折り返しお電話いたします。失礼いたします。"
                }
                PromptKey::GoodbyeNoNumber => {
                    "入力を確認できませんでした。お手数ですが、もう一度おかけ直しください。失礼いたします。"
                }
                PromptKey::RepeatCaller => {
                    "先ほどのご用件は承っております。{number} に折り返しお電話いたします。追加のご用件があれば、発信音のあとにお話しください。"
                }
                PromptKey::QueueHold => {
                    "ただいま電話が混み合っております。このままお待ちください。"
                }
                PromptKey::QueueOffer => {
                    "折り返しのお電話をご希望の場合は 1 を押してください。お待ちいただいた順番はそのまま保たれます。"
                }
                // One SMS segment (70 characters in Japanese) with `{due}`.
                PromptKey::SmsConfirmation => {
                    "お電話ありがとうございました。ご依頼を承りました。{due}折り返しお電話します。このSMSへの返信は受け付けていません。"
                }
                PromptKey::EnterNumberSpeech => {
                    "折り返し先の電話番号を、市外局番からボタンで入力するか、お話しください。ボタンの場合は、最後にシャープを押してください。"
                }
                PromptKey::WindowChoice => "できるだけ早くをご希望の方は0を押してください。",
                PromptKey::FallbackGreeting => {
                    "お電話ありがとうございます。申し訳ございません、ただいまシステムが混み合っております。発信音のあとに、お名前と折り返し先のお電話番号、ご用件をお話しください。終わりましたらシャープを押すか、電話をお切りください。"
                }
            },
            Language::EnUs => match self {
                PromptKey::Greeting => {
                    "Thank you for calling. All of our agents are busy right now. We will call you back, so please leave us your request."
                }
                PromptKey::AfterHoursGreeting => {
                    "Thank you for calling. We are closed right now. We will call you back when we open, so please leave us your request."
                }
                PromptKey::OfferCallerId => {
                    "To be called back at {number}, press 1. To give another number, press 2."
                }
                PromptKey::EnterNumber => {
                    "Please enter the number we should call back, with its area code, then press the pound key."
                }
                PromptKey::ConfirmNumber => {
                    "You entered {number}. If that is right, press 1. To enter it again, press 2."
                }
                PromptKey::InvalidInput => "Sorry, we did not get that.",
                PromptKey::RecordRequest => {
                    "After the tone, please tell us what you are calling about. When you are done, press the pound key or hang up."
                }
                PromptKey::Thanks => "Thank you. We will call you back {due}. Goodbye.",
                PromptKey::GoodbyeCallerId => {
                    "Sorry, we did not get that. We will call you back at the number you are calling from. Goodbye."
                }
                PromptKey::GoodbyeNoNumber => {
                    "Sorry, we did not get that. Please call us again. Goodbye."
                }
                PromptKey::RepeatCaller => {
                    "We still have your earlier request and will call you back at {number}. After the tone, you can add to it."
                }
                PromptKey::QueueHold => "All of our agents are busy. Please stay on the line.",
                PromptKey::QueueOffer => {
                    "To be called back instead, press 1. You keep your place in line."
                }
                PromptKey::SmsConfirmation => {
                    "Thank you for calling. We have your request and will call you back {due}. Replies to this message are not read."
                }
                PromptKey::EnterNumberSpeech => {
                    "Please say or enter the number we should call back, with its area code. If you type it, press the pound key at the end."
                }
                PromptKey::WindowChoice => "For a call as soon as possible, press 0.",
                PromptKey::FallbackGreeting => {
                    "Thank you for calling. We are sorry: our system is busy right now. After the tone, please leave your name, the number to call you back on and your request. When you are done, press the pound key or hang up."
                }
            },
        }
    }
}

impl FromStr for PromptKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PromptKey::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = PromptKey::ALL.iter().map(|k| k.name()).collect();
                format!("unknown prompt {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// A tenant's own texts, for the tenant's language.
pub type PromptOverrides = BTreeMap<PromptKey, String>;

/// The text to say for `key`: the tenant's override or the language default.
pub fn prompt_text(overrides: &PromptOverrides, language: Language, key: PromptKey) -> &str {
    overrides
        .get(&key)
        .map(String::as_str)
        .unwrap_or_else(|| key.default_text(language))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_that_needs_the_number_has_it() {
        for language in [Language::JaJp, Language::EnUs] {
            for key in PromptKey::ALL {
                let text = key.default_text(language);
                assert!(!text.is_empty());
                assert_eq!(text.contains("{number}"), key.takes_number(), "{key:?}");
                // Only the thanks and the SMS say it by default; the others may.
                let says_due = matches!(key, PromptKey::Thanks | PromptKey::SmsConfirmation);
                assert_eq!(text.contains("{due}"), says_due, "{key:?}");
                assert!(!text.contains("{due}") || key.takes_due(), "{key:?}");
            }
        }
    }

    #[test]
    fn overrides_win() {
        let mut overrides = PromptOverrides::new();
        overrides.insert(PromptKey::Thanks, "Bye".into());
        assert_eq!(
            prompt_text(&overrides, Language::EnUs, PromptKey::Thanks),
            "Bye"
        );
        assert_eq!(
            prompt_text(&overrides, Language::EnUs, PromptKey::Greeting),
            PromptKey::Greeting.default_text(Language::EnUs)
        );
        assert_eq!("thanks".parse::<PromptKey>(), Ok(PromptKey::Thanks));
        assert!(
            "nope"
                .parse::<PromptKey>()
                .unwrap_err()
                .contains("greeting")
        );
    }

    #[test]
    fn voices_must_match_the_language() {
        assert!(Language::JaJp.accepts_voice("Polly.Takumi-Neural"));
        assert!(Language::JaJp.accepts_voice("Google.ja-JP-Wavenet-B"));
        assert!(!Language::JaJp.accepts_voice("Polly.Joanna"));
        assert!(Language::EnUs.accepts_voice(Language::EnUs.default_voice()));
        assert!(Language::JaJp.accepts_voice(Language::JaJp.default_voice()));
    }
}
