//! A tenant's routing settings: how its calls reach the callback IVR —
//! straight away (`overflow`), after ringing the agents (`dial`), or from a
//! Twilio queue (`queue`). The decisions themselves are in `call_routing`.

use crate::domain::phone::{E164, Region};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingMode {
    /// The number only receives overflow: the callback IVR at once.
    #[default]
    Overflow,
    /// Ring the agents first; the IVR when nobody answers.
    Dial,
    /// Wait in a Twilio queue with a callback offer.
    Queue,
}

impl RoutingMode {
    pub const ALL: [RoutingMode; 3] =
        [RoutingMode::Overflow, RoutingMode::Dial, RoutingMode::Queue];
    /// The names of `ALL`, as serde writes them.
    pub const NAMES: [&'static str; 3] = [
        Self::ALL[0].as_str(),
        Self::ALL[1].as_str(),
        Self::ALL[2].as_str(),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RoutingMode::Overflow => "overflow",
            RoutingMode::Dial => "dial",
            RoutingMode::Queue => "queue",
        }
    }
}

impl FromStr for RoutingMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "overflow" => Ok(RoutingMode::Overflow),
            "dial" => Ok(RoutingMode::Dial),
            "queue" => Ok(RoutingMode::Queue),
            other => Err(format!("unknown mode {other:?} (overflow, dial or queue)")),
        }
    }
}

/// An agent's phone: an E.164 number or a SIP URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Destination {
    Number(E164),
    Sip(String),
}

impl Destination {
    pub fn parse(input: &str, region: Region) -> Result<Self, String> {
        let input = input.trim();
        if let Some(rest) = input.strip_prefix("sip:") {
            let ok = rest.contains('@')
                && input.len() <= 255
                && !input
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
            return if ok {
                Ok(Destination::Sip(input.to_owned()))
            } else {
                Err(format!(
                    "not a SIP URI such as sip:agent@pbx.example.com: {input:?}"
                ))
            };
        }
        E164::parse(input, region)
            .map(Destination::Number)
            .map_err(|_| format!("not a phone number or sip: URI: {input:?}"))
    }
}

impl FromStr for Destination {
    type Err = String;
    /// A kept destination (E.164 or sip:), whatever the region.
    fn from_str(s: &str) -> Result<Self, String> {
        Destination::parse(s, Region::JP)
    }
}

impl TryFrom<String> for Destination {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // Stored values are E.164 or sip:, so the region does not matter.
        Destination::parse(&s, Region::JP)
    }
}

impl From<Destination> for String {
    fn from(d: Destination) -> String {
        d.to_string()
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Number(n) => f.write_str(n.as_str()),
            Destination::Sip(uri) => f.write_str(uri),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialSettings {
    pub destinations: Vec<Destination>,
    pub ring_timeout_seconds: u32,
    /// Shown to the agents; Twilio's default (the caller) when unset.
    pub caller_id: Option<E164>,
}

impl Default for DialSettings {
    fn default() -> Self {
        DialSettings {
            destinations: Vec::new(),
            ring_timeout_seconds: 20,
            caller_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// The Twilio queue's name.
    pub name: String,
    /// Played while waiting; the `queue_hold` prompt is said when unset.
    pub hold_audio_url: Option<String>,
    /// How often the callback offer is made.
    pub offer_interval_seconds: u32,
    pub max_wait_seconds: u32,
    pub max_queue_size: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            name: "afureko".to_owned(),
            hold_audio_url: None,
            offer_interval_seconds: 30,
            max_wait_seconds: 300,
            max_queue_size: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    pub mode: RoutingMode,
    pub dial: DialSettings,
    pub queue: QueueSettings,
}

/// Why routing settings were refused, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("at most {MAX_DESTINATIONS} dial destinations ring at once")]
    TooManyDestinations,
    #[error("queue name must be 1-64 characters, got {0:?}")]
    QueueName(String),
    #[error("hold audio URL must be http(s), got {0:?}")]
    HoldAudioUrl(String),
}

impl RoutingError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        match self {
            RoutingError::TooManyDestinations => "dial_to",
            RoutingError::QueueName(_) => "queue_name",
            RoutingError::HoldAudioUrl(_) => "hold_audio_url",
        }
    }
}

/// The most numbers and SIP URIs rung at once.
pub const MAX_DESTINATIONS: usize = 10;

impl Routing {
    pub fn validate(&self) -> Result<(), RoutingError> {
        // The numbers' bounds are their settings' (`SETTINGS`), checked
        // with the tenant's.
        if self.dial.destinations.len() > MAX_DESTINATIONS {
            return Err(RoutingError::TooManyDestinations);
        }
        let name = &self.queue.name;
        if name.trim().is_empty() || name.len() > 64 {
            return Err(RoutingError::QueueName(name.clone()));
        }
        if let Some(url) = &self.queue.hold_audio_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(RoutingError::HoldAudioUrl(url.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_and_validation() {
        assert!(Destination::parse("sip:no-at-sign", Region::JP).is_err());
        assert!(Destination::parse("12", Region::JP).is_err());
        let mut r = Routing::default();
        r.validate().unwrap();
        r.queue.hold_audio_url = Some("ftp://x".into());
        assert!(r.validate().is_err());
        assert_eq!(r.validate().unwrap_err().field(), "hold_audio_url");
        assert_eq!(RoutingMode::NAMES, ["overflow", "dial", "queue"]);
        for mode in RoutingMode::ALL {
            assert_eq!(serde_json::json!(mode), mode.as_str());
            assert_eq!(mode.as_str().parse(), Ok(mode));
        }
    }
}
