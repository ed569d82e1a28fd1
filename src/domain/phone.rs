//! Phone numbers: E.164 normalisation, withheld caller IDs, read-back, masking.

use super::jp_numbers;
use super::prompts::Language;
use phonenumber::{Mode, country};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write};
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

    /// The number as a caller in `region` writes it, in its groups: the
    /// national format for a number of `region` (`["03", "1234", "5678"]`),
    /// else the international one, the country code first with its `+`
    /// (`["+1", "415", "867", "5309"]`). The grouping is the numbering
    /// metadata's, which depends on the exchange, not only the area code.
    fn groups(&self, region: Region) -> Vec<String> {
        let Some(written) = self.written(region) else {
            return vec![self.0.clone()];
        };
        let mut groups: Vec<String> = written
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(first) = groups.first_mut().filter(|_| written.starts_with('+')) {
            first.insert(0, '+');
        }
        groups
    }

    /// The number read back as an operator reads it: digit by digit, in its
    /// groups, a pause between them. Japanese in the operators' readings
    /// (`ゼロサン、イチニーサンヨン、ゴーロクナナハチ`): a Japanese voice
    /// reads "1234" as a cardinal. English `0 3, 1 2 3 4, 5 6 7 8`.
    pub fn read_back(&self, region: Region, language: Language) -> String {
        let groups = self.groups(region);
        let (digit_sep, group_sep) = match language {
            Language::JaJp => ("", "、"),
            Language::EnUs => (" ", ", "),
        };
        let spoken: Vec<String> = groups
            .iter()
            .map(|group| {
                let words: Vec<&str> = group.chars().map(|c| say_symbol(c, language)).collect();
                words.join(digit_sep)
            })
            .collect();
        spoken.join(group_sep)
    }

    /// The number as a caller in `region` writes it: `03-1234-5678`, or
    /// `+1 415-867-5309` for another country's; `None` when the metadata
    /// has no format for it.
    fn written(&self, region: Region) -> Option<String> {
        match jp_numbers::national_number(&self.0) {
            // Japan's formats without the library's database; a number no
            // format fits is its trunk prefix and digits, as the library
            // would leave it (but with the prefix, so it reads back right).
            Some(national) if region == Region::JP => Some(
                jp_numbers::national_format(national).unwrap_or_else(|| format!("0{national}")),
            ),
            _ => self.format_with_library(region),
        }
    }

    /// The number as people in `region` read it, for agents: the national
    /// format for a number of `region` (`090-1111-2222`, `03-1234-5678`),
    /// the international one otherwise (`+1 415-867-5309`). The groups are
    /// the numbering metadata's.
    pub fn display(&self, region: Region) -> String {
        self.written(region).unwrap_or_else(|| self.0.clone())
    }

    /// `display` with the digits between its first and last group hidden
    /// (`090-****-2222`, `+1 ***-***-5309`); a number of fewer groups is
    /// masked as `masked` does.
    pub fn display_masked(&self, region: Region) -> String {
        let written = self.display(region);
        let groups = written
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .count();
        if groups < 3 {
            return self.masked();
        }
        let mut group = 0;
        let mut in_digits = false;
        written
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    if !in_digits {
                        group += 1;
                        in_digits = true;
                    }
                    if group > 1 && group < groups { '*' } else { c }
                } else {
                    in_digits = false;
                    c
                }
            })
            .collect()
    }

    /// The national format for a number of `region`, the international one
    /// otherwise.
    fn format_with_library(&self, region: Region) -> Option<String> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        let mode = if number.country().id() == Some(region.0) {
            Mode::National
        } else {
            Mode::International
        };
        // The formatter fails for a country without metadata: not a panic.
        let mut written = String::new();
        write!(written, "{}", number.format().mode(mode)).ok()?;
        Some(written)
    }

    /// The last `count` digits, read one by one (`ゴーロクナナハチ`,
    /// `5 6 7 8`): who a number is, without saying all of it.
    pub fn read_ending(&self, count: usize, language: Language) -> String {
        let digits: Vec<char> = self.0.chars().filter(char::is_ascii_digit).collect();
        let words: Vec<&str> = digits[digits.len().saturating_sub(count)..]
            .iter()
            .map(|&c| say_symbol(c, language))
            .collect();
        words.join(match language {
            Language::JaJp => "",
            Language::EnUs => " ",
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
/// the first call pays for it (hundreds of milliseconds), and compiles
/// Japan's national formats (about 10 ms), which a read-back otherwise
/// compiles as it needs them.
pub fn warm_up() {
    warm_up_japanese();
    jp_numbers::warm_up_formats();
    let _ = E164::parse_with_library("+81312345678", Region::JP);
}

/// Compiles only the patterns of Japanese E.164 numbers (a few
/// milliseconds): Lambda's init does this and leaves the library's database
/// to the first number the fast path cannot decide, and Japan's national
/// formats to the first read-back (a millisecond or two for the formats a
/// number tries).
pub fn warm_up_japanese() {
    jp_numbers::warm_up();
}

/// Japanese digits as operators read them: ニー and ゴー drawn out so that
/// one-mora 2 and 5 are not lost; ヨン and ナナ, not シ and シチ, which
/// sound alike; キュー, not ク.
const JAPANESE_DIGITS: [&str; 10] = [
    "ゼロ",
    "イチ",
    "ニー",
    "サン",
    "ヨン",
    "ゴー",
    "ロク",
    "ナナ",
    "ハチ",
    "キュー",
];
const ENGLISH_DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// A digit, or the `+` of a country code, as `language` says it.
fn say_symbol(symbol: char, language: Language) -> &'static str {
    let digits = match language {
        Language::JaJp => &JAPANESE_DIGITS,
        Language::EnUs => &ENGLISH_DIGITS,
    };
    match symbol.to_digit(10) {
        Some(d) => digits[d as usize],
        None => match language {
            Language::JaJp => "プラス",
            Language::EnUs => "plus",
        },
    }
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

    /// Every kind of Japanese number, and a few foreign ones: the groups
    /// of the national format (international for another country's), each
    /// digit in the operators' reading.
    #[test]
    fn reads_back_in_the_groups_of_the_national_format() {
        let us = Region::parse("US").unwrap();
        let table: [(&str, Region, &str, &str); 22] = [
            // Tokyo and Osaka: 1-digit area codes.
            (
                "+81312345678",
                Region::JP,
                "ゼロサン、イチニーサンヨン、ゴーロクナナハチ",
                "0 3, 1 2 3 4, 5 6 7 8",
            ),
            (
                "+81612345678",
                Region::JP,
                "ゼロロク、イチニーサンヨン、ゴーロクナナハチ",
                "0 6, 1 2 3 4, 5 6 7 8",
            ),
            // Yokohama: 2 digits.
            (
                "+81451234567",
                Region::JP,
                "ゼロヨンゴー、イチニーサン、ヨンゴーロクナナ",
                "0 4 5, 1 2 3, 4 5 6 7",
            ),
            // 0422-22 and 042-212: the exchange decides the area code.
            (
                "+81422221234",
                Region::JP,
                "ゼロヨンニーニー、ニーニー、イチニーサンヨン",
                "0 4 2 2, 2 2, 1 2 3 4",
            ),
            (
                "+81422123456",
                Region::JP,
                "ゼロヨンニー、ニーイチニー、サンヨンゴーロク",
                "0 4 2, 2 1 2, 3 4 5 6",
            ),
            // 4- and 5-digit area codes.
            (
                "+81154521234",
                Region::JP,
                "ゼロイチゴーヨン、ゴーニー、イチニーサンヨン",
                "0 1 5 4, 5 2, 1 2 3 4",
            ),
            (
                "+81126721234",
                Region::JP,
                "ゼロイチニーロクナナ、ニー、イチニーサンヨン",
                "0 1 2 6 7, 2, 1 2 3 4",
            ),
            // Mobile.
            (
                "+819012345678",
                Region::JP,
                "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ",
                "0 9 0, 1 2 3 4, 5 6 7 8",
            ),
            (
                "+818012345678",
                Region::JP,
                "ゼロハチゼロ、イチニーサンヨン、ゴーロクナナハチ",
                "0 8 0, 1 2 3 4, 5 6 7 8",
            ),
            (
                "+817012345678",
                Region::JP,
                "ゼロナナゼロ、イチニーサンヨン、ゴーロクナナハチ",
                "0 7 0, 1 2 3 4, 5 6 7 8",
            ),
            // IP phone.
            (
                "+815012345678",
                Region::JP,
                "ゼロゴーゼロ、イチニーサンヨン、ゴーロクナナハチ",
                "0 5 0, 1 2 3 4, 5 6 7 8",
            ),
            // Toll-free.
            (
                "+81120123456",
                Region::JP,
                "ゼロイチニーゼロ、イチニーサン、ヨンゴーロク",
                "0 1 2 0, 1 2 3, 4 5 6",
            ),
            (
                "+818001234567",
                Region::JP,
                "ゼロハチゼロゼロ、イチニーサン、ヨンゴーロクナナ",
                "0 8 0 0, 1 2 3, 4 5 6 7",
            ),
            // Navi-dial.
            (
                "+81570123456",
                Region::JP,
                "ゼロゴーナナゼロ、イチニーサン、ヨンゴーロク",
                "0 5 7 0, 1 2 3, 4 5 6",
            ),
            // Premium rate.
            (
                "+81990123456",
                Region::JP,
                "ゼロキューキューゼロ、イチニーサン、ヨンゴーロク",
                "0 9 9 0, 1 2 3, 4 5 6",
            ),
            // Foreign numbers: with their country code.
            (
                "+14158675309",
                Region::JP,
                "プラスイチ、ヨンイチゴー、ハチロクナナ、ゴーサンゼロキュー",
                "plus 1, 4 1 5, 8 6 7, 5 3 0 9",
            ),
            (
                "+442070313000",
                Region::JP,
                "プラスヨンヨン、ニーゼロ、ナナゼロサンイチ、サンゼロゼロゼロ",
                "plus 4 4, 2 0, 7 0 3 1, 3 0 0 0",
            ),
            (
                "+8223123456",
                Region::JP,
                "プラスハチニー、ニー、サンイチニー、サンヨンゴーロク",
                "plus 8 2, 2, 3 1 2, 3 4 5 6",
            ),
            (
                "+33612345678",
                Region::JP,
                "プラスサンサン、ロク、イチニー、サンヨン、ゴーロク、ナナハチ",
                "plus 3 3, 6, 1 2, 3 4, 5 6, 7 8",
            ),
            // A tenant in the US: its own numbers nationally, Japan's not.
            (
                "+14158675309",
                us,
                "ヨンイチゴー、ハチロクナナ、ゴーサンゼロキュー",
                "4 1 5, 8 6 7, 5 3 0 9",
            ),
            (
                "+81312345678",
                us,
                "プラスハチイチ、サン、イチニーサンヨン、ゴーロクナナハチ",
                "plus 8 1, 3, 1 2 3 4, 5 6 7 8",
            ),
            (
                "+819012345678",
                us,
                "プラスハチイチ、キューゼロ、イチニーサンヨン、ゴーロクナナハチ",
                "plus 8 1, 9 0, 1 2 3 4, 5 6 7 8",
            ),
        ];
        for (e164, region, ja, en) in table {
            let number = E164::parse(e164, region).unwrap();
            assert_eq!(
                number.read_back(region, Language::JaJp),
                ja,
                "{e164} in {region}"
            );
            assert_eq!(
                number.read_back(region, Language::EnUs),
                en,
                "{e164} in {region}"
            );
        }
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
    /// library agree, and so do their national formats.
    #[test]
    fn the_japanese_fast_path_agrees_with_the_library() {
        let mut numbers = example_numbers(&["JP"]);
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
                let national = library.format_with_library(Region::JP).unwrap();
                let digits: String = national.chars().filter(char::is_ascii_digit).collect();
                assert_eq!(format!("0{}", fast.unwrap()), digits, "{number}");
                // Japan's formats in source write what the library writes.
                assert_eq!(
                    jp_numbers::national_format(fast.unwrap()).as_ref(),
                    Some(&national),
                    "{number}"
                );
            }
        }
        assert!(
            valid > 200,
            "only {valid} valid numbers: the sample is too thin"
        );
    }

    /// Agents read numbers as people in the tenant's region write them,
    /// in the metadata's groups, and masked in the same groups.
    #[test]
    fn displays_in_the_regions_format() {
        let us = Region::parse("US").unwrap();
        for (number, region, shown, masked) in [
            (
                "+819011112222",
                Region::JP,
                "090-1111-2222",
                "090-****-2222",
            ),
            ("+81312345678", Region::JP, "03-1234-5678", "03-****-5678"),
            ("+81422221234", Region::JP, "0422-22-1234", "0422-**-1234"),
            ("+81120123456", Region::JP, "0120-123-456", "0120-***-456"),
            (
                "+14158675309",
                Region::JP,
                "+1 415-867-5309",
                "+1 ***-***-5309",
            ),
            ("+14158675309", us, "(415) 867-5309", "(415) ***-5309"),
            ("+81312345678", us, "+81 3-1234-5678", "+81 *-****-5678"),
        ] {
            let number = E164::try_from(number.to_owned()).unwrap();
            assert_eq!(number.display(region), shown, "{number} in {region}");
            assert_eq!(
                number.display_masked(region),
                masked,
                "{number} in {region}"
            );
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(mask("+81312345678"), "+81*****5678");
        assert_eq!(mask("12345"), "*****");
    }

    #[test]
    fn the_ending_is_read_digit_by_digit() {
        let number = E164::parse("+81312345678", Region::JP).unwrap();
        assert_eq!(number.read_ending(4, Language::JaJp), "ゴーロクナナハチ");
        assert_eq!(number.read_ending(4, Language::EnUs), "5 6 7 8");
        assert_eq!(
            number.read_ending(20, Language::EnUs),
            "8 1 3 1 2 3 4 5 6 7 8"
        );
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

    /// The metadata's example numbers of every kind for `countries`.
    fn example_numbers(countries: &[&str]) -> Vec<String> {
        let mut numbers = Vec::new();
        for &id in countries {
            let meta = phonenumber::metadata::DATABASE.by_id(id).unwrap();
            let d = meta.descriptors();
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
            numbers.extend(
                kinds
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.example())
                    .map(|e| format!("+{}{e}", meta.country_code())),
            );
        }
        numbers
    }

    /// The number a listener writes down from a read-back: the digits, and
    /// a `+` where the country code was said.
    fn heard(spoken: &str, language: Language) -> Option<String> {
        let (plus, digits) = match spoken
            .strip_prefix("プラス")
            .or_else(|| spoken.strip_prefix("plus "))
        {
            Some(rest) => ("+", rest),
            None => ("", spoken),
        };
        let digits = crate::domain::speech::digits_from_speech(digits, language)?;
        Some(format!("{plus}{digits}"))
    }

    proptest::proptest! {
        // Each case reads a number back ten times through the library,
        // slow in a debug build.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any valid number, read back in any region and language, gives
        /// the number again when written down digit by digit.
        #[test]
        fn a_read_back_gives_the_number_again(
            example in proptest::sample::select(example_numbers(&[
                "JP", "US", "GB", "DE", "FR", "IT", "KR", "CN", "AU", "BR", "AR", "IN",
            ])),
            tail in "[0-9]{0,4}",
        ) {
            let kept = example.len() - tail.len().min(example.len() - 3);
            let input = format!("{}{tail}", &example[..kept]);
            let Ok(number) = E164::parse(&input, Region::JP) else {
                return Ok(());
            };
            for region in ["JP", "US", "GB", "DE", "IT"] {
                let region = Region::parse(region).unwrap();
                for language in Language::ALL {
                    let spoken = number.read_back(region, language);
                    let written = heard(&spoken, language);
                    proptest::prop_assert!(written.is_some(), "{spoken}");
                    let written = written.unwrap();
                    // With its country code it is the E.164 form itself
                    // (the library's parse in a region whose trunk prefix
                    // begins the national number may strip it: +82 1544…
                    // in the US).
                    let again = if written.starts_with('+') {
                        E164::try_from(written)
                    } else {
                        E164::parse(&written, region)
                    };
                    proptest::prop_assert_eq!(again.as_ref(), Ok(&number), "{} in {}: {}", number, region, spoken);
                }
            }
        }
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
                    proptest::prop_assert!(number.masked().ends_with(&number.as_str()[number.as_str().len() - 4..]));
                }
                let _ = CallerId::from_twilio(&input, region);
            }
        }
    }
}
