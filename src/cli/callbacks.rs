//! `afureko callbacks list`.

use super::args::CallbacksCommand;
use super::store;
use crate::config::Config;
use crate::domain::phone::mask;
use crate::domain::tenant::TenantId;

pub async fn callbacks(config: &Config, command: CallbacksCommand) -> Result<(), String> {
    let CallbacksCommand::List {
        tenant,
        limit,
        full,
    } = command;
    let backend = store(config).await?;
    let tenant = TenantId::parse(&tenant).map_err(|e| e.to_string())?;
    if backend
        .store
        .get_tenant(&tenant)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("no tenant {tenant}"));
    }
    let records = backend
        .store
        .recent_callbacks(&tenant, limit)
        .await
        .map_err(|e| e.to_string())?;
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
