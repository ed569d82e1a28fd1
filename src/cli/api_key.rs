//! `afureko api-key create/list/revoke`.

use super::args::ApiKeyCommand;
use super::{deps, load_tenant};
use crate::accounts::keys;
use crate::domain::audit::Actor;
use crate::startup::Backend;
use anyhow::Context;

pub async fn api_key(backend: &Backend, command: ApiKeyCommand) -> anyhow::Result<()> {
    let deps = deps(backend);
    match command {
        ApiKeyCommand::Create { tenant, name } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let made = keys::create(deps, &Actor::Operator, &tenant.id, name.as_deref())
                .await
                .with_context(|| format!("cannot create an API key for tenant {}", tenant.id))?;
            println!("created API key {} for tenant {}", made.key.id, tenant.id);
            println!("{}", made.secret);
            eprintln!("This is the only time the key is shown: keep it now.");
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let keys = keys::list(deps, &tenant.id)
                .await
                .with_context(|| format!("cannot list the API keys of tenant {}", tenant.id))?;
            if keys.is_empty() {
                println!("no API keys for {}", tenant.id);
            }
            for key in keys {
                let state = match key.revoked_at {
                    Some(at) => format!("revoked {}", at.strftime("%Y-%m-%d %H:%M")),
                    None => "active".to_owned(),
                };
                println!(
                    "{:<18} {:<24} created {}  {}",
                    key.id,
                    key.name.as_deref().unwrap_or("-"),
                    key.created_at.strftime("%Y-%m-%d %H:%M"),
                    state
                );
            }
        }
        ApiKeyCommand::Revoke { tenant, key_id } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let key = keys::revoke(deps, &Actor::Operator, &tenant.id, &key_id)
                .await
                .with_context(|| {
                    format!("cannot revoke API key {key_id} of tenant {}", tenant.id)
                })?;
            println!("revoked API key {} of tenant {}", key.id, tenant.id);
        }
    }
    Ok(())
}
