//! Recordings in a folder: the embedded default's recording store.

use super::{RecordingAccess, RecordingStore, StoreError};
use async_trait::async_trait;
use std::path::{Component, Path, PathBuf};

pub struct FsRecordingStore {
    root: PathBuf,
}

impl FsRecordingStore {
    pub fn new(root: PathBuf) -> Self {
        FsRecordingStore { root }
    }

    /// Keys are built from validated ids; this refuses anything that could
    /// still leave the root (defence in depth).
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let bad = || StoreError::UnsafeKey(key.to_owned());
        if key.is_empty()
            || key.contains('\\')
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(bad());
        }
        let relative = Path::new(key);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(bad());
        }
        Ok(self.root.join(relative))
    }
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

#[async_trait]
impl RecordingStore for FsRecordingStore {
    async fn put_file(
        &self,
        key: &str,
        file: &Path,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::UnsafeKey(key.to_owned()))?
            .to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("cannot create", &dir, e))?;
        // Write beside the target, sync, then rename: a reader never sees half a file.
        let tmp = dir.join(format!(".{}.part", uuid::Uuid::new_v4().simple()));
        let write = async {
            // A copy, not a rename: the file may be on another filesystem.
            tokio::fs::copy(file, &tmp).await?;
            tokio::fs::File::open(&tmp).await?.sync_all().await?;
            tokio::fs::rename(&tmp, &path).await?;
            // The rename is durable only once the folder itself is synced.
            #[cfg(unix)]
            tokio::fs::File::open(&dir).await?.sync_all().await?;
            Ok::<(), std::io::Error>(())
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_error("cannot write", &path, e));
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("cannot read", &path, e)),
        }
    }

    async fn access(&self, key: &str) -> Result<Option<RecordingAccess>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(Some(RecordingAccess::File {
                path,
                length: meta.len(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("cannot read", &path, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("cannot delete", &path, e)),
        }
        // The call's folder goes with its last recording; one that still
        // holds another stays (the removal fails, as it should).
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put(store: &FsRecordingStore, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        store.put_file(key, file.path(), "audio/wav").await
    }

    #[tokio::test]
    async fn round_trip_overwrite_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsRecordingStore::new(dir.path().to_path_buf());
        let key = "recordings/acme/CA1/RE1.wav";
        assert_eq!(store.get(key).await.unwrap(), None);
        put(&store, key, b"one").await.unwrap();
        assert_eq!(store.get(key).await.unwrap(), Some(b"one".to_vec()));
        put(&store, key, b"two").await.unwrap();
        assert_eq!(store.get(key).await.unwrap(), Some(b"two".to_vec()));
        assert_eq!(std::fs::read(dir.path().join(key)).unwrap(), b"two");
        let leftovers = std::fs::read_dir(dir.path().join("recordings/acme/CA1"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }

    #[tokio::test]
    async fn delete_removes_the_file_and_its_emptied_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsRecordingStore::new(dir.path().to_path_buf());
        let (one, two) = ("recordings/acme/CA1/RE1.wav", "recordings/acme/CA1/RE2.mp3");
        put(&store, one, b"one").await.unwrap();
        put(&store, two, b"two").await.unwrap();
        store.delete(one).await.unwrap();
        assert_eq!(store.get(one).await.unwrap(), None);
        assert_eq!(store.get(two).await.unwrap(), Some(b"two".to_vec()));
        store.delete(two).await.unwrap();
        assert!(!dir.path().join("recordings/acme/CA1").exists());
        store.delete(two).await.unwrap();
        assert!(store.delete("../x").await.is_err());
    }

    #[tokio::test]
    async fn keys_cannot_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsRecordingStore::new(dir.path().to_path_buf());
        for key in [
            "",
            "/etc/passwd",
            "../x.wav",
            "a/../../x",
            "a//b",
            "a/./b",
            "a\\b",
        ] {
            assert!(put(&store, key, &[1]).await.is_err(), "{key:?}");
            assert!(store.get(key).await.is_err(), "{key:?}");
        }
    }
}
