//! The `afureko` binary under test: `serve` as a child process that is
//! killed with SIGKILL and started again, and the one-shot commands.

use anyhow::{Context, bail};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::Mutex;

pub struct Afureko {
    pub bin: PathBuf,
    pub env: Vec<(String, String)>,
    /// `serve` writes its log here, across restarts.
    pub log: PathBuf,
    pub local_url: String,
}

impl Afureko {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs a one-shot command; returns its standard output.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut command = self.command(args);
        let shown = args.join(" ");
        let output = tokio::task::spawn_blocking(move || command.output())
            .await?
            .with_context(|| format!("cannot run afureko {shown}"))?;
        if !output.status.success() {
            bail!(
                "afureko {shown} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// `afureko serve`, running or not.
pub struct Server {
    afureko: Afureko,
    child: Mutex<Option<Child>>,
    http: reqwest::Client,
}

impl Server {
    pub fn new(afureko: Afureko) -> Self {
        Server {
            afureko,
            child: Mutex::new(None),
            http: reqwest::Client::new(),
        }
    }

    pub fn afureko(&self) -> &Afureko {
        &self.afureko
    }

    /// Starts `serve` and waits until `/healthz` answers.
    pub async fn start(&self) -> anyhow::Result<()> {
        let mut slot = self.child.lock().await;
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.afureko.log)?;
        let mut child = self
            .afureko
            .command(&["serve"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start afureko serve")?;
        let health = format!("{}/healthz", self.afureko.local_url);
        // Bounded: a server that never comes up ends the run.
        for _ in 0..600 {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "afureko serve exited ({status}); see {}",
                    self.afureko.log.display()
                );
            }
            let answer = self
                .http
                .get(&health)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                *slot = Some(child);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        bail!("afureko serve did not answer /healthz within a minute")
    }

    /// The running server's resident set (Linux `/proc`), in KiB.
    pub async fn rss_kb(&self) -> Option<u64> {
        let pid = self.child.lock().await.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// `kill -9`: no graceful shutdown, requests in flight are cut off.
    pub async fn kill(&self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.lock().await.take() {
            tokio::task::spawn_blocking(move || {
                child.kill()?;
                child.wait()
            })
            .await??;
        }
        Ok(())
    }
}
