//! Tenants' secrets sealed at rest: AES-256-GCM with a random 96-bit nonce
//! and the tenant id as associated data, so a sealed value copied to
//! another tenant does not open. Pure crypto: where the key comes from (a
//! local key or a KMS data key) and the key record that proves it at
//! start-up are `store::key_record`'s.
//!
//! Stored form: `afk1:{key id}:{base64url(nonce ‖ ciphertext ‖ tag)}`. A
//! value without the `afk1:` tag is legacy plaintext, written before
//! secrets were sealed; it is sealed on the tenant's next write.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

const TAG: &str = "afk1";

/// A 256-bit key that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// The base64 (standard alphabet) of 32 bytes, e.g. `openssl rand -base64 32`.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        bytes.try_into().ok().map(SecretKey)
    }

    /// The form `parse` reads.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    pub fn random() -> Self {
        let mut key = [0; 32];
        // Only fails when the system's random source does.
        aws_lc_rs::rand::fill(&mut key).expect("system random source");
        SecretKey(key)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a stored value does not open. Never holds the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed with key {found}, but the key in use is {expected}")]
    OtherKey { found: String, expected: String },
    #[error("the sealed value is malformed")]
    Malformed,
    /// Tampered, sealed for another tenant, or sealed with another key of
    /// the same id.
    #[error("the sealed value does not open (tampered, or sealed for another tenant)")]
    Rejected,
}

/// What a stored value held.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Sealed(String),
    /// Stored in plaintext by an older afureko.
    Legacy(String),
}

impl Opened {
    pub fn into_plaintext(self) -> String {
        match self {
            Opened::Sealed(text) | Opened::Legacy(text) => text,
        }
    }
}

/// Seals and opens with one 256-bit key, named by `key_id` in what it seals.
pub struct Sealer {
    key_id: String,
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.key_id)
    }
}

impl Sealer {
    /// `key_id` must not contain `:`.
    pub fn new(key_id: &str, key: &[u8; 32]) -> Self {
        Sealer {
            key_id: key_id.to_owned(),
            // Fails only for a key of the wrong length, which the type rules out.
            key: RandomizedNonceKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `stored` is sealed (by any key), not legacy plaintext.
    pub fn is_sealed(stored: &str) -> bool {
        stored
            .strip_prefix(TAG)
            .is_some_and(|rest| rest.starts_with(':'))
    }

    pub fn seal(&self, aad: &str, plaintext: &str) -> String {
        let mut in_out = plaintext.as_bytes().to_vec();
        // AES-GCM sealing fails only past 64 GiB or when the system's
        // random source fails, which nothing can recover from.
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad.as_bytes()), &mut in_out)
            .expect("AES-GCM seal");
        let mut bytes = nonce.as_ref().to_vec();
        bytes.extend_from_slice(&in_out);
        format!("{TAG}:{}:{}", self.key_id, URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, aad: &str, stored: &str) -> Result<Opened, OpenError> {
        if !Self::is_sealed(stored) {
            return Ok(Opened::Legacy(stored.to_owned()));
        }
        let mut parts = stored.splitn(3, ':').skip(1);
        let (Some(key_id), Some(data)) = (parts.next(), parts.next()) else {
            return Err(OpenError::Malformed);
        };
        if key_id != self.key_id {
            return Err(OpenError::OtherKey {
                found: key_id.to_owned(),
                expected: self.key_id.clone(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Malformed)?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut in_out)
            .map_err(|_| OpenError::Rejected)?;
        String::from_utf8(plain.to_vec())
            .map(Opened::Sealed)
            .map_err(|_| OpenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new("k1", &[7; 32])
    }

    #[test]
    fn a_key_is_the_base64_of_32_bytes() {
        assert_eq!(
            SecretKey::parse(&STANDARD.encode([1u8; 32])),
            Some(SecretKey([1; 32]))
        );
        assert_eq!(SecretKey::parse(&STANDARD.encode([1u8; 31])), None);
        assert_eq!(SecretKey::parse("not base64!"), None);
        assert_eq!(format!("{:?}", SecretKey([1; 32])), "SecretKey(***)");
    }

    #[test]
    fn a_sealed_value_opens_for_its_tenant_and_hides_the_plaintext() {
        let sealer = sealer();
        let sealed = sealer.seal("acme", "token-123");
        assert!(sealed.starts_with("afk1:k1:"), "{sealed}");
        assert!(!sealed.contains("token-123"));
        assert_eq!(
            sealer.open("acme", &sealed),
            Ok(Opened::Sealed("token-123".into()))
        );
        // A fresh nonce per seal: the same plaintext never seals the same.
        assert_ne!(sealed, sealer.seal("acme", "token-123"));
    }

    #[test]
    fn a_value_copied_to_another_tenant_does_not_open() {
        let sealer = sealer();
        let sealed = sealer.seal("acme", "token-123");
        assert_eq!(sealer.open("globex", &sealed), Err(OpenError::Rejected));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let sealer = sealer();
        let sealed = sealer.seal("acme", "token-123");
        let (head, data) = sealed.rsplit_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
        let last = bytes.len() - 1;
        bytes[NONCE_LEN] ^= 1;
        let flipped = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(sealer.open("acme", &flipped), Err(OpenError::Rejected));
        bytes[NONCE_LEN] ^= 1;
        bytes[last] ^= 0x80;
        let tag_flipped = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(sealer.open("acme", &tag_flipped), Err(OpenError::Rejected));
        assert_eq!(
            sealer.open("acme", "afk1:k1:AAAA"),
            Err(OpenError::Malformed)
        );
        assert_eq!(sealer.open("acme", "afk1:k1"), Err(OpenError::Malformed));
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = sealer().seal("acme", "token-123");
        assert_eq!(
            Sealer::new("k1", &[8; 32]).open("acme", &sealed),
            Err(OpenError::Rejected)
        );
        assert_eq!(
            Sealer::new("k2", &[7; 32]).open("acme", &sealed),
            Err(OpenError::OtherKey {
                found: "k1".into(),
                expected: "k2".into()
            })
        );
    }

    #[test]
    fn legacy_plaintext_reads_as_it_was() {
        let sealer = sealer();
        assert_eq!(
            sealer.open("acme", "0123456789abcdef0123456789abcdef"),
            Ok(Opened::Legacy("0123456789abcdef0123456789abcdef".into()))
        );
        assert!(!Sealer::is_sealed("afk1-not-sealed"));
        assert!(Sealer::is_sealed(&sealer.seal("acme", "x")));
    }
}
