//! The one writer connection, on a thread of its own. Writes that arrive
//! while a batch commits wait and go together into the next transaction
//! (group commit: one WAL append and one lock for many writes); each runs
//! in its own savepoint, so one that fails is rolled back alone. A caller
//! gets its answer only after the batch committed.

use crate::store::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// At most this many writes share a transaction, so one batch holds the
/// write lock (and the CLI, waiting on it) only briefly.
const MAX_BATCH: usize = 256;

/// A write waiting for its batch.
trait Write: Send {
    /// Runs the write inside its savepoint; false when it failed and must
    /// be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, commit: Result<(), &Arc<rusqlite::Error>>);
}

struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = match self.work.take() {
            // A panicking write must not take the writer thread with it.
            Some(work) => catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or(Err(StoreError::WritePanicked)),
            None => Err(StoreError::WritePanicked),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, commit: Result<(), &Arc<rusqlite::Error>>) {
        let result = match (self.result, commit) {
            // Its own failure says more than the batch's.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(e)) => Err(StoreError::Commit(e.clone())),
            (None, Ok(())) => Err(StoreError::WriterStopped),
        };
        // The caller may have gone (a dropped request); the write stands.
        let _ = self.reply.send(result);
    }
}

/// The handle callers write through; the thread ends when it is dropped.
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Write>>,
}

impl Writer {
    pub fn spawn(conn: Connection) -> Result<Writer, StoreError> {
        let (queue, writes) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(&conn, &writes))
            .map_err(StoreError::WriterThread)?;
        Ok(Writer { queue })
    }

    /// Runs `work` in the writer's next transaction and returns its result
    /// once that transaction committed. An error from `work` rolls back
    /// what `work` wrote, and nothing else.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            work: Some(work),
            result: None,
            reply,
        };
        self.queue
            .send(Box::new(pending))
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

fn run(conn: &Connection, writes: &mpsc::Receiver<Box<dyn Write>>) {
    while let Ok(first) = writes.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let commit = commit(conn, &mut batch).map_err(Arc::new);
        for write in batch {
            write.answer(commit.as_ref().map(|_| ()));
        }
    }
}

/// One transaction for the batch; IMMEDIATE takes the write lock at once
/// (waiting out another process within the busy timeout).
fn commit(conn: &Connection, batch: &mut [Box<dyn Write>]) -> Result<(), rusqlite::Error> {
    run_cached(conn, "BEGIN IMMEDIATE")?;
    let done = batch.iter_mut().try_for_each(|write| {
        run_cached(conn, "SAVEPOINT write")?;
        if !write.run(conn) {
            run_cached(conn, "ROLLBACK TO write")?;
        }
        run_cached(conn, "RELEASE write")
    });
    match done.and_then(|()| run_cached(conn, "COMMIT")) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Leaves the connection usable for the next batch.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e)
        }
    }
}

/// The batch's own statements, run for every write: prepared once, not
/// parsed each time (`execute_batch` would).
fn run_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn pending<T: Send + 'static>(
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> (Box<dyn Write>, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let write = Pending {
            work: Some(work),
            result: None,
            reply,
        };
        (Box::new(write), answer)
    }

    fn add_tenant(conn: &Connection, id: &str) -> Result<usize, StoreError> {
        Ok(conn.execute(
            "INSERT INTO tenants (id, doc) VALUES (?1, '{}')",
            params![id],
        )?)
    }

    #[test]
    fn a_failing_write_fails_alone_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::schema::connect(&dir.path().join("afureko.db")).unwrap();
        let (first, first_answer) = pending(|conn| add_tenant(conn, "first"));
        // Writes, then breaks a condition (the id is taken): all of it goes.
        let (failing, failing_answer) = pending(|conn| {
            add_tenant(conn, "partial")?;
            add_tenant(conn, "first")
        });
        let (last, last_answer) = pending(|conn| add_tenant(conn, "last"));
        let mut batch = vec![first, failing, last];

        commit(&conn, &mut batch).unwrap();
        for write in batch {
            write.answer(Ok(()));
        }

        assert_eq!(first_answer.blocking_recv().unwrap().unwrap(), 1);
        assert!(matches!(
            failing_answer.blocking_recv().unwrap(),
            Err(StoreError::Sqlite(_))
        ));
        assert_eq!(last_answer.blocking_recv().unwrap().unwrap(), 1);
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM tenants ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, ["first", "last"]);
    }

    #[test]
    fn a_batch_that_cannot_commit_fails_every_write_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::schema::connect(&dir.path().join("afureko.db")).unwrap();
        let (write, answer) = pending(|conn| add_tenant(conn, "acme"));
        let mut batch = vec![write];
        // A transaction left open makes BEGIN fail: nothing may claim success.
        conn.execute_batch("BEGIN").unwrap();
        let failed = commit(&conn, &mut batch).map_err(Arc::new);
        for write in batch {
            write.answer(failed.as_ref().map(|_| ()));
        }
        assert!(matches!(
            answer.blocking_recv().unwrap(),
            Err(StoreError::Commit(_))
        ));
    }

    #[tokio::test]
    async fn a_panicking_write_leaves_the_writer_running() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::schema::connect(&dir.path().join("afureko.db")).unwrap();
        let writer = Writer::spawn(conn).unwrap();
        let panicked = writer
            .write(|_| -> Result<(), StoreError> { panic!("a bug in a write") })
            .await;
        assert!(matches!(panicked, Err(StoreError::WritePanicked)));
        assert_eq!(
            writer.write(|conn| add_tenant(conn, "acme")).await.unwrap(),
            1
        );
    }
}
