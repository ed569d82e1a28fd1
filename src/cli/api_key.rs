//! `afureko api-key create/list/revoke`.

use super::args::ApiKeyCommand;
use super::load_tenant;
use crate::config::Config;
use crate::domain::api_key::ApiKey;
use crate::startup;
use anyhow::Context;

pub async fn api_key(config: &Config, command: ApiKeyCommand) -> anyhow::Result<()> {
    let backend = startup::backend(config).await?;
    let store = backend.store.as_ref();
    match command {
        ApiKeyCommand::Create { tenant, name } => {
            let tenant = load_tenant(store, tenant).await?;
            let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
            let made = ApiKey::generate(tenant.id.clone(), name, jiff::Timestamp::now());
            store
                .create_api_key(&made.key)
                .await
                .with_context(|| format!("cannot create an API key for tenant {}", tenant.id))?;
            println!("created API key {} for tenant {}", made.key.id, tenant.id);
            println!("{}", made.secret);
            eprintln!("This is the only time the key is shown: keep it now.");
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = load_tenant(store, tenant).await?;
            let keys = store
                .list_api_keys(&tenant.id)
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
            let tenant = load_tenant(store, tenant).await?;
            let key = store
                .revoke_api_key(&tenant.id, &key_id, jiff::Timestamp::now())
                .await
                .with_context(|| {
                    format!("cannot revoke API key {key_id} of tenant {}", tenant.id)
                })?;
            println!("revoked API key {} of tenant {}", key.id, tenant.id);
        }
    }
    Ok(())
}
