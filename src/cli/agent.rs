//! `afureko agent add/list/update/disable/reset-password`.

use super::args::AgentCommand;
use super::load_tenant;
use crate::config::Config;
use crate::domain::agent::{self, AgentAccount, initial_password};
use crate::domain::phone::E164;
use crate::startup;
use anyhow::Context;

/// The initial password: `AFUREKO_AGENT_PASSWORD` if given, else a random
/// one that is printed once.
fn password(given: Option<String>) -> (String, bool) {
    match given {
        Some(p) => (p, false),
        None => (initial_password(), true),
    }
}

pub async fn agent(config: &Config, command: AgentCommand) -> anyhow::Result<()> {
    let backend = startup::backend(config).await?;
    let (store, agents) = (backend.store.as_ref(), backend.agents.as_ref());
    let now = jiff::Timestamp::now();
    match command {
        AgentCommand::Add {
            tenant,
            login,
            name,
            role,
            phone,
            password: given,
        } => {
            let tenant = load_tenant(store, tenant).await?;
            let login = agent::login(&login).context("--login")?;
            let name = agent::display_name(&name).context("--name")?;
            let phone = phone
                .map(|p| E164::parse(&p, tenant.settings.default_region))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
            let (password, generated) = password(given);
            let mut account =
                AgentAccount::new(tenant.id.clone(), login, name, role, &password, now)
                    .context("the initial password")?;
            account.phone = phone.map(|p| p.to_string());
            agents
                .create_agent(&account)
                .await
                .with_context(|| format!("cannot add agent {} to {}", account.login, tenant.id))?;
            println!(
                "added {} {} ({}) to tenant {}",
                account.role, account.login, account.name, tenant.id
            );
            if generated {
                println!("{password}");
                eprintln!(
                    "This initial password is shown once; the agent chooses a new one at first sign-in."
                );
            }
        }
        AgentCommand::List { tenant } => {
            let tenant = load_tenant(store, tenant).await?;
            let list = agents
                .list_agents(&tenant.id)
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
                println!("{:<20} {:<11} {:<30} {state}", a.login, a.role, a.name);
            }
        }
        AgentCommand::Update {
            tenant,
            login,
            role,
            name,
        } => {
            let mut account = find(agents, &tenant, &login).await?;
            if let Some(name) = name {
                account.name = agent::display_name(&name).context("--name")?;
            }
            account.role = role.unwrap_or(account.role);
            let account = agents.update_agent_keeping_an_admin(&account).await?;
            println!(
                "updated {} of tenant {tenant}: {}, {}",
                account.login, account.role, account.name
            );
        }
        AgentCommand::Disable { tenant, login } => {
            let mut account = find(agents, &tenant, &login).await?;
            account.disable(now);
            agents.update_agent_keeping_an_admin(&account).await?;
            println!(
                "disabled {} of tenant {}: signed out everywhere",
                account.login, tenant
            );
        }
        AgentCommand::ResetPassword {
            tenant,
            login,
            password: given,
        } => {
            let mut account = find(agents, &tenant, &login).await?;
            let (password, generated) = password(given);
            account
                .reset_password(&password)
                .context("the new password")?;
            agents.update_agent(&account).await?;
            println!(
                "reset the password of {} of tenant {}",
                account.login, tenant
            );
            if generated {
                println!("{password}");
                eprintln!("Shown once; the agent chooses a new one at the next sign-in.");
            }
        }
    }
    Ok(())
}

async fn find(
    agents: &dyn crate::store::agents::AgentStore,
    tenant: &crate::domain::ids::TenantId,
    login: &str,
) -> anyhow::Result<AgentAccount> {
    let login = agent::login(login).context("login")?;
    agents
        .get_agent(tenant, &login)
        .await
        .with_context(|| format!("cannot read agent {login}"))?
        .with_context(|| format!("no agent {login} in tenant {tenant}"))
}
