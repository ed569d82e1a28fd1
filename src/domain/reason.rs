//! Why a caller reached the callback IVR.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Why the caller reached the callback IVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Busy,
    NoAnswer,
    QueueTimeout,
    QueueOptOut,
    QueueFull,
    AfterHours,
    Overflow,
    /// afureko could not answer the call (down, or past a webhook's
    /// budget): the caller left a request through the record-only flow.
    Outage,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Busy => "busy",
            Reason::NoAnswer => "no-answer",
            Reason::QueueTimeout => "queue-timeout",
            Reason::QueueOptOut => "queue-opt-out",
            Reason::QueueFull => "queue-full",
            Reason::AfterHours => "after-hours",
            Reason::Overflow => "overflow",
            Reason::Outage => "outage",
        }
    }
}

impl FromStr for Reason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Reason::Busy,
            Reason::NoAnswer,
            Reason::QueueTimeout,
            Reason::QueueOptOut,
            Reason::QueueFull,
            Reason::AfterHours,
            Reason::Overflow,
            Reason::Outage,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown reason {s:?}"))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in [
            "busy",
            "no-answer",
            "queue-timeout",
            "queue-opt-out",
            "after-hours",
            "overflow",
            "outage",
        ] {
            assert_eq!(r.parse::<Reason>().unwrap().as_str(), r);
        }
        assert!("nope".parse::<Reason>().is_err());
    }
}
