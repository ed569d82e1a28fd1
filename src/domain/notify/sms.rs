//! The SMS confirmation to a caller: who it comes from (`sms_from`), who
//! gets one (mobile numbers only), and what it says (the `sms_confirmation`
//! prompt, `{due}` as the IVR says it).

use crate::domain::callback::CallbackRecord;
use crate::domain::due::Due;
use crate::domain::ids::MessagingServiceSid;
use crate::domain::phone::{E164, Region};
use crate::domain::prompts::PromptKey;
use crate::domain::tenant::TenantSettings;
use jiff::Timestamp;

/// Who an SMS comes from, as `sms_from` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSender {
    /// A number of the tenant's Twilio account (`From`).
    Number(E164),
    /// A Messaging Service, which picks the number (`MessagingServiceSid`).
    Service(MessagingServiceSid),
    /// An alphanumeric sender ID such as `ACME` (`From`), where the
    /// destination country allows one.
    Alphanumeric(String),
}

/// The longest alphanumeric sender ID carriers take.
const MAX_SENDER_ID: usize = 11;

impl SmsSender {
    /// `+` and an E.164 number, `MG` and 32 hex digits, or 1–11 letters,
    /// digits and spaces with at least one letter.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.starts_with('+') {
            return E164::parse(text, Region::JP).ok().map(SmsSender::Number);
        }
        if let Ok(sid) = MessagingServiceSid::parse(text) {
            return Some(SmsSender::Service(sid));
        }
        let alphanumeric = !text.is_empty()
            && text.chars().count() <= MAX_SENDER_ID
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
            && text.chars().any(|c| c.is_ascii_alphabetic());
        alphanumeric.then(|| SmsSender::Alphanumeric(text.to_owned()))
    }
}

/// Whether `number` can take an SMS: a Japanese mobile number (070, 080,
/// 090), elsewhere what the numbering metadata says is (or may be, as in
/// the US) a mobile line. Landlines, toll-free and the like get none.
pub fn is_mobile(number: &E164) -> bool {
    if let Some(national) = crate::domain::jp_numbers::national_number(number.as_str()) {
        return national.len() == 10 && ["70", "80", "90"].iter().any(|p| national.starts_with(p));
    }
    let Ok(parsed) = phonenumber::parse(None, number.as_str()) else {
        return false;
    };
    matches!(
        parsed.number_type(&phonenumber::metadata::DATABASE),
        phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
    )
}

/// After a recording: asks for the caller's confirmation when the tenant
/// sends them and the number can take one; once per record (a repeat
/// call's recording asks for none).
pub fn after_recording(record: &mut CallbackRecord, settings: &TenantSettings, now: Timestamp) {
    if settings.sms_confirmation && is_mobile(&record.callback_number) {
        record.request_sms(now);
    }
}

/// The text of a record's confirmation, due at `due` (in the window the
/// caller chose, if any), sent at `now`; `{due}` as the IVR said it.
pub fn text(settings: &TenantSettings, due: &Due, now: Timestamp) -> String {
    crate::domain::ivr::with_due(settings, PromptKey::SmsConfirmation, Some(due), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::prompts::Language;

    fn number(text: &str) -> E164 {
        E164::parse(text, Region::JP).unwrap()
    }

    #[test]
    fn mobiles_take_an_sms_landlines_do_not() {
        for mobile in ["+819012345678", "+818012345678", "+817012345678"] {
            assert!(is_mobile(&number(mobile)), "{mobile}");
        }
        for other in [
            "+81312345678",
            "+81452345678",
            "+81120123456",
            "+815012345678",
        ] {
            assert!(!is_mobile(&number(other)), "{other}");
        }
        // The US numbering plan does not tell mobiles apart: sent, and a
        // landline's refusal (21614) is kept on the record.
        assert!(is_mobile(&number("+14155552671")));
        assert!(!is_mobile(&number("+18002345678")), "toll-free");
        assert!(is_mobile(&number("+447400123456")), "a UK mobile");
        assert!(!is_mobile(&number("+442079460000")), "a London landline");
    }

    #[test]
    fn a_sender_is_a_number_a_service_or_an_id() {
        assert_eq!(
            SmsSender::parse("+15005550006"),
            Some(SmsSender::Number(number("+15005550006")))
        );
        assert!(matches!(
            SmsSender::parse("MG0123456789abcdef0123456789abcdef"),
            Some(SmsSender::Service(_))
        ));
        assert_eq!(
            SmsSender::parse(" ACME Co "),
            Some(SmsSender::Alphanumeric("ACME Co".into()))
        );
        for bad in [
            "",
            "12345",
            "ACME-Company",
            "TooLongSender",
            "+81",
            "アフレコ",
        ] {
            assert_eq!(SmsSender::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_text_says_by_when_in_the_tenants_language_and_that_replies_are_not_read() {
        let now: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
        let due = Due::at("2026-11-25T06:20:00Z".parse().unwrap());
        let ja = text(&TenantSettings::default(), &due, now);
        assert_eq!(
            ja,
            "お電話ありがとうございました。ご依頼を承りました。本日15時30分までに折り返しお電話します。このSMSへの返信は受け付けていません。"
        );
        let en = text(&TenantSettings::for_language(Language::EnUs), &due, now);
        assert_eq!(
            en,
            "Thank you for calling. We have your request and will call you back by 3:30 pm today. Replies to this message are not read."
        );
        let mut own = TenantSettings::default();
        own.prompts
            .insert(PromptKey::SmsConfirmation, "{due}お電話します".into());
        assert_eq!(text(&own, &due, now), "本日15時30分までにお電話します");
    }
}
