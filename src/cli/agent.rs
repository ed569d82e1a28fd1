//! `afureko agent add/list/change (or update)/disable/reset-password`.

use super::args::AgentCommand;
use super::{deps, load_tenant};
use crate::accounts::agents::{self, AgentChange, NewAgent};
use crate::domain::agent;
use crate::domain::audit::Actor;
use crate::domain::tenant::Tenant;
use crate::startup::Backend;
use anyhow::Context;

/// `--phone` as typed; "none" is no phone.
fn phone_of(
    input: &str,
    tenant: &Tenant,
) -> anyhow::Result<Option<crate::domain::routing::Destination>> {
    let input = if input == "none" { "" } else { input };
    agent::phone(input, tenant.settings.default_region).map_err(|e| anyhow::anyhow!("--{e}"))
}

pub async fn agent(backend: &Backend, command: AgentCommand) -> anyhow::Result<()> {
    let deps = deps(backend);
    let operator = &Actor::Operator;
    match command {
        AgentCommand::Add {
            tenant,
            login,
            name,
            role,
            phone,
            password,
        } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let phone = match phone {
                Some(p) => phone_of(&p, &tenant)?,
                None => None,
            };
            let new = NewAgent {
                login: &login,
                name: &name,
                role,
                phone,
                password,
            };
            let added = agents::add(deps, operator, &tenant.id, new)
                .await
                .with_context(|| format!("cannot add agent {login} to {}", tenant.id))?;
            let account = &added.account;
            println!(
                "added {} {} ({}) to tenant {}",
                account.role, account.login, account.name, tenant.id
            );
            if added.generated {
                println!("{}", added.password);
                eprintln!(
                    "This initial password is shown once; the agent chooses a new one at first sign-in."
                );
            }
        }
        AgentCommand::List { tenant } => {
            let tenant = load_tenant(deps, &tenant).await?;
            let list = agents::list(deps, &tenant.id)
                .await
                .with_context(|| format!("cannot list the agents of {}", tenant.id))?;
            if list.is_empty() {
                println!("no agents for {}", tenant.id);
            }
            for a in list {
                let state = match a.disabled_at {
                    Some(at) => format!("disabled {}", at.strftime("%Y-%m-%d %H:%M")),
                    None if a.must_change_password => "active (must change password)".into(),
                    None => "active".into(),
                };
                let phone = a
                    .phone
                    .as_ref()
                    .map(|p| format!("  phone {p}"))
                    .unwrap_or_default();
                println!(
                    "{:<20} {:<11} {:<30} {state}{phone}",
                    a.login, a.role, a.name
                );
            }
        }
        AgentCommand::Change {
            tenant,
            login,
            name,
            role,
            phone,
        } => {
            let phone = match phone {
                Some(p) => Some(phone_of(&p, &load_tenant(deps, &tenant).await?)?),
                None => None,
            };
            let change = AgentChange {
                name,
                role,
                phone,
                disable: false,
            };
            let account = agents::change(deps, operator, &tenant, &login, change).await?;
            println!(
                "changed {} of tenant {}: {} ({})",
                account.login, tenant, account.role, account.name
            );
        }
        AgentCommand::Disable { tenant, login } => {
            let change = AgentChange {
                disable: true,
                ..AgentChange::default()
            };
            let account = agents::change(deps, operator, &tenant, &login, change).await?;
            println!(
                "disabled {} of tenant {}: signed out everywhere",
                account.login, tenant
            );
        }
        AgentCommand::ResetPassword {
            tenant,
            login,
            password,
        } => {
            let reset = agents::reset_password(deps, operator, &tenant, &login, password).await?;
            println!(
                "reset the password of {} of tenant {}",
                reset.account.login, tenant
            );
            if reset.generated {
                println!("{}", reset.password);
                eprintln!("Shown once; the agent chooses a new one at the next sign-in.");
            }
        }
    }
    Ok(())
}
