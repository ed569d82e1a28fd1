//! Download spools: where a recording waits between Twilio and the
//! recording store.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A download's temporary file, removed when dropped (also on a failure or
/// when the copy's budget runs out).
pub(super) struct Spool(PathBuf);

const SPOOL_PREFIX: &str = "afureko-";
const SPOOL_SUFFIX: &str = ".wav.part";

impl Spool {
    pub(super) fn new() -> Self {
        let name = format!(
            "{SPOOL_PREFIX}{}{SPOOL_SUFFIX}",
            uuid::Uuid::new_v4().simple()
        );
        Spool(std::env::temp_dir().join(name))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

/// Removes download spools left in `dir` by a process that was killed
/// (a `Drop` never ran). Only files older than `older_than` go: other
/// processes on this machine may be copying right now. Returns how many.
pub fn remove_stale_spools(dir: &Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(SPOOL_PREFIX) && name.ends_with(SPOOL_SUFFIX)
        })
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > older_than)
        })
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_spools_are_removed() {
        let dir = std::env::temp_dir().join(format!("afureko-spools-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let touch = |name: &str, age: Duration| {
            let file = std::fs::File::create(dir.join(name)).unwrap();
            file.set_modified(SystemTime::now() - age).unwrap();
        };
        let hour = Duration::from_secs(3600);
        touch("afureko-old.wav.part", 2 * hour);
        touch("afureko-fresh.wav.part", Duration::ZERO);
        touch("someone-else.wav.part", 2 * hour);
        touch("afureko-old.wav", 2 * hour);

        assert_eq!(remove_stale_spools(&dir, hour), 1);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "afureko-fresh.wav.part",
                "afureko-old.wav",
                "someone-else.wav.part"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
