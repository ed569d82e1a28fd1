//! `afureko audit list`: a tenant's audit trail, newest first, one JSON
//! object a line.

use super::args::AuditCommand;
use super::load_tenant;
use crate::config::Config;
use crate::startup;
use anyhow::Context;

pub async fn audit(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { tenant, limit } = command;
    let backend = startup::backend(config).await?;
    let tenant = load_tenant(backend.store.as_ref(), tenant).await?.id;
    let entries = backend
        .audit
        .list_audit(&tenant, limit)
        .await
        .with_context(|| format!("cannot read the audit trail of tenant {tenant}"))?;
    if entries.is_empty() {
        println!("no audit entries for {tenant}");
    }
    for entry in entries {
        println!("{}", serde_json::to_string(&entry)?);
    }
    Ok(())
}
