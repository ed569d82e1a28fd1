//! `afureko callbacks list`.

use super::args::CallbacksCommand;
use super::{deps, load_tenant};
use crate::calls::work;
use crate::domain::phone::mask;
use crate::startup::Backend;
use anyhow::Context;

pub async fn callbacks(backend: &Backend, command: CallbacksCommand) -> anyhow::Result<()> {
    let CallbacksCommand::List {
        tenant,
        limit,
        full,
    } = command;
    let deps = deps(backend);
    let tenant = load_tenant(deps, &tenant).await?.id;
    let records = work::recent(deps, &tenant, limit)
        .await
        .with_context(|| format!("cannot list the callbacks of tenant {tenant}"))?;
    if records.is_empty() {
        println!("no callbacks for {tenant} yet");
        return Ok(());
    }
    let shown = |n: &str| if full { n.to_owned() } else { mask(n) };
    println!(
        "{:<20} {:<36} {:<9} {:<13} {:<16} {:<11} recording",
        "received (UTC)", "id", "status", "reason", "callback", "confirmed"
    );
    for r in records {
        let recording = r
            .recordings
            .iter()
            .map(|rec| rec.state.as_str())
            .collect::<Vec<_>>()
            .join(",");
        println!(
            "{:<20} {:<36} {:<9} {:<13} {:<16} {:<11} {}",
            r.received_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            r.id,
            r.status.as_str(),
            r.reason.as_str(),
            shown(r.callback_number.as_str()),
            r.confirmation.as_str(),
            if recording.is_empty() {
                "-".to_owned()
            } else {
                recording
            }
        );
    }
    Ok(())
}
