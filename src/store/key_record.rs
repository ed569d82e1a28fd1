//! Where the sealing key of tenants' secrets comes from, and the key record
//! that proves it is the right one. The record (one per store) holds a
//! sealed check value; at start-up the key must open it, so a wrong key
//! fails start-up with a message naming its source instead of rejecting
//! every webhook later. With KMS the record also holds the data key,
//! encrypted by the KMS key (envelope encryption): KMS is called once per
//! process, at start-up. The sealing itself is `secrets`'.

use super::{BoxError, StoreError};
use crate::secrets::{Opened, Sealer, SecretKey};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The check value, sealed with this associated data (not a tenant id:
/// those have no spaces).
const CHECK: &str = "afureko key check";

/// The file name of the embedded store's key, in the data dir.
pub const KEY_FILE: &str = "secret.key";

/// KMS ties the data key to this context: it decrypts for nothing else.
const KMS_CONTEXT: (&str, &str) = ("afureko", "tenant-secrets");

/// The store's one key record: what proves at start-up that the configured
/// key is the one its secrets were sealed with.
#[async_trait]
pub trait KeyRecordStore: Send + Sync {
    async fn key_record(&self) -> Result<Option<String>, StoreError>;
    /// Writes `record` unless there is one already; false when there was.
    async fn create_key_record(&self, record: &str) -> Result<bool, StoreError>;
}

/// Where the key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `AFUREKO_SECRET_KEY`.
    Env(SecretKey),
    /// A key file, made with mode 0600 at first start.
    File(PathBuf),
    /// A data key made and decrypted by the KMS key `key_id` (`AFUREKO_KMS_KEY_ID`).
    Kms {
        client: aws_sdk_kms::Client,
        key_id: String,
    },
}

impl KeySource {
    /// Names the source in messages, never the key.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env(_) => "AFUREKO_SECRET_KEY".to_owned(),
            KeySource::File(path) => format!("the key file {}", path.display()),
            KeySource::Kms { key_id, .. } => format!("AFUREKO_KMS_KEY_ID ({key_id})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{source_name} does not open this store's secrets: it is not the key they were sealed with (restore that key)"
    )]
    WrongKey { source_name: String },
    #[error(
        "this store's secrets were sealed with {stored}, but {configured} is configured: configure the key they were sealed with"
    )]
    OtherSource { stored: String, configured: String },
    #[error(
        "this store's secrets are sealed, but the key file {path} is missing: restore it, or set AFUREKO_SECRET_KEY to the key",
        path = path.display()
    )]
    KeyFileMissing { path: PathBuf },
    #[error("the key file {path} is not the base64 of 32 bytes", path = path.display())]
    MalformedKeyFile { path: PathBuf },
    #[error("cannot {what} the key file {path}", path = path.display())]
    KeyFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("KMS {op} with AFUREKO_KMS_KEY_ID ({key_id}) failed")]
    Kms {
        op: &'static str,
        key_id: String,
        #[source]
        source: BoxError,
    },
    #[error("KMS {op} answered without {what}")]
    KmsAnswer {
        op: &'static str,
        what: &'static str,
    },
    #[error("the store's key record is malformed")]
    MalformedRecord(#[source] serde_json::Error),
    #[error("the store's key record is damaged: {0}")]
    DamagedRecord(&'static str),
    #[error("cannot read or write the store's key record")]
    Store(#[from] StoreError),
}

/// What the store keeps about its key: never the key itself.
#[derive(Debug, Serialize, Deserialize)]
struct KeyRecord {
    /// The id sealed values name.
    key_id: String,
    #[serde(flatten)]
    kind: RecordKind,
    /// `CHECK`, sealed with the key.
    check: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RecordKind {
    /// `AFUREKO_SECRET_KEY` or the key file.
    Local,
    Kms {
        /// The ARN KMS named when it made the data key.
        kms_key_arn: String,
        /// The data key, encrypted by that KMS key (base64).
        encrypted_data_key: String,
    },
}

impl RecordKind {
    fn describe(&self) -> String {
        match self {
            RecordKind::Local => "a local key (AFUREKO_SECRET_KEY or the key file)".to_owned(),
            RecordKind::Kms { kms_key_arn, .. } => format!("the KMS key {kms_key_arn}"),
        }
    }
}

/// The sealer for the store behind `records`: checks the configured key
/// against the store's key record, or makes the record at first start.
pub async fn unlock(source: &KeySource, records: &dyn KeyRecordStore) -> Result<Sealer, KeyError> {
    // Twice at most: a process that started at the same moment may make
    // the record between our read and our write.
    for _ in 0..2 {
        if let Some(stored) = records.key_record().await? {
            let record: KeyRecord =
                serde_json::from_str(&stored).map_err(KeyError::MalformedRecord)?;
            let key = stored_key(source, &record.kind).await?;
            let sealer = Sealer::new(&record.key_id, key.expose());
            return match sealer.open(CHECK, &record.check) {
                Ok(Opened::Sealed(check)) if check == CHECK => Ok(sealer),
                _ => Err(KeyError::WrongKey {
                    source_name: source.describe(),
                }),
            };
        }
        let (key, kind) = new_key(source).await?;
        let key_id = random_key_id();
        let sealer = Sealer::new(&key_id, key.expose());
        let record = KeyRecord {
            check: sealer.seal(CHECK, CHECK),
            key_id,
            kind,
        };
        let json = serde_json::to_string(&record).map_err(|source| StoreError::Encode {
            what: "the key record",
            source,
        })?;
        if records.create_key_record(&json).await? {
            tracing::info!(
                key = source.describe(),
                "made the store's key record: tenants' secrets are sealed with this key"
            );
            return Ok(sealer);
        }
    }
    Err(KeyError::Store(StoreError::Unreadable(
        "the key record".to_owned(),
    )))
}

fn random_key_id() -> String {
    let mut id = [0u8; 6];
    aws_lc_rs::rand::fill(&mut id).expect("system random source");
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key for a store that has a key record.
async fn stored_key(source: &KeySource, kind: &RecordKind) -> Result<SecretKey, KeyError> {
    let other = || KeyError::OtherSource {
        stored: kind.describe(),
        configured: source.describe(),
    };
    match (source, kind) {
        (KeySource::Env(key), RecordKind::Local) => Ok(key.clone()),
        (KeySource::File(path), RecordKind::Local) => match read_key_file(path)? {
            Some(key) => Ok(key),
            None => Err(KeyError::KeyFileMissing { path: path.clone() }),
        },
        (
            KeySource::Kms { client, key_id },
            RecordKind::Kms {
                kms_key_arn,
                encrypted_data_key,
            },
        ) => {
            if !names_key(key_id, kms_key_arn) {
                return Err(other());
            }
            let blob = STANDARD
                .decode(encrypted_data_key)
                .map_err(|_| KeyError::DamagedRecord("its encrypted data key is not base64"))?;
            kms_decrypt(client, key_id, blob).await
        }
        _ => Err(other()),
    }
}

/// Whether the configured `AFUREKO_KMS_KEY_ID` may name the key `arn`: its
/// ARN or its key id. An alias is left to KMS, which refuses to decrypt
/// with a key other than the one named (IncorrectKeyException).
fn names_key(configured: &str, arn: &str) -> bool {
    configured == arn
        || configured.contains("alias/")
        || arn
            .rsplit_once(":key/")
            .is_some_and(|(_, id)| id == configured)
}

/// A key for a store without a key record.
async fn new_key(source: &KeySource) -> Result<(SecretKey, RecordKind), KeyError> {
    match source {
        KeySource::Env(key) => Ok((key.clone(), RecordKind::Local)),
        KeySource::File(path) => {
            let key = match read_key_file(path)? {
                Some(key) => key,
                None => create_key_file(path)?,
            };
            Ok((key, RecordKind::Local))
        }
        KeySource::Kms { client, key_id } => kms_generate(client, key_id).await,
    }
}

fn read_key_file(path: &Path) -> Result<Option<SecretKey>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => SecretKey::parse(&text)
            .map(Some)
            .ok_or_else(|| KeyError::MalformedKeyFile {
                path: path.to_owned(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::KeyFile {
            what: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a new random key, readable by this user only. `create_new`: a
/// key another process wrote first is never overwritten.
fn create_key_file(path: &Path) -> Result<SecretKey, KeyError> {
    use std::io::Write;
    let failed = |what| {
        move |source| KeyError::KeyFile {
            what,
            path: path.to_owned(),
            source,
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed("create the folder of"))?;
    }
    let key = SecretKey::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read_key_file(path)?.ok_or_else(|| KeyError::KeyFileMissing {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(failed("create")(e)),
    };
    file.write_all(format!("{}\n", key.to_base64()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed("write"))?;
    tracing::info!(path = %path.display(), "made a new secret key file: back it up with the data dir; without it tenants' Twilio tokens cannot be read");
    Ok(key)
}

fn kms_error(op: &'static str, key_id: &str) -> impl FnOnce(BoxError) -> KeyError {
    let key_id = key_id.to_owned();
    move |source| KeyError::Kms { op, key_id, source }
}

async fn kms_generate(
    client: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<(SecretKey, RecordKind), KeyError> {
    let out = client
        .generate_data_key()
        .key_id(key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
        .send()
        .await
        .map_err(|e| kms_error("GenerateDataKey", key_id)(e.into()))?;
    let missing = |what| KeyError::KmsAnswer {
        op: "GenerateDataKey",
        what,
    };
    let key = out
        .plaintext
        .and_then(|blob| <[u8; 32]>::try_from(blob.into_inner()).ok())
        .ok_or_else(|| missing("a 32-byte data key"))?;
    let encrypted = out
        .ciphertext_blob
        .ok_or_else(|| missing("the encrypted data key"))?;
    let arn = out.key_id.ok_or_else(|| missing("the key's ARN"))?;
    Ok((
        SecretKey::from_bytes(key),
        RecordKind::Kms {
            kms_key_arn: arn,
            encrypted_data_key: STANDARD.encode(encrypted.as_ref()),
        },
    ))
}

async fn kms_decrypt(
    client: &aws_sdk_kms::Client,
    key_id: &str,
    encrypted: Vec<u8>,
) -> Result<SecretKey, KeyError> {
    let out = client
        .decrypt()
        .key_id(key_id)
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(encrypted))
        .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
        .send()
        .await
        .map_err(|e| kms_error("Decrypt", key_id)(e.into()))?;
    out.plaintext
        .and_then(|blob| <[u8; 32]>::try_from(blob.into_inner()).ok())
        .map(SecretKey::from_bytes)
        .ok_or(KeyError::KmsAnswer {
            op: "Decrypt",
            what: "a 32-byte data key",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_kms_key_must_name_the_stored_one() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab";
        assert!(names_key(arn, arn));
        assert!(names_key("1234abcd-12ab", arn));
        assert!(names_key("alias/afureko", arn));
        assert!(!names_key("9999abcd-12ab", arn));
        assert!(!names_key(
            "arn:aws:kms:us-east-1:123456789012:key/9999abcd-12ab",
            arn
        ));
    }
}
