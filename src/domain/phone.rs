//! Phone numbers: E.164 normalisation, withheld caller IDs, read-back, masking.

use super::jp_numbers;
use phonenumber::{Mode, country};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A two-letter region (ISO 3166-1) used to read numbers typed without a
/// country code, e.g. `JP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(country::Id);

impl Region {
    pub const JP: Region = Region(country::Id::JP);

    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        country::Id::from_str(&input.to_ascii_uppercase())
            .map(Region)
            .map_err(|_| PhoneError::Region(input.to_owned()))
    }
}

impl TryFrom<String> for Region {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, PhoneError> {
        Self::parse(&value)
    }
}

impl From<Region> for String {
    fn from(value: Region) -> String {
        value.to_string()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("unknown region {0:?} (expected a two-letter country code such as JP)")]
    Region(String),
    #[error("not a valid phone number")]
    Invalid,
}

/// A valid phone number in E.164 form, e.g. `+81312345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses a number as a caller or agent would write it; numbers without a
    /// country code are read in `region`.
    pub fn parse(input: &str, region: Region) -> Result<Self, PhoneError> {
        let input = input.trim();
        // Twilio's `From` for a Japanese caller: no need for the library.
        if jp_numbers::national_number(input).is_some() {
            return Ok(E164(input.to_owned()));
        }
        Self::parse_with_library(input, region)
    }

    fn parse_with_library(input: &str, region: Region) -> Result<Self, PhoneError> {
        let number = phonenumber::parse(Some(region.0), input).map_err(|_| PhoneError::Invalid)?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        Ok(E164(number.format().mode(Mode::E164).to_string()))
    }

    /// Parses keypad input: digits only, as the caller typed them.
    pub fn from_keypad(digits: &str, region: Region) -> Result<Self, PhoneError> {
        if digits.len() < 2 || digits.len() > 17 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Invalid);
        }
        Self::parse(digits, region)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits a caller in `region` would say: the national form for a
    /// number of that region (`+81312345678` → `0 3 1 2 3 4 5 6 7 8` in JP),
    /// the international form with its `+` otherwise.
    pub fn spoken_digits(&self, region: Region) -> String {
        let national = match jp_numbers::national_number(&self.0) {
            // Japan's national form is always the trunk prefix 0 and the
            // national number (a test holds this against the library).
            Some(number) if region == Region::JP => Some(format!("0{number}")),
            _ => self.national_with_library(region),
        };
        let text = national.unwrap_or_else(|| self.0.clone());
        let symbols: Vec<String> = text
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .map(String::from)
            .collect();
        symbols.join(" ")
    }

    /// The national form, when the number is of `region`.
    fn national_with_library(&self, region: Region) -> Option<String> {
        phonenumber::parse(None, &self.0).ok().and_then(|n| {
            (n.country().id() == Some(region.0))
                .then(|| n.format().mode(Mode::National).to_string())
        })
    }

    /// For logs: country code and the last four digits only.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, PhoneError> {
        // Stored values are already E.164; parse again so a bad item is caught.
        if jp_numbers::national_number(&value).is_some() {
            return Ok(E164(value));
        }
        let parsed = phonenumber::parse(None, &value).map_err(|_| PhoneError::Invalid)?;
        let formatted = parsed.format().mode(Mode::E164).to_string();
        if formatted == value {
            Ok(E164(value))
        } else {
            Err(PhoneError::Invalid)
        }
    }
}

impl From<E164> for String {
    fn from(value: E164) -> String {
        value.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Numbers read back from a record: each was checked in full when it was
/// first parsed, so a read checks only the E.164 shape (`+`, then 2 to 15
/// digits, the first not 0). The full check is regex work, and a list page
/// reads a hundred numbers.
pub mod stored {
    use super::E164;
    use serde::{Deserialize, Deserializer, de::Error};

    fn shaped(value: String) -> Result<E164, String> {
        let digits = value.strip_prefix('+').unwrap_or_default();
        let shaped = (2..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if shaped {
            Ok(E164(value))
        } else {
            Err(format!(
                "a stored number is not in E.164 form ({})",
                super::mask(&value)
            ))
        }
    }

    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<E164, D::Error> {
        shaped(String::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<E164>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(shaped)
            .transpose()
            .map_err(D::Error::custom)
    }
}

/// Loads the numbering metadata, which the crate reads lazily: without this
/// the first call pays for it (hundreds of milliseconds).
pub fn warm_up() {
    warm_up_japanese();
    let _ = E164::parse_with_library("+81312345678", Region::JP);
}

/// Compiles only the patterns of Japanese E.164 numbers (a few
/// milliseconds): Lambda's init does this and leaves the library's database
/// to the first number the fast path cannot decide.
pub fn warm_up_japanese() {
    jp_numbers::warm_up();
}

/// Masks anything number-like for logs: keeps the first three and the last
/// four characters when the value is long enough to hide something.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// What Twilio's `From` tells us about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerId {
    Known(E164),
    /// Withheld, unknown, or not a phone number (SIP, client): ask for one.
    Withheld,
}

/// The `From` values Twilio uses for withheld numbers: anonymous, unknown,
/// restricted, blocked, unavailable (keypad spellings of those words).
const WITHHELD_NUMBERS: &[&str] = &[
    "+266696687",
    "+86282452253",
    "+7378742833",
    "+2562533",
    "+8656696",
];

impl CallerId {
    pub fn from_twilio(from: &str, region: Region) -> CallerId {
        let from = from.trim();
        let lowered = from.to_ascii_lowercase();
        let withheld_word = matches!(
            lowered.as_str(),
            "" | "anonymous" | "unknown" | "restricted" | "blocked" | "private" | "unavailable"
        );
        if withheld_word || WITHHELD_NUMBERS.contains(&from) || !from.starts_with('+') {
            return CallerId::Withheld;
        }
        E164::parse(from, region)
            .map(CallerId::Known)
            .unwrap_or(CallerId::Withheld)
    }

    pub fn number(&self) -> Option<&E164> {
        match self {
            CallerId::Known(n) => Some(n),
            CallerId::Withheld => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_e164() {
        let jp = Region::JP;
        assert_eq!(
            E164::parse("03-1234-5678", jp).unwrap().as_str(),
            "+81312345678"
        );
        assert_eq!(
            E164::parse("+81 3 1234 5678", jp).unwrap().as_str(),
            "+81312345678"
        );
        assert_eq!(
            E164::parse("090 1234 5678", jp).unwrap().as_str(),
            "+819012345678"
        );
        assert_eq!(
            E164::parse("+1 415 867 5309", jp).unwrap().as_str(),
            "+14158675309"
        );
        assert_eq!(E164::parse("12", jp), Err(PhoneError::Invalid));
        assert_eq!(E164::parse("hello", jp), Err(PhoneError::Invalid));
    }

    #[test]
    fn keypad_takes_digits_only() {
        let jp = Region::JP;
        assert_eq!(
            E164::from_keypad("0312345678", jp).unwrap().as_str(),
            "+81312345678"
        );
        assert_eq!(E164::from_keypad("03*1234", jp), Err(PhoneError::Invalid));
        assert_eq!(E164::from_keypad("", jp), Err(PhoneError::Invalid));
        assert_eq!(
            E164::from_keypad("0000000000", jp),
            Err(PhoneError::Invalid)
        );
    }

    #[test]
    fn reads_back_as_a_person_would_hear_it() {
        let jp = Region::JP;
        let tokyo = E164::parse("+81312345678", jp).unwrap();
        assert_eq!(tokyo.spoken_digits(jp), "0 3 1 2 3 4 5 6 7 8");
        let mobile = E164::parse("+819012345678", jp).unwrap();
        assert_eq!(mobile.spoken_digits(jp), "0 9 0 1 2 3 4 5 6 7 8");
        let us = E164::parse("+14158675309", jp).unwrap();
        assert_eq!(us.spoken_digits(jp), "+ 1 4 1 5 8 6 7 5 3 0 9");
        let us_region = Region::parse("us").unwrap();
        assert_eq!(us.spoken_digits(us_region), "4 1 5 8 6 7 5 3 0 9");
    }

    #[test]
    fn withheld_caller_ids() {
        let jp = Region::JP;
        for from in [
            "anonymous",
            "+266696687",
            "",
            "Restricted",
            "client:alice",
            "sip:a@b.c",
        ] {
            assert_eq!(
                CallerId::from_twilio(from, jp),
                CallerId::Withheld,
                "{from}"
            );
        }
        assert_eq!(
            CallerId::from_twilio("+81312345678", jp),
            CallerId::Known(E164::parse("+81312345678", jp).unwrap())
        );
    }

    /// Every example number of the metadata, and numbers of every
    /// two-digit prefix and length: valid or not, the fast path and the
    /// library agree, and so do their read-backs.
    #[test]
    fn the_japanese_fast_path_agrees_with_the_library() {
        let d = phonenumber::metadata::DATABASE
            .by_id("JP")
            .unwrap()
            .descriptors();
        let kinds = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let mut numbers: Vec<String> = kinds
            .into_iter()
            .flatten()
            .filter_map(|k| k.example())
            .map(|e| format!("+81{e}"))
            .collect();
        for prefix in 10..100 {
            for len in 4..=13 {
                for digits in ["98765432101234", "12345678901234", "20000000000000"] {
                    let tail: String = digits.chars().take(len - 2).collect();
                    numbers.push(format!("+81{prefix}{tail}"));
                }
            }
        }
        let mut valid = 0;
        for number in &numbers {
            let library = E164::parse_with_library(number, Region::JP).ok();
            let fast = jp_numbers::national_number(number);
            assert_eq!(fast.is_some(), library.is_some(), "{number}");
            if let Some(library) = library {
                valid += 1;
                assert_eq!(library.as_str(), number);
                let national = library.national_with_library(Region::JP).unwrap();
                let digits: String = national.chars().filter(char::is_ascii_digit).collect();
                assert_eq!(format!("0{}", fast.unwrap()), digits, "{number}");
            }
        }
        assert!(
            valid > 200,
            "only {valid} valid numbers: the sample is too thin"
        );
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(mask("+81312345678"), "+81*****5678");
        assert_eq!(mask("12345"), "*****");
    }

    #[test]
    fn stored_numbers_are_checked_for_their_shape_only() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(deserialize_with = "stored::number")]
            number: E164,
            #[serde(default, deserialize_with = "stored::optional")]
            caller: Option<E164>,
        }
        let row: Row =
            serde_json::from_str(r#"{"number": "+81312345678", "caller": null}"#).unwrap();
        assert_eq!((row.number.as_str(), row.caller), ("+81312345678", None));
        for bad in [
            "0312345678",
            "+0312345678",
            "+81-3-1234",
            "+1",
            "+1234567890123456",
            "",
        ] {
            let doc = format!(r#"{{"number": "{bad}"}}"#);
            let err = serde_json::from_str::<Row>(&doc)
                .err()
                .expect(bad)
                .to_string();
            assert!(
                err.starts_with("a stored number is not in E.164 form"),
                "{bad}: {err}"
            );
        }
        // The message masks the value: a stored number may be a real one.
        let doc = r#"{"number": "+81312345678x"}"#;
        let err = serde_json::from_str::<Row>(doc).err().unwrap().to_string();
        assert!(!err.contains("312345678"), "{err}");
    }

    #[test]
    fn stored_values_must_already_be_e164() {
        assert!(E164::try_from("+81312345678".to_owned()).is_ok());
        assert!(E164::try_from("0312345678".to_owned()).is_err());
        assert!(Region::parse("ZZ").is_err());
        assert_eq!(Region::parse("jp").unwrap().to_string(), "JP");
    }

    proptest::proptest! {
        #[test]
        fn any_input_parses_or_is_refused_and_numbers_round_trip(
            input in "[+0-9 ()-]{0,20}|.{0,20}",
        ) {
            for region in [Region::JP, Region::parse("US").unwrap()] {
                let _ = E164::from_keypad(&input, region);
                if let Ok(number) = E164::parse(&input, region) {
                    let again = E164::try_from(number.to_string());
                    proptest::prop_assert_eq!(again.as_ref(), Ok(&number));
                    let spoken = number.spoken_digits(region);
                    proptest::prop_assert!(spoken.chars().all(|c| c.is_ascii_digit() || c == '+' || c == ' '));
                    proptest::prop_assert!(number.masked().ends_with(&number.as_str()[number.as_str().len() - 4..]));
                }
                let _ = CallerId::from_twilio(&input, region);
            }
        }
    }
}
