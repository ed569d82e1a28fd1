//! Twilio identifiers, parsed once so they are safe in keys and paths.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} must be \"{prefix}\" followed by 32 hex digits, got {got:?}")]
pub struct SidError {
    kind: &'static str,
    prefix: &'static str,
    got: String,
}

fn parse_sid(kind: &'static str, prefix: &'static str, input: &str) -> Result<String, SidError> {
    let ok = input.len() == 34
        && input.starts_with(prefix)
        && input[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(input.to_owned())
    } else {
        Err(SidError {
            kind,
            prefix,
            got: input.chars().take(40).collect(),
        })
    }
}

macro_rules! sid_type {
    ($name:ident, $kind:literal, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, SidError> {
                parse_sid($kind, $prefix, input).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = SidError;
            fn try_from(value: String) -> Result<Self, SidError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

sid_type!(CallSid, "CallSid", "CA");
sid_type!(RecordingSid, "RecordingSid", "RE");
sid_type!(AccountSid, "account SID", "AC");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_prefix_plus_32_hex() {
        assert!(CallSid::parse("CA0123456789abcdef0123456789ABCDEF").is_ok());
        assert!(CallSid::parse("RE0123456789abcdef0123456789abcdef").is_err());
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcde").is_err());
        assert!(RecordingSid::parse("RE../../../../etc/passwd0000000000").is_err());
        let err = AccountSid::parse("ACnope").unwrap_err().to_string();
        assert_eq!(
            err,
            "account SID must be \"AC\" followed by 32 hex digits, got \"ACnope\""
        );
    }
}
