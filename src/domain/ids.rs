//! Identifiers (tenants, callbacks, Twilio SIDs), parsed once so they are
//! safe in keys, paths and file names.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} must be {} followed by 32 hex digits, got {got:?}",
    quoted(prefixes)
)]
pub struct SidError {
    kind: &'static str,
    prefixes: &'static [&'static str],
    got: String,
}

fn quoted(prefixes: &[&str]) -> String {
    let quoted: Vec<String> = prefixes.iter().map(|p| format!("{p:?}")).collect();
    quoted.join(" or ")
}

fn parse_sid(
    kind: &'static str,
    prefixes: &'static [&'static str],
    input: &str,
) -> Result<String, SidError> {
    let ok = input.len() == 34
        && prefixes.iter().any(|p| input.starts_with(p))
        && input[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(input.to_owned())
    } else {
        Err(SidError {
            kind,
            prefixes,
            got: input.chars().take(40).collect(),
        })
    }
}

macro_rules! sid_type {
    ($name:ident, $kind:literal, $($prefix:literal),+) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, SidError> {
                parse_sid($kind, &[$($prefix),+], input).map(Self)
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
// SMS are SM…, MMS MM…; Twilio may answer either for a message.
sid_type!(MessageSid, "MessageSid", "SM", "MM");
sid_type!(MessagingServiceSid, "MessagingServiceSid", "MG");

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallbackId(String);

impl CallbackId {
    /// Time-ordered (UUIDv7), so ids sort roughly by creation.
    pub fn generate() -> Self {
        CallbackId(uuid::Uuid::now_v7().to_string())
    }

    pub fn parse(input: &str) -> Option<Self> {
        uuid::Uuid::try_parse(input)
            .ok()
            .map(|u| CallbackId(u.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallbackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tenant id must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit, got {0:?}"
)]
pub struct TenantIdError(String);

/// Lower-case letters, digits and dashes, 1–63 characters: safe in URLs,
/// storage keys and file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(input: &str) -> Result<Self, TenantIdError> {
        let bytes = input.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes[0] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if ok {
            Ok(TenantId(input.to_owned()))
        } else {
            Err(TenantIdError(input.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = TenantIdError;
    fn try_from(value: String) -> Result<Self, TenantIdError> {
        Self::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> String {
        value.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        assert!(TenantId::parse("acme-01").is_ok());
        for bad in ["", "-acme", "Acme", "acme/..", "a b", &"a".repeat(64)] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

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
        assert!(MessageSid::parse("MM0123456789abcdef0123456789abcdef").is_ok());
        let err = MessageSid::parse("MG0123456789abcdef0123456789abcdef").unwrap_err();
        assert_eq!(
            err.to_string(),
            "MessageSid must be \"SM\" or \"MM\" followed by 32 hex digits, got \"MG0123456789abcdef0123456789abcdef\""
        );
    }
}
