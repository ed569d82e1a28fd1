//! Standard Webhooks signatures (standardwebhooks.com): the secret is
//! `whsec_` and the base64 of random bytes; a delivery carries
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 of HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// 192 bits, as Svix and the spec's examples use.
const SECRET_BYTES: usize = 24;

/// An endpoint's signing secret; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        // Only fails when the system's random source does.
        getrandom::getrandom(&mut bytes).expect("system random source");
        WebhookSecret(format!("{PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// `whsec_` and base64 (as stored, once opened).
    pub fn parse(text: &str) -> Option<Self> {
        let key = text.strip_prefix(PREFIX)?;
        let bytes = STANDARD.decode(key).ok()?;
        (!bytes.is_empty()).then(|| WebhookSecret(text.to_owned()))
    }

    /// A secret as a store holds it: below `store::sealed`, its sealed
    /// text.
    pub fn stored(text: String) -> Self {
        WebhookSecret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        // `parse` and `generate` only make secrets that decode.
        STANDARD
            .decode(self.0.strip_prefix(PREFIX).unwrap_or_default())
            .unwrap_or_default()
    }

    /// The `webhook-signature` of a delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries, checked
    /// with Python's own hmac module.
    #[test]
    fn signs_as_the_specification_does() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_generated_secret_parses_and_hides() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().len(), SECRET_BYTES);
        assert_eq!(WebhookSecret::parse(secret.expose()), Some(secret.clone()));
        assert_ne!(WebhookSecret::generate(), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        assert_eq!(WebhookSecret::parse("whsec_!!"), None);
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            None
        );
    }
}
