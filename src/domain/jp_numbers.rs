//! A cheap path for the numbers Twilio sends most here: Japanese numbers
//! in E.164 (`+81…`). The library takes ~20 µs to parse and validate one,
//! most of it in a 100-entry regex cache shared by every thread, which its
//! patterns overflow; the same metadata patterns, compiled once here and
//! applied the way the library applies them, answer the same in a fraction
//! of that. Anything else (other countries, national forms) goes to the
//! library.

use phonenumber::metadata::{DATABASE, Descriptor};
use regex::{Regex, RegexBuilder};
use std::sync::LazyLock;

/// A descriptor of the numbering metadata: its lengths and its pattern.
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn of(descriptor: &Descriptor) -> Option<Pattern> {
        let regex = RegexBuilder::new(descriptor.national_number().as_str())
            .ignore_whitespace(true)
            .build()
            .ok()?;
        Some(Pattern {
            regex,
            lengths: descriptor.possible_length().to_vec(),
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
    let descriptors = DATABASE.by_id("JP")?.descriptors();
    let kinds = [
        descriptors.premium_rate(),
        descriptors.toll_free(),
        descriptors.shared_cost(),
        descriptors.voip(),
        descriptors.personal_number(),
        descriptors.pager(),
        descriptors.uan(),
        descriptors.voicemail(),
        descriptors.fixed_line(),
        descriptors.mobile(),
    ];
    Some(Japan {
        general: Pattern::of(descriptors.general())?,
        kinds: kinds
            .into_iter()
            .flatten()
            .map(Pattern::of)
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
