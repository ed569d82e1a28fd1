//! `afureko notify add/list/remove`.

use super::args::NotifyCommand;
use super::{deps, load_tenant};
use crate::domain::audit::Actor;
use crate::domain::notify::address::Reach;
use crate::notify::{self, NewEndpoint};
use crate::startup::Backend;
use anyhow::Context;

pub async fn notify(backend: &Backend, reach: Reach, command: NotifyCommand) -> anyhow::Result<()> {
    let deps = deps(backend);
    match command {
        NotifyCommand::Add {
            tenant,
            url,
            events,
            format,
        } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let new = NewEndpoint {
                url: &url,
                events: &events,
                format,
            };
            let endpoint = notify::add(deps, &Actor::Operator, &tenant.id, new, reach)
                .await
                .with_context(|| {
                    format!("cannot add a notification endpoint to tenant {}", tenant.id)
                })?;
            println!(
                "added notification endpoint {} for tenant {}",
                endpoint.id, tenant.id
            );
            if let Some(secret) = &endpoint.secret {
                println!("{}", secret.expose());
                eprintln!(
                    "This is the only time the signing secret is shown: keep it now (it verifies webhook-signature)."
                );
            }
        }
        NotifyCommand::List { tenant } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let endpoints = notify::list(deps, &tenant.id).await.with_context(|| {
                format!(
                    "cannot list the notification endpoints of tenant {}",
                    tenant.id
                )
            })?;
            if endpoints.is_empty() {
                println!("no notification endpoints for {}", tenant.id);
            }
            for e in endpoints {
                let state = match &e.disabled {
                    Some(d) => format!("disabled ({})", d.reason),
                    None => "active".to_owned(),
                };
                let events: Vec<&str> = e.events.iter().map(|e| e.short()).collect();
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {}",
                    e.id,
                    e.format.as_str(),
                    state,
                    events.join(","),
                    e.url
                );
                if let Some(last) = e.deliveries.first() {
                    println!(
                        "  last: {} {:?} after {} tries at {}{}",
                        last.event,
                        last.state,
                        last.attempts,
                        last.last_at.strftime("%Y-%m-%d %H:%M:%S"),
                        last.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        NotifyCommand::Remove { tenant, id } => {
            let tenant = load_tenant(deps, &tenant).await?;
            notify::remove(deps, &Actor::Operator, &tenant.id, &id)
                .await
                .with_context(|| {
                    format!(
                        "cannot remove notification endpoint {id} of tenant {}",
                        tenant.id
                    )
                })?;
            println!("removed notification endpoint {id} of tenant {}", tenant.id);
        }
    }
    Ok(())
}
