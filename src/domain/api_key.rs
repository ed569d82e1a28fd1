//! API keys: a tenant's agents and tools authenticate with them. Only a
//! hash is stored; the key itself is shown once, when created.

use crate::domain::ids::TenantId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Every key starts with this, so a leaked key is recognisable.
pub const KEY_PREFIX: &str = "afk_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public handle, e.g. for `api-key revoke`.
    pub id: String,
    pub tenant_id: TenantId,
    pub name: Option<String>,
    /// Hex SHA-256 of the whole key. Keys are 256 random bits, so a fast
    /// hash is enough: there is nothing to brute-force.
    pub hash: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// The longest name a key may have, in characters.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("name: at most {MAX_NAME_CHARS} characters, no control characters")]
    Name,
}

impl ApiKeyError {
    /// The input at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ApiKeyError::Name => "name",
        }
    }
}

/// What a key is for, as given: trimmed; blank is none.
pub fn key_name(input: Option<&str>) -> Result<Option<String>, ApiKeyError> {
    let Some(name) = input.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiKeyError::Name);
    }
    Ok(Some(name.to_owned()))
}

/// A freshly made key: the secret to show once, and the record to store.
pub struct NewApiKey {
    pub secret: String,
    pub key: ApiKey,
}

pub fn hash_key(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ApiKey {
    pub fn generate(tenant_id: TenantId, name: Option<String>, now: Timestamp) -> NewApiKey {
        // Two v4 UUIDs: 244 random bits from the OS generator.
        let random = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let secret = format!("{KEY_PREFIX}{random}");
        let id = format!("key_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        NewApiKey {
            key: ApiKey {
                id,
                tenant_id,
                name,
                hash: hash_key(&secret),
                created_at: now,
                revoked_at: None,
            },
            secret,
        }
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            key_name(Some(" front desk ")),
            Ok(Some("front desk".into()))
        );
        assert_eq!(key_name(Some("  ")), Ok(None));
        assert_eq!(key_name(None), Ok(None));
        assert_eq!(
            key_name(Some(&"x".repeat(MAX_NAME_CHARS)))
                .unwrap()
                .unwrap()
                .len(),
            100
        );
        assert_eq!(
            key_name(Some(&"x".repeat(MAX_NAME_CHARS + 1))),
            Err(ApiKeyError::Name)
        );
        assert_eq!(key_name(Some("a\u{7}b")), Err(ApiKeyError::Name));
    }

    #[test]
    fn keys_are_random_and_only_their_hash_is_kept() {
        let now: Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let a = ApiKey::generate(tenant.clone(), Some("desk".into()), now);
        let b = ApiKey::generate(tenant, None, now);
        assert!(a.secret.starts_with("afk_"));
        assert_eq!(a.secret.len(), 4 + 64);
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.key.id, b.key.id);
        assert_eq!(a.key.hash, hash_key(&a.secret));
        assert!(!serde_json::to_string(&a.key).unwrap().contains(&a.secret));
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
