//! Spoken answers: what Twilio's speech recognition heard (`SpeechResult`)
//! turned into what a keypad would have sent. Japanese digits come back in
//! any script (０３, 〇三, ぜろさん, ゼロサン); anything that is not a
//! digit, a reading of one or a separator is refused, never guessed at.

use crate::domain::prompts::Language;
use serde::{Deserialize, Serialize};

/// Longer answers are not a phone number.
const MAX_CHARS: usize = 200;

/// How a caller may give the number to call back: typed, or typed or said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NumberEntry {
    #[default]
    #[serde(rename = "dtmf")]
    Dtmf,
    #[serde(rename = "dtmf-speech")]
    DtmfSpeech,
}

impl NumberEntry {
    pub const ALL: [NumberEntry; 2] = [NumberEntry::Dtmf, NumberEntry::DtmfSpeech];
    /// The names of `ALL`, as serde writes them.
    pub const NAMES: [&'static str; 2] = [Self::ALL[0].as_str(), Self::ALL[1].as_str()];

    pub const fn as_str(self) -> &'static str {
        match self {
            NumberEntry::Dtmf => "dtmf",
            NumberEntry::DtmfSpeech => "dtmf-speech",
        }
    }

    pub fn speech(self) -> bool {
        self == NumberEntry::DtmfSpeech
    }
}

impl std::str::FromStr for NumberEntry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NumberEntry::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("number entry must be dtmf or dtmf-speech, got {s:?}"))
    }
}

/// What a caller answered at a question: keys pressed, or words said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Keys(String),
    Speech(String),
}

impl Answer {
    /// From a Gather's `Digits` and `SpeechResult`: keys when any were
    /// pressed, else what was said; nothing at all is no keys.
    pub fn new(digits: Option<&str>, said: Option<&str>) -> Self {
        match (digits.filter(|d| !d.is_empty()), said.map(str::trim)) {
            (Some(keys), _) => Answer::Keys(keys.to_owned()),
            (None, Some(said)) if !said.is_empty() => Answer::Speech(said.to_owned()),
            _ => Answer::Keys(String::new()),
        }
    }
}

/// The digits in a spoken phone number; `None` when anything else was said.
pub fn digits_from_speech(said: &str, language: Language) -> Option<String> {
    if said.chars().count() > MAX_CHARS {
        return None;
    }
    let digits = match language {
        Language::JaJp => japanese_digits(said)?,
        Language::EnUs => english_digits(said)?,
    };
    (!digits.is_empty()).then_some(digits)
}

/// The key a spoken answer to a 1-or-2 question stands for: 「はい」 or
/// "yes" is 1, 「いいえ」 or "no" is 2, and a single digit is itself.
pub fn choice_from_speech(said: &str, language: Language) -> Option<char> {
    let word: String = said
        .chars()
        .filter(|c| !c.is_whitespace() && !is_punctuation(*c))
        .flat_map(char::to_lowercase)
        .map(folded)
        .collect();
    let (yes, no) = match language {
        Language::JaJp => ("はい", "いいえ"),
        Language::EnUs => ("yes", "no"),
    };
    match word.as_str() {
        w if w == yes => Some('1'),
        w if w == no => Some('2'),
        _ => {
            let digits = digits_from_speech(said, language)?;
            let mut chars = digits.chars();
            match (chars.next(), chars.next()) {
                (Some(d), None) => Some(d),
                _ => None,
            }
        }
    }
}

/// Sentence punctuation recognisers add: never part of an answer.
fn is_punctuation(c: char) -> bool {
    matches!(c, '。' | '、' | '.' | ',' | '!' | '?' | '！' | '？')
}

/// Katakana as hiragana (ゼロ → ぜろ), and full-width ASCII (０, －) as
/// ASCII; the long-vowel mark ー stays itself.
fn folded(c: char) -> char {
    match c {
        'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        '！'..='～' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Kana readings, longest first where one begins another (しち before し).
const JAPANESE_READINGS: [(&str, char); 16] = [
    ("きゅう", '9'),
    ("きゅー", '9'),
    ("ぜろ", '0'),
    ("れい", '0'),
    ("まる", '0'),
    ("いち", '1'),
    ("さん", '3'),
    ("よん", '4'),
    ("ろく", '6'),
    ("なな", '7'),
    ("しち", '7'),
    ("はち", '8'),
    ("に", '2'),
    ("し", '4'),
    ("ご", '5'),
    ("く", '9'),
];

const KANJI_DIGITS: [(char, char); 11] = [
    ('〇', '0'),
    ('零', '0'),
    ('一', '1'),
    ('二', '2'),
    ('三', '3'),
    ('四', '4'),
    ('五', '5'),
    ('六', '6'),
    ('七', '7'),
    ('八', '8'),
    ('九', '9'),
];

fn japanese_digits(said: &str) -> Option<String> {
    let text: String = said.chars().map(folded).collect();
    let mut rest = text.as_str();
    let mut digits = String::new();
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if let Some((_, d)) = KANJI_DIGITS.iter().find(|(k, _)| *k == c) {
            digits.push(*d);
        } else if let Some((reading, d)) = JAPANESE_READINGS
            .iter()
            .find(|(reading, _)| rest.starts_with(reading))
        {
            digits.push(*d);
            rest = &rest[reading.len()..];
            continue;
        } else if !(c.is_whitespace()
            || matches!(c, 'の' | 'ー' | '-' | '‐' | '−')
            || is_punctuation(c))
        {
            return None;
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(digits)
}

const ENGLISH_WORDS: [(&str, char); 11] = [
    ("zero", '0'),
    ("oh", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
];

fn english_digits(said: &str) -> Option<String> {
    let lowered = said.to_lowercase();
    if lowered
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c.is_whitespace() || "-().,".contains(c)))
    {
        return None;
    }
    // Each word or number as digits; "double" repeats the next digit.
    let mut words = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let mut digits = String::new();
    while let Some(word) = words.next() {
        if word == "double" {
            let next = english_word(words.next()?)?;
            digits.push(next.chars().next()?);
            digits.push_str(&next);
        } else {
            digits.push_str(&english_word(word)?);
        }
    }
    Some(digits)
}

fn english_word(word: &str) -> Option<String> {
    if word.bytes().all(|b| b.is_ascii_digit()) {
        return Some(word.to_owned());
    }
    ENGLISH_WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, d)| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_numbers_in_every_script() {
        let heard = [
            ("0312345678", "0312345678"),
            ("03-1234-5678", "0312345678"),
            ("０３－１２３４－５６７８", "0312345678"),
            ("03 1234 5678。", "0312345678"),
            ("〇三の一二三四の五六七八", "0312345678"),
            ("零九零、一二三四、五六七八", "09012345678"),
            ("ぜろさんいちにさんよんごろくななはち", "0312345678"),
            ("ゼロサン、イチニーサンヨン、ゴーロクナナハチ", "0312345678"),
            ("れいきゅうれい いちにさんし ごろくしちはち", "09012345678"),
            ("まるきゅーまる", "090"),
            ("ゼロキューゼロ ノ イチニーサンヨン", "0901234"),
            ("ぜろくぜろ", "090"),
            ("090の1234の5678", "09012345678"),
            ("090-いちにさんよん-5678", "09012345678"),
        ];
        for (said, digits) in heard {
            assert_eq!(
                digits_from_speech(said, Language::JaJp).as_deref(),
                Some(digits),
                "{said}"
            );
        }
    }

    #[test]
    fn japanese_that_is_not_a_number_is_refused() {
        for said in [
            "",
            "、。",
            "わかりません",
            "千二百三十四",
            "ゼロサンの十二",
            "電話番号は0312345678です",
            "03-1234-5678 extension 9",
            "ごめんなさい",
            &"0".repeat(201),
        ] {
            assert_eq!(digits_from_speech(said, Language::JaJp), None, "{said}");
        }
    }

    #[test]
    fn english_numbers_in_words_and_figures() {
        let heard = [
            ("415-867-5309", "4158675309"),
            ("(415) 867-5309.", "4158675309"),
            (
                "four one five eight six seven five three oh nine",
                "4158675309",
            ),
            (
                "Zero Three, One Two Three Four, Five Six Seven Eight",
                "0312345678",
            ),
            ("oh nine oh double one double two 3 3", "090112233"),
            ("double 7 double eight", "7788"),
            ("0 3 1 2 3 4 5 6 7 8", "0312345678"),
        ];
        for (said, digits) in heard {
            assert_eq!(
                digits_from_speech(said, Language::EnUs).as_deref(),
                Some(digits),
                "{said}"
            );
        }
    }

    #[test]
    fn english_that_is_not_a_number_is_refused() {
        for said in [
            "",
            "...",
            "my number is 415",
            "four to five",
            "double",
            "double trouble",
            "+1 415 867 5309",
            "one hundred",
            "fünf",
            "ゼロサン",
        ] {
            assert_eq!(digits_from_speech(said, Language::EnUs), None, "{said}");
        }
    }

    #[test]
    fn yes_and_no_are_one_and_two() {
        let ja = [
            ("はい", Some('1')),
            ("はい。", Some('1')),
            ("ハイ", Some('1')),
            ("いいえ", Some('2')),
            ("イイエ。", Some('2')),
            ("いち", Some('1')),
            ("2", Some('2')),
            ("２", Some('2')),
            ("ニー", Some('2')),
            ("12", None),
            ("はいはい", None),
            ("そうです", None),
            ("", None),
        ];
        for (said, key) in ja {
            assert_eq!(choice_from_speech(said, Language::JaJp), key, "{said}");
        }
        let en = [
            ("yes", Some('1')),
            ("Yes.", Some('1')),
            ("No!", Some('2')),
            ("one", Some('1')),
            ("2", Some('2')),
            ("yes please", None),
            ("nope", None),
            ("はい", None),
        ];
        for (said, key) in en {
            assert_eq!(choice_from_speech(said, Language::EnUs), key, "{said}");
        }
    }

    #[test]
    fn an_answer_is_the_keys_pressed_else_what_was_said() {
        assert_eq!(
            Answer::new(Some("12"), Some("はい")),
            Answer::Keys("12".into())
        );
        assert_eq!(
            Answer::new(Some(""), Some(" はい ")),
            Answer::Speech("はい".into())
        );
        assert_eq!(Answer::new(None, Some(" ")), Answer::Keys(String::new()));
        assert_eq!(Answer::new(None, None), Answer::Keys(String::new()));
        for entry in NumberEntry::ALL {
            assert_eq!(entry.as_str().parse(), Ok(entry));
            assert_eq!(serde_json::json!(entry), entry.as_str());
        }
        assert_eq!(
            "voice".parse::<NumberEntry>(),
            Err("number entry must be dtmf or dtmf-speech, got \"voice\"".into())
        );
    }
}
