//! The `afureko` command line: serve, demo, sweep, tenants, callbacks.

mod api_key;
mod args;
mod callbacks;
mod ops;
mod tenant;

use crate::config::Config;
use crate::domain::tenant::{Tenant, TenantId};
use crate::startup;
use crate::store::Store;
use args::{AwsCommand, Cli, Command};
use clap::Parser;
use std::process::ExitCode;

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints the conversation; request logs would drown it.
    let level = if matches!(cli.command, Command::Demo { .. }) {
        "warn"
    } else {
        "info"
    };
    crate::telemetry::init(false, level);
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    let config = || Config::from_env().map_err(|e| e.to_string());
    match command {
        Command::Demo { language } => crate::demo::run(language).await.map_err(|e| e.to_string()),
        Command::Serve => startup::serve(config()?).await.map_err(|e| e.to_string()),
        Command::Sweep { limit } => ops::sweep(&config()?, limit).await,
        Command::Tenant(command) => tenant::tenant(&config()?, *command).await,
        Command::Callbacks(command) => callbacks::callbacks(&config()?, command).await,
        Command::ApiKey(command) => api_key::api_key(&config()?, command).await,
        Command::Aws(AwsCommand::Init) => ops::aws_init(&config()?).await,
    }
}

async fn store(config: &Config) -> Result<startup::Backend, String> {
    startup::backend(config).await.map_err(|e| e.to_string())
}

async fn load_tenant(store: &dyn Store, id: &str) -> Result<Tenant, String> {
    let id = TenantId::parse(id).map_err(|e| e.to_string())?;
    store
        .get_tenant(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant {id}"))
}
