//! Read connections beside the writer: in WAL mode each reads the last
//! committed state while the writer writes, so reads never queue behind
//! writes or behind one another's lock.

use crate::store::StoreError;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Reads at once, each on its own connection (opened on first need).
const MAX_READERS: usize = 8;

pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub fn new(path: PathBuf) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_READERS)),
        })
    }

    /// Runs `f` on an idle read connection, off the async runtime.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the readers' semaphore is never closed");
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = readers.lock().pop();
            let conn = match idle {
                Some(conn) => conn,
                None => connect(&readers.path)?,
            };
            let result = f(&conn);
            readers.lock().push(conn);
            result
        })
        .await?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The file exists and is migrated by now (the writer opened it first).
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", true)?;
    conn.set_prepared_statement_cache_capacity(super::STATEMENT_CACHE);
    Ok(conn)
}
