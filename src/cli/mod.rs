//! The `afureko` command line: serve, demo, sweep, tenants, callbacks,
//! API keys, agents, the audit trail, notification endpoints.

mod agent;
mod api_key;
mod args;
mod audit;
mod callbacks;
mod fallback;
mod notify;
mod ops;
mod tenant;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::deps::Deps;
use crate::domain::ids::TenantId;
use crate::domain::notify::address::Reach;
use crate::domain::tenant::Tenant;
use crate::settings::BaseUrl;
use crate::startup::{self, Backend};
use crate::tenants;
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
            from,
            number_entry,
            callback_windows,
        } => {
            let config = if keep { Some(config()?) } else { None };
            let script = crate::demo::Script {
                language,
                caller_id,
                from,
                number_entry,
                windows: callback_windows,
            };
            Ok(crate::demo::run(&script, config.as_ref()).await?)
        }
        #[cfg(feature = "sim")]
        Command::TwilioStandIn {
            listen,
            public_url,
            agent,
            customer,
            retries,
        } => {
            let script = crate::twilio::sim::CallBackScript {
                agent,
                customer,
                retries,
            };
            Ok(crate::demo::twilio_stand_in(listen, &public_url, script).await?)
        }
        Command::Serve => Ok(startup::serve(config()?).await?),
        Command::Sweep { limit } => ops::sweep(&config()?, limit).await,
        Command::Aws(AwsCommand::Init) => ops::aws_init(&config()?).await,
        Command::Aws(AwsCommand::Migrate) => ops::aws_migrate(&config()?).await,
        Command::FallbackTwiml(args) => fallback::fallback_twiml(&config()?, args).await,
        Command::Reconcile(args) => fallback::reconcile(&config()?, args).await,
        command => {
            let config = config()?;
            let backend = startup::backend(&config).await?;
            on_backend(&backend, &config.public_url, config.notify_reach, command).await
        }
    }
}

/// Runs `afureko <args>` for a verb on tenants' data (tenant, agent,
/// api-key, callbacks, audit, notify) on `backend`, as the binary runs it
/// on the configured one (notification endpoints to public addresses
/// only); `public_url` is what `tenant` prints webhook URLs under. Tests
/// drive the CLI on every backend through it.
pub async fn run_on(backend: &Backend, public_url: &BaseUrl, args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("afureko").chain(args.iter().copied()))?;
    on_backend(backend, public_url, Reach::default(), cli.command).await
}

async fn on_backend(
    backend: &Backend,
    public_url: &BaseUrl,
    reach: Reach,
    command: Command,
) -> anyhow::Result<()> {
    match command {
        Command::Tenant(command) => tenant::tenant(backend, public_url, *command).await,
        Command::Callbacks(command) => callbacks::callbacks(backend, command).await,
        Command::ApiKey(command) => api_key::api_key(backend, command).await,
        Command::Agent(command) => agent::agent(backend, command).await,
        Command::Audit(command) => audit::audit(backend, command).await,
        Command::Notify(command) => notify::notify(backend, reach, command).await,
        _ => anyhow::bail!("this command opens its own backend: run it as afureko"),
    }
}

/// What the use cases run on: the configured backend's stores and the
/// system clock. The operator's changes are audited as `Actor::Operator`.
fn deps(backend: &Backend) -> Deps<'_> {
    Deps {
        store: backend.store.as_ref(),
        audio: backend.audio.as_ref(),
        agents: backend.agents.as_ref(),
        audit: backend.audit.as_ref(),
        endpoints: backend.endpoints.as_ref(),
        clock: &SystemClock,
    }
}

async fn load_tenant(deps: Deps<'_>, id: &TenantId) -> anyhow::Result<Tenant> {
    Ok(tenants::load(deps, id).await?)
}
