//! What can go wrong talking to Twilio, and Twilio's own error body.
//! Messages never hold the auth token, a URL (it names the account) or a
//! whole phone number.

use crate::domain::phone::mask;

#[derive(Debug, thiserror::Error)]
pub enum TwilioApiError {
    #[error("the Twilio API base {0:?} is not a URL")]
    Base(String),
    /// Only the tenant's own recording, under the API base, is ever fetched.
    #[error("not the media URL of recording {sid} in the tenant's account under {base}")]
    NotTheRecording { base: String, sid: String },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The URL is left out: it holds the account SID.
    #[error("request to Twilio failed")]
    Transport(#[source] reqwest::Error),
    /// Twilio's error body, when it sent one, is the source: it is shown
    /// wherever the failure is.
    #[error("Twilio answered {status} for {what}")]
    Status {
        status: u16,
        what: &'static str,
        #[source]
        twilio: Option<TwilioErrorBody>,
    },
    #[error("the recording is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("Twilio's answer for {what} is larger than {limit} bytes")]
    AnswerTooLarge { what: &'static str, limit: u64 },
    #[error("Twilio's answer for {what} is not what afureko expects: {reason}")]
    Unexpected { what: &'static str, reason: String },
    /// Pages are only read from the same list, under the API base.
    #[error("a next_page_uri that leaves the recordings list under {base}")]
    PageElsewhere { base: String },
    #[error("a next_page_uri that leads back to a page already read")]
    PageLoop,
    #[error("cannot write the download")]
    Write(#[source] std::io::Error),
}

impl TwilioApiError {
    /// Twilio's error body, when Twilio refused with one (e.g. code 21614
    /// for an SMS to a landline).
    pub fn twilio(&self) -> Option<&TwilioErrorBody> {
        match self {
            TwilioApiError::Status { twilio, .. } => twilio.as_ref(),
            _ => None,
        }
    }
}

/// Twilio's JSON error body, e.g. `{"code": 21614, "message": "...",
/// "more_info": "https://www.twilio.com/docs/errors/21614", "status": 400}`,
/// read leniently. Numbers in the message are masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct TwilioErrorBody {
    pub code: Option<u32>,
    pub message: Option<String>,
    pub more_info: Option<String>,
    /// The body's `status`, else the answer's.
    pub status: u16,
}

/// Longer texts from Twilio are cut: they end up in records and logs.
const MAX_TEXT_CHARS: usize = 300;

impl TwilioErrorBody {
    /// `None` unless `body` is a JSON object with a code or a message.
    pub(super) fn parse(body: &[u8], status: u16) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let text = |name: &str| {
            object
                .get(name)
                .and_then(|v| v.as_str())
                .map(|s| mask_numbers(&s.chars().take(MAX_TEXT_CHARS).collect::<String>()))
                .filter(|s| !s.is_empty())
        };
        let number = |name: &str| {
            object.get(name).and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        };
        let body = TwilioErrorBody {
            code: number("code").and_then(|n| u32::try_from(n).ok()),
            message: text("message"),
            more_info: text("more_info"),
            status: number("status")
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(status),
        };
        (body.code.is_some() || body.message.is_some()).then_some(body)
    }

    /// `error 21614: The 'To' number ... (https://www.twilio.com/docs/errors/21614)`
    fn describe(&self) -> String {
        let mut text = match self.code {
            Some(code) => format!("error {code}"),
            None => "error".to_owned(),
        };
        if let Some(message) = &self.message {
            text.push_str(": ");
            text.push_str(message);
        }
        if let Some(more_info) = &self.more_info {
            text.push_str(&format!(" ({more_info})"));
        }
        text
    }
}

/// Masks every run of 7 or more digits (with its `+`) as logs mask phone
/// numbers: Twilio's messages quote the numbers they refuse.
pub(super) fn mask_numbers(text: &str) -> String {
    fn flush(run: &mut String, out: &mut String) {
        if run.bytes().filter(u8::is_ascii_digit).count() >= 7 {
            out.push_str(&mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    }
    let (mut out, mut run) = (String::with_capacity(text.len()), String::new());
    for c in text.chars() {
        if c == '+' {
            flush(&mut run, &mut out);
            run.push(c);
        } else if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_error_body_is_read_leniently() {
        let body = br#"{"code": 21614, "message": "'To' number +81312345678 is not a valid mobile number", "more_info": "https://www.twilio.com/docs/errors/21614", "status": 400, "details": {}}"#;
        let parsed = TwilioErrorBody::parse(body, 400).unwrap();
        assert_eq!(
            parsed,
            TwilioErrorBody {
                code: Some(21614),
                message: Some("'To' number +81*****5678 is not a valid mobile number".into()),
                more_info: Some("https://www.twilio.com/docs/errors/21614".into()),
                status: 400,
            }
        );
        assert_eq!(
            parsed.to_string(),
            "error 21614: 'To' number +81*****5678 is not a valid mobile number (https://www.twilio.com/docs/errors/21614)"
        );

        let odd = TwilioErrorBody::parse(br#"{"code": "20003", "message": null}"#, 401).unwrap();
        assert_eq!(
            (odd.code, odd.message.as_deref(), odd.status),
            (Some(20003), None, 401)
        );
        assert_eq!(odd.to_string(), "error 20003");
        let message_only = TwilioErrorBody::parse(br#"{"message": "Authenticate"}"#, 401);
        assert_eq!(message_only.unwrap().to_string(), "error: Authenticate");

        for not_twilios in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"",
            b"[1, 2]",
            b"{}",
            br#"{"code": -1, "message": 5}"#,
            br#"{"code": 99999999999}"#,
        ] {
            assert_eq!(TwilioErrorBody::parse(not_twilios, 500), None);
        }
        let long = format!(r#"{{"message": "{}"}}"#, "x".repeat(1_000));
        let cut = TwilioErrorBody::parse(long.as_bytes(), 500).unwrap();
        assert_eq!(cut.message.unwrap().len(), MAX_TEXT_CHARS);
    }

    #[test]
    fn numbers_are_masked_and_codes_kept() {
        assert_eq!(
            mask_numbers("To +81312345678, From 0312345678, code 21614, +1 555"),
            "To +81*****5678, From 031***5678, code 21614, +1 555"
        );
        assert_eq!(mask_numbers("1234567"), "*******");
        assert_eq!(mask_numbers("+"), "+");
        assert_eq!(mask_numbers("電話 +81312345678。"), "電話 +81*****5678。");
    }
}
