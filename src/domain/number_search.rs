//! Finding a caller's records by their number: the whole number as people
//! type it (national or international, with or without separators), or
//! its last digits (at least four: 下4桁).

use super::phone::{E164, Region};

/// Digits a search needs: the last four find a number's records.
pub const TAIL_DIGITS: usize = 4;
/// The most digits a number has (E.164), plus a trunk prefix.
const MAX_DIGITS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error(
        "q is a phone number or its last digits (at least {TAIL_DIGITS}): digits, with spaces, hyphens or brackets between them and a + in front"
    )]
    NotANumber,
    #[error("q needs at least the last {TAIL_DIGITS} digits of the number")]
    TooShort,
    #[error("q has more digits than a phone number")]
    TooLong,
}

/// What a number search looks for: records whose callback number ends in
/// `suffix` (digits of its E.164 form), found by its last four, `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSearch {
    suffix: String,
}

impl NumberSearch {
    /// Reads what an agent typed: `090-1111-2222`, `+81 90 1111 2222`,
    /// `２２２２` or `1111-2222`. A whole number (national in `region`, or
    /// with its country code) matches that number only; other digits match
    /// the numbers they end.
    pub fn parse(input: &str, region: Region) -> Result<Self, SearchError> {
        let input = input.trim();
        let mut digits = String::new();
        let mut plus = false;
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
                '+' | '＋' if digits.is_empty() && !plus => plus = true,
                ' ' | '\u{3000}' | '-' | '‐' | '‑' | '‒' | '–' | '—' | '−' | '－' | 'ー' | '('
                | ')' | '（' | '）' | '.' => {}
                _ => return Err(SearchError::NotANumber),
            }
        }
        if digits.len() < TAIL_DIGITS {
            return Err(SearchError::TooShort);
        }
        if digits.len() > MAX_DIGITS {
            return Err(SearchError::TooLong);
        }
        let whole = if plus {
            E164::parse(&format!("+{digits}"), region).ok()
        } else if digits.starts_with('0') {
            E164::parse(&digits, region).ok()
        } else {
            None
        };
        let suffix = match whole {
            Some(number) => number.as_str().trim_start_matches('+').to_owned(),
            None if plus => return Err(SearchError::NotANumber),
            None => digits,
        };
        Ok(NumberSearch { suffix })
    }

    /// The last four digits: the key records are found by.
    pub fn tail(&self) -> &str {
        &self.suffix[self.suffix.len() - TAIL_DIGITS..]
    }

    /// The digits a matching number ends with.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    pub fn matches(&self, number: &E164) -> bool {
        number.as_str().ends_with(&self.suffix)
    }
}

/// The key a number is found by: its last four digits.
pub fn tail_of(number: &E164) -> &str {
    let digits = number.as_str();
    &digits[digits.len().saturating_sub(TAIL_DIGITS)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(e164: &str) -> E164 {
        E164::try_from(e164.to_owned()).unwrap()
    }

    #[test]
    fn whole_numbers_in_any_form_find_that_number_only() {
        let mobile = number("+819011112222");
        let other = number("+818011112222");
        for typed in [
            "090-1111-2222",
            "09011112222",
            "+81 90 1111 2222",
            "+819011112222",
            "０９０－１１１１－２２２２",
            "(090) 1111-2222",
        ] {
            let search = NumberSearch::parse(typed, Region::JP).unwrap();
            assert_eq!(search.suffix(), "819011112222", "{typed}");
            assert_eq!(search.tail(), "2222");
            assert!(search.matches(&mobile), "{typed}");
            assert!(!search.matches(&other), "{typed}");
        }
    }

    #[test]
    fn last_digits_find_every_number_ending_in_them() {
        let search = NumberSearch::parse("2222", Region::JP).unwrap();
        assert_eq!((search.suffix(), search.tail()), ("2222", "2222"));
        assert!(search.matches(&number("+819011112222")));
        assert!(search.matches(&number("+81311112222")));
        assert!(!search.matches(&number("+819011112223")));
        let search = NumberSearch::parse("1111-2222", Region::JP).unwrap();
        assert_eq!((search.suffix(), search.tail()), ("11112222", "2222"));
        assert!(search.matches(&number("+819011112222")));
        assert!(!search.matches(&number("+819012342222")));
        // Digits that start with 0 but are no number: the end of one.
        let search = NumberSearch::parse("0222", Region::JP).unwrap();
        assert!(search.matches(&number("+819011110222")));
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        for (typed, error) in [
            ("222", SearchError::TooShort),
            ("", SearchError::TooShort),
            ("12-3", SearchError::TooShort),
            ("12345678901234567", SearchError::TooLong),
            ("090-1111-222x", SearchError::NotANumber),
            ("+0000", SearchError::NotANumber),
            ("2222+", SearchError::NotANumber),
            ("ann", SearchError::NotANumber),
        ] {
            assert_eq!(
                NumberSearch::parse(typed, Region::JP),
                Err(error),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_numbers_tail_is_its_last_four_digits() {
        assert_eq!(tail_of(&number("+819011112222")), "2222");
        assert_eq!(tail_of(&number("+81312345678")), "5678");
    }

    proptest::proptest! {
        #[test]
        fn any_input_parses_or_is_refused(input in ".{0,24}|[+0-9０-９ ()-]{0,24}") {
            if let Ok(search) = NumberSearch::parse(&input, Region::JP) {
                proptest::prop_assert!(search.suffix().len() >= TAIL_DIGITS);
                proptest::prop_assert!(search.suffix().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
