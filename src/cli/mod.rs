//! The `afureko` command line: serve, demo, sweep, tenants, callbacks,
//! API keys, agents, the audit trail.

mod agent;
mod api_key;
mod args;
mod audit;
mod callbacks;
mod fallback;
mod ops;
mod tenant;

use crate::config::Config;
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::startup;
use crate::store::Store;
use anyhow::Context;
use args::{AwsCommand, Cli, Command};
use clap::Parser;
use std::process::ExitCode;

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(false, log_level(&cli.command));
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}`: the error and its causes on one line.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn log_level(command: &Command) -> &'static str {
    match command {
        // The demo prints the conversation; request logs would drown it.
        #[cfg(feature = "sim")]
        Command::Demo { .. } => "warn",
        _ => "info",
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let config = Config::from_env;
    match command {
        #[cfg(feature = "sim")]
        Command::Demo {
            language,
            keep,
            caller_id,
        } => {
            let config = if keep { Some(config()?) } else { None };
            Ok(crate::demo::run(language, config.as_ref(), caller_id).await?)
        }
        Command::Serve => Ok(startup::serve(config()?).await?),
        Command::Sweep { limit } => ops::sweep(&config()?, limit).await,
        Command::Tenant(command) => tenant::tenant(&config()?, *command).await,
        Command::Callbacks(command) => callbacks::callbacks(&config()?, command).await,
        Command::ApiKey(command) => api_key::api_key(&config()?, command).await,
        Command::Agent(command) => agent::agent(&config()?, command).await,
        Command::Audit(command) => audit::audit(&config()?, command).await,
        Command::Aws(AwsCommand::Init) => ops::aws_init(&config()?).await,
        Command::Aws(AwsCommand::Migrate) => ops::aws_migrate(&config()?).await,
        Command::FallbackTwiml(args) => fallback::fallback_twiml(&config()?, args).await,
        Command::Reconcile(args) => fallback::reconcile(&config()?, args).await,
    }
}

async fn load_tenant(store: &dyn Store, id: TenantId) -> anyhow::Result<Tenant> {
    store
        .get_tenant(&id)
        .await
        .with_context(|| format!("cannot read tenant {id}"))?
        .with_context(|| format!("no tenant {id}"))
}
