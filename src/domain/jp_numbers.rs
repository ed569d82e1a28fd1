//! A cheap path for the numbers Twilio sends most here: Japanese numbers
//! in E.164 (`+81…`). The library takes ~20 µs to parse and validate one,
//! most of it in a 100-entry regex cache shared by every thread, which its
//! patterns overflow; the same metadata patterns, compiled once here and
//! applied the way the library applies them, answer the same in a fraction
//! of that. Anything else (other countries, national forms) goes to the
//! library.

use regex::Regex;
use std::sync::LazyLock;

/// Japan's patterns and lengths from the library's metadata (libphonenumber
/// 9.0.33, as the `phonenumber` crate carries it), whitespace removed. Kept
/// here so that the common case never loads the library's database, which
/// compiles every country's patterns (most of a Lambda's init). A test
/// checks them against the library's metadata, so an upgrade cannot drift.
const GENERAL: (&str, &[u16]) = (r"00[1-9]\d{6,14}|[25-9]\d{9}|(?:00|[1-9]\d\d)\d{6}", &[]);
const KINDS: [(&str, &str, &[u16]); 8] = [
    ("premium_rate", r"990\d{6}", &[9]),
    (
        "toll_free",
        r"00777(?:[01]|5\d)\d\d|(?:00(?:7778|882[1245])|(?:120|800\d)\d\d)\d{4}|00(?:37|66|78)\d{6,13}",
        &[8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
    ),
    ("voip", r"50[1-9]\d{7}", &[10]),
    ("personal_number", r"60\d{7}", &[9]),
    ("pager", r"20\d{8}", &[10]),
    ("uan", r"570\d{6}", &[9]),
    (
        "fixed_line",
        r"(?:1(?:1[235-8]|2[3-6]|3[3-9]|4[2-6]|[58][2-8]|6[2-7]|7[2-9]|9[1-9])|(?:2[2-9]|[36][1-9])\d|4(?:[2-578]\d|6[02-8]|9[2-59])|5(?:[2-589]\d|6[1-9]|7[2-8])|7(?:[25-9]\d|3[4-9]|4[02-9])|8(?:[2679]\d|3[2-9]|4[5-9]|5[1-9]|8[03-9])|9(?:[2-58]\d|[679][1-9]))\d{6}",
        &[9],
    ),
    ("mobile", r"[6-9]0[1-9]\d{7}", &[10]),
];

/// A descriptor of the numbering metadata: its lengths and its pattern.
struct Pattern {
    regex: Regex,
    lengths: &'static [u16],
}

impl Pattern {
    fn of(pattern: &str, lengths: &'static [u16]) -> Option<Pattern> {
        Some(Pattern {
            regex: Regex::new(pattern).ok()?,
            lengths,
        })
    }

    /// As the library's `Descriptor::is_match`: a possible length, and the
    /// pattern found at the start.
    fn is_match(&self, national: &str) -> bool {
        let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
        (self.lengths.is_empty() || self.lengths.contains(&length))
            && self.regex.find(national).is_some_and(|m| m.start() == 0)
    }
}

struct Japan {
    general: Pattern,
    /// Every number type: valid means the general pattern and one of these.
    kinds: Vec<Pattern>,
}

static JAPAN: LazyLock<Option<Japan>> = LazyLock::new(|| {
    Some(Japan {
        general: Pattern::of(GENERAL.0, GENERAL.1)?,
        kinds: KINDS
            .iter()
            .map(|(_, pattern, lengths)| Pattern::of(pattern, lengths))
            .collect::<Option<_>>()?,
    })
});

/// The national significant number of `e164` when it is a valid Japanese
/// number written `+81` and digits; `None` when the library must decide.
/// A national number starting with 0 is left to the library, which may
/// strip it as a national prefix.
pub fn national_number(e164: &str) -> Option<&str> {
    let national = e164.strip_prefix("+81")?;
    if national.is_empty()
        || national.starts_with('0')
        || !national.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let japan = JAPAN.as_ref()?;
    (japan.general.is_match(national) && japan.kinds.iter().any(|k| k.is_match(national)))
        .then_some(national)
}

/// Loads the metadata and compiles the patterns now rather than on the
/// first call.
pub fn warm_up() {
    LazyLock::force(&JAPAN);
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::metadata::{DATABASE, Descriptor};

    fn library(descriptor: &Descriptor) -> (String, Vec<u16>) {
        let pattern: String = descriptor
            .national_number()
            .as_str()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        (pattern, descriptor.possible_length().to_vec())
    }

    #[test]
    fn the_patterns_are_the_library_metadata() {
        let d = DATABASE.by_id("JP").unwrap().descriptors();
        assert_eq!(
            library(d.general()),
            (GENERAL.0.to_owned(), GENERAL.1.to_vec())
        );
        let kinds = [
            ("premium_rate", d.premium_rate()),
            ("toll_free", d.toll_free()),
            ("shared_cost", d.shared_cost()),
            ("voip", d.voip()),
            ("personal_number", d.personal_number()),
            ("pager", d.pager()),
            ("uan", d.uan()),
            ("voicemail", d.voicemail()),
            ("fixed_line", d.fixed_line()),
            ("mobile", d.mobile()),
        ];
        let present: Vec<(&str, (String, Vec<u16>))> = kinds
            .into_iter()
            .filter_map(|(name, d)| d.map(|d| (name, library(d))))
            .collect();
        let ours: Vec<(&str, (String, Vec<u16>))> = KINDS
            .iter()
            .map(|(name, pattern, lengths)| (*name, ((*pattern).to_owned(), lengths.to_vec())))
            .collect();
        assert_eq!(present, ours);
        assert!(JAPAN.is_some(), "every pattern compiles");
    }
}
