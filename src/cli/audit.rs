//! `afureko audit list`: a tenant's audit trail, newest first, one JSON
//! object a line.

use super::args::AuditCommand;
use super::{deps, load_tenant};
use crate::startup::Backend;
use crate::tenants;
use anyhow::Context;

pub async fn audit(backend: &Backend, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { tenant, limit } = command;
    let deps = deps(backend);
    let tenant = load_tenant(deps, &tenant).await?.id;
    let entries = tenants::audit_trail(deps, &tenant, limit)
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
