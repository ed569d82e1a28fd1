//! A cheap path for the numbers Twilio sends most here: Japanese numbers
//! in E.164 (`+81…`). The library takes ~20 µs to parse and validate one,
//! most of it in a 100-entry regex cache shared by every thread, which its
//! patterns overflow; the same metadata patterns, compiled once here and
//! applied the way the library applies them, answer the same in a fraction
//! of that. Anything else (other countries, national forms) goes to the
//! library.

use regex::{Regex, RegexBuilder};
use std::sync::{LazyLock, OnceLock};

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

/// Japan's national formats from the same metadata, in its order: the
/// pattern, the last (most precise) leading-digits pattern, which is the
/// one the library's formatter tries, the format, and the national-prefix
/// formatting rule. The grouping depends on the exchange, not only the area
/// code (0422-22-1234 but 042-212-3456). A test holds them to the library.
static FORMATS: [Format; 16] = [
    Format::new(r"(\d{4})(\d{4})", r"00777[01]", "$1-$2", None),
    Format::new(r"(\d{8,10})", r"000", "$1", None),
    Format::new(
        r"(\d{3})(\d{3})(\d{3})",
        r"(?:12|57|99)0",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(
        r"(\d{4})(\d)(\d{4})",
        r"1(?:267|3(?:7[247]|9[278])|466|5(?:47|58|64)|6(?:3[245]|48|5[4-68]))|499[2468]|5(?:769|979[2-69])|7468|8(?:3(?:8[7-9]|96[2457-9])|477|51[2-9])|9(?:802|9(?:1[23]|69))|1(?:45|58)[67]",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(r"(\d{2})(\d{3})(\d{4})", r"60", "$1-$2-$3", Some("$NP$FG")),
    Format::new(
        r"(\d)(\d{4})(\d{4})",
        r"3|4(?:2(?:0|9[02-69])|7(?:0[019]|1))|6[1-9]",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(
        r"(\d{2})(\d{3})(\d{4})",
        r"1(?:1|5(?:4[018]|5[017])|77|88|9[69])|2(?:2[127]|3[0-269]|4[59]|5(?:[1-3]|5[0-69]|9(?:17|99))|6(?:2|4[016-9])|7(?:[1-35]|8[0189])|8(?:[16]|3[0134]|9[0-5])|9(?:[028]|17))|4(?:2(?:[13-79]|8[014-6])|3[0-57]|[45]|6[248]|7[2-47]|9[29])|5(?:2|3(?:[045]|9(?:[0-58]|6[4-9]|7[0-35689]))|4[0-369]|5[29]|8[02389]|9[0-3])|7(?:2[02-46-9]|34|[58]|6[0249]|7[57]|9(?:[23]|4[0-59]|5[01569]|6[0167]))|8(?:2(?:[1258]|4[0-39]|9[0169])|3(?:[29]|60|7(?:[017-9]|6[6-8]))|49|51|6(?:[0-24]|36[2-57-9]|5(?:[0-389]|5[23])|6(?:[01]|9[178])|7(?:2[2-468]|3[78])|9[0145])|7[0-468]|8[68])|9(?:4[15]|5[138]|7[156]|8[189]|9(?:[1289]|3(?:31|4[357])|4[0178]))|(?:8294|96)[1-3]|2(?:57|93)[015-9]|(?:223|8699)[014-9]|(?:25[0468]|422|838)[01]|(?:48|8292|9[23])[1-9]|(?:47[59]|59[89]|8(?:68|9))[019]",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(
        r"(\d{3})(\d{2})(\d{4})",
        r"[14]|[289][2-9]|5[3-9]|7[2-4679]",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(r"(\d{4})(\d{2})(\d{3,4})", r"0077", "$1-$2-$3", None),
    Format::new(r"(\d{4})(\d{2})(\d{4})", r"008", "$1-$2-$3", None),
    Format::new(r"(\d{3})(\d{3})(\d{4})", r"800", "$1-$2-$3", Some("$NP$FG")),
    Format::new(
        r"(\d{2})(\d{4})(\d{4})",
        r"[25-9]",
        "$1-$2-$3",
        Some("$NP$FG"),
    ),
    Format::new(r"(\d{4})(\d{3})(\d{3,4})", r"0", "$1-$2-$3", None),
    Format::new(r"(\d{4})(\d{4})(\d{4,5})", r"0", "$1-$2-$3", None),
    Format::new(r"(\d{4})(\d{5})(\d{5,6})", r"0", "$1-$2-$3", None),
    Format::new(r"(\d{4})(\d{6})(\d{6,7})", r"0", "$1-$2-$3", None),
];

/// Japan's trunk prefix, which `$NP` stands for.
const NATIONAL_PREFIX: &str = "0";

/// A regex compiled at its first use: a number tries the formats in order
/// and stops at the first that fits, so a read-back compiles a few of the
/// 32 patterns, not all of them (about 10 ms in release). Numbers are ASCII
/// digits: without Unicode classes `\d` compiles at half the cost.
struct Compiled {
    source: &'static str,
    regex: OnceLock<Option<Regex>>,
}

impl Compiled {
    const fn new(source: &'static str) -> Self {
        Compiled {
            source,
            regex: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| RegexBuilder::new(self.source).unicode(false).build().ok())
            .as_ref()
    }

    fn starts(&self, national: &str) -> bool {
        self.get()
            .and_then(|r| r.find(national))
            .is_some_and(|m| m.start() == 0)
    }
}

struct Format {
    pattern: Compiled,
    leading: Compiled,
    format: &'static str,
    national_prefix: Option<&'static str>,
}

impl Format {
    const fn new(
        pattern: &'static str,
        leading: &'static str,
        format: &'static str,
        national_prefix: Option<&'static str>,
    ) -> Self {
        Format {
            pattern: Compiled::new(pattern),
            leading: Compiled::new(leading),
            format,
            national_prefix,
        }
    }

    /// As the library's formatter picks a format: the leading digits at
    /// the start, and the pattern spanning the whole number.
    fn fits(&self, national: &str) -> bool {
        self.leading.starts(national)
            && self
                .pattern
                .get()
                .and_then(|r| r.find(national))
                .is_some_and(|m| m.start() == 0 && m.end() == national.len())
    }

    /// As the library's national format: the first group takes the
    /// national-prefix rule (`$NP$FG`: the trunk prefix, then the group).
    fn apply(&self, national: &str) -> Option<String> {
        let mut template = self.format.to_owned();
        if let Some(rule) = self.national_prefix {
            let first = template.find("$1")?;
            let with_prefix = rule.replace("$NP", NATIONAL_PREFIX).replace("$FG", "$1");
            template.replace_range(first..first + 2, &with_prefix);
        }
        Some(
            self.pattern
                .get()?
                .replace(national, template.as_str())
                .into_owned(),
        )
    }
}

/// Japan's national format of a national number from `national_number`
/// (`312345678` → `03-1234-5678`, `9012345678` → `090-1234-5678`);
/// `None` when no format fits.
pub fn national_format(national: &str) -> Option<String> {
    FORMATS
        .iter()
        .find(|f| f.fits(national))
        .and_then(|f| f.apply(national))
}

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

/// Compiles every national format now rather than at the first read-back.
pub fn warm_up_formats() {
    for format in &FORMATS {
        format.leading.get();
        format.pattern.get();
    }
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

    #[test]
    fn the_formats_are_the_library_metadata() {
        let strip = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
        let library: Vec<(String, String, String, Option<String>)> = DATABASE
            .by_id("JP")
            .unwrap()
            .formats()
            .iter()
            .map(|f| {
                (
                    strip(f.pattern().as_str()),
                    f.leading_digits()
                        .last()
                        .map(|l| strip(l.as_str()))
                        .unwrap_or_default(),
                    f.format().to_owned(),
                    f.national_prefix().map(str::to_owned),
                )
            })
            .collect();
        let ours: Vec<(String, String, String, Option<String>)> = FORMATS
            .iter()
            .map(|f| {
                (
                    f.pattern.source.to_owned(),
                    f.leading.source.to_owned(),
                    f.format.to_owned(),
                    f.national_prefix.map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(library, ours);
        warm_up_formats();
        assert!(
            FORMATS
                .iter()
                .all(|f| f.pattern.get().is_some() && f.leading.get().is_some()),
            "every format compiles"
        );
    }
}
