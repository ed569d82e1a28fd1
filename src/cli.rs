//! The `afureko` command line: serve, demo, sweep, tenants, callbacks.

use crate::config::Config;
use crate::domain::api_key::ApiKey;
use crate::domain::ids::AccountSid;
use crate::domain::phone::{E164, Region, mask};
use crate::domain::prompts::{Language, PromptKey};
use crate::domain::routing::{Destination, RoutingMode};
use crate::domain::schedule::Holiday;
use crate::domain::tenant::{AuthToken, Tenant, TenantId, TenantSettings, TwilioCredentials};
use crate::startup;
use crate::store::Store;
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "afureko",
    version,
    about = "Callbacks for the calls a call center cannot answer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the webhooks on AFUREKO_LISTEN (default 127.0.0.1:3000).
    Serve,
    /// Play one scripted call in-process and print it as the caller lives it.
    #[cfg(feature = "sim")]
    Demo {
        /// Prompt language of the demo tenant.
        #[arg(long, default_value = "ja-JP")]
        language: Language,
    },
    /// Retry recording copies that failed.
    Sweep {
        /// Records to look at in one run.
        #[arg(long, default_value_t = 500)]
        limit: usize,
    },
    /// Create, show or change tenants.
    #[command(subcommand)]
    Tenant(Box<TenantCommand>),
    /// Look at callback records.
    #[command(subcommand)]
    Callbacks(CallbacksCommand),
    /// AWS set-up.
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Create, list or revoke a tenant's API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
}

#[derive(Subcommand)]
enum AwsCommand {
    /// Create the DynamoDB table (with its indexes and TTL) and the S3
    /// bucket named by AFUREKO_TABLE and AFUREKO_BUCKET, if missing.
    Init,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Make a new key; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        tenant: String,
        /// What the key is for, e.g. "front desk".
        #[arg(long)]
        name: Option<String>,
    },
    /// The tenant's keys (ids and names, never the keys).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by its id: it stops working at once.
    Revoke {
        #[arg(long)]
        tenant: String,
        key_id: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        twilio_account_sid: String,
        /// Also read from AFUREKO_TWILIO_AUTH_TOKEN, which keeps it out of shell history.
        #[arg(long, env = "AFUREKO_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        twilio_auth_token: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Show a tenant (never its secrets).
    Show { id: String },
    /// Change a tenant's settings or credentials.
    Update {
        id: String,
        #[arg(long)]
        twilio_account_sid: Option<String>,
        #[arg(long, env = "AFUREKO_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        twilio_auth_token: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
}

#[derive(Args)]
struct SettingsArgs {
    /// Prompt language: ja-JP (default) or en-US.
    #[arg(long)]
    language: Option<Language>,
    /// Twilio Say voice; defaults to the language's default voice.
    #[arg(long)]
    voice: Option<String>,
    /// Replace one prompt: NAME=TEXT (repeatable; `{number}` is read back).
    #[arg(long = "prompt", value_name = "NAME=TEXT")]
    prompts: Vec<String>,
    /// Put one prompt back to the language default (repeatable).
    #[arg(long = "reset-prompt", value_name = "NAME")]
    reset_prompts: Vec<PromptKey>,
    /// Secret of a Twilio webhook SharedKey, if the account signs with one.
    #[arg(long, env = "AFUREKO_TWILIO_WEBHOOK_KEY", hide_env_values = true)]
    twilio_webhook_key: Option<String>,
    #[arg(long)]
    max_recording_seconds: Option<u32>,
    #[arg(long)]
    number_entry_attempts: Option<u32>,
    #[arg(long)]
    max_callback_attempts: Option<u32>,
    #[arg(long)]
    callback_sla_minutes: Option<u32>,
    /// Minutes after which an agent's claim lapses.
    #[arg(long)]
    claim_timeout_minutes: Option<u32>,
    /// Minutes until an unreached callback is due again.
    #[arg(long)]
    retry_delay_minutes: Option<u32>,
    /// IANA time zone, e.g. Asia/Tokyo.
    #[arg(long)]
    time_zone: Option<String>,
    /// Region for numbers typed without a country code, e.g. JP.
    #[arg(long)]
    default_region: Option<String>,
    #[arg(long)]
    delete_twilio_recording: Option<bool>,
    #[command(flatten)]
    routing: RoutingArgs,
}

#[derive(Args)]
struct RoutingArgs {
    /// overflow (default), dial or queue.
    #[arg(long)]
    mode: Option<RoutingMode>,
    /// An agent's number or sip: URI for dial mode (repeatable; replaces the list).
    #[arg(long = "dial-to", value_name = "NUMBER|SIP")]
    dial_to: Vec<String>,
    /// Seconds the agents ring before the callback IVR (5-60).
    #[arg(long)]
    ring_timeout_seconds: Option<u32>,
    /// Caller ID shown to agents in dial mode ("none" for Twilio's default).
    #[arg(long)]
    dial_caller_id: Option<String>,
    #[arg(long)]
    queue_name: Option<String>,
    /// Audio played while waiting ("none" to say the queue_hold prompt).
    #[arg(long)]
    hold_audio_url: Option<String>,
    #[arg(long)]
    offer_interval_seconds: Option<u32>,
    #[arg(long)]
    max_wait_seconds: Option<u32>,
    #[arg(long)]
    max_queue_size: Option<u32>,
    /// Opening hours, e.g. mon-fri=09:00-12:00,13:00-18:00 or sun=closed (repeatable).
    #[arg(long = "hours", value_name = "DAYS=RANGES")]
    hours: Vec<String>,
    /// Forget the weekly hours: open around the clock.
    #[arg(long)]
    always_open: bool,
    /// A holiday, YYYY-MM-DD or YYYY-MM-DD=name (repeatable).
    #[arg(long = "holiday", value_name = "DATE[=NAME]")]
    holidays: Vec<String>,
    /// Remove a holiday (repeatable).
    #[arg(long = "remove-holiday", value_name = "DATE")]
    remove_holidays: Vec<String>,
    /// Closed now, whatever the hours say (true/false).
    #[arg(long)]
    closed_now: Option<bool>,
}

#[derive(Subcommand)]
enum CallbacksCommand {
    /// The tenant's callback records, newest first.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print whole phone numbers instead of masked ones.
        #[arg(long)]
        full: bool,
    },
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(false, log_level(&cli.command));
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
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

async fn run(command: Command) -> Result<(), String> {
    let config = || Config::from_env().map_err(|e| e.to_string());
    match command {
        #[cfg(feature = "sim")]
        Command::Demo { language } => crate::demo::run(language).await.map_err(|e| e.to_string()),
        Command::Serve => startup::serve(config()?).await.map_err(|e| e.to_string()),
        Command::Sweep { limit } => sweep(&config()?, limit).await,
        Command::Tenant(command) => tenant(&config()?, *command).await,
        Command::Callbacks(command) => callbacks(&config()?, command).await,
        Command::ApiKey(command) => api_key(&config()?, command).await,
        Command::Aws(AwsCommand::Init) => aws_init(&config()?).await,
    }
}

async fn store(config: &Config) -> Result<startup::Backend, String> {
    startup::backend(config).await.map_err(|e| e.to_string())
}

async fn sweep(config: &Config, limit: usize) -> Result<(), String> {
    let backend = store(config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        &config.twilio_api_base,
        std::sync::Arc::new(crate::clock::SystemClock),
    )
    .map_err(|e| e.to_string())?;
    let report = state.copier.sweep(limit).await.map_err(|e| e.to_string())?;
    println!(
        "sweep: {} stored, {} failed (will retry), {} given up, {} skipped",
        report.stored, report.failed, report.gave_up, report.skipped
    );
    Ok(())
}

impl SettingsArgs {
    fn apply(
        self,
        settings: &mut TenantSettings,
        twilio: &mut TwilioCredentials,
    ) -> Result<(), String> {
        if let Some(language) = self.language {
            if self.voice.is_none() && !language.accepts_voice(&settings.voice) {
                settings.voice = language.default_voice().to_owned();
            }
            settings.language = language;
        }
        if let Some(voice) = self.voice {
            settings.voice = voice;
        }
        for entry in self.prompts {
            let (name, text) = entry
                .split_once('=')
                .ok_or_else(|| format!("--prompt takes NAME=TEXT, got {entry:?}"))?;
            settings.prompts.insert(name.parse()?, text.to_owned());
        }
        for key in self.reset_prompts {
            settings.prompts.remove(&key);
        }
        if let Some(key) = self.twilio_webhook_key {
            twilio.webhook_shared_key = Some(AuthToken::new(&key).map_err(|e| e.to_string())?);
        }
        let numbers = [
            (
                self.max_recording_seconds,
                &mut settings.max_recording_seconds,
            ),
            (
                self.number_entry_attempts,
                &mut settings.number_entry_attempts,
            ),
            (
                self.max_callback_attempts,
                &mut settings.max_callback_attempts,
            ),
            (
                self.callback_sla_minutes,
                &mut settings.callback_sla_minutes,
            ),
        ];
        for (given, field) in numbers {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(tz) = self.time_zone {
            settings.time_zone = tz;
        }
        if let Some(region) = self.default_region {
            settings.default_region = Region::parse(&region).map_err(|e| e.to_string())?;
        }
        if let Some(delete) = self.delete_twilio_recording {
            settings.delete_twilio_recording = delete;
        }
        self.routing.apply(settings)?;
        settings.validate().map_err(|e| e.to_string())
    }
}

impl RoutingArgs {
    fn apply(self, settings: &mut TenantSettings) -> Result<(), String> {
        let region = settings.default_region;
        let routing = &mut settings.routing;
        if let Some(mode) = self.mode {
            routing.mode = mode;
        }
        if !self.dial_to.is_empty() {
            routing.dial.destinations = self
                .dial_to
                .iter()
                .map(|d| Destination::parse(d, region))
                .collect::<Result<_, _>>()?;
        }
        if let Some(seconds) = self.ring_timeout_seconds {
            routing.dial.ring_timeout_seconds = seconds;
        }
        if let Some(caller_id) = &self.dial_caller_id {
            routing.dial.caller_id = match caller_id.as_str() {
                "none" => None,
                number => Some(
                    E164::parse(number, region).map_err(|e| format!("--dial-caller-id: {e}"))?,
                ),
            };
        }
        if let Some(name) = &self.queue_name {
            routing.queue.name = name.clone();
        }
        if let Some(url) = &self.hold_audio_url {
            routing.queue.hold_audio_url = (url != "none").then(|| url.clone());
        }
        let numbers = [
            (
                self.offer_interval_seconds,
                &mut routing.queue.offer_interval_seconds,
            ),
            (self.max_wait_seconds, &mut routing.queue.max_wait_seconds),
            (self.max_queue_size, &mut routing.queue.max_queue_size),
        ];
        for (given, field) in numbers {
            if let Some(value) = given {
                *field = value;
            }
        }
        let schedule = &mut settings.schedule;
        if self.always_open {
            schedule.weekly = None;
        }
        for spec in &self.hours {
            schedule.set_hours(spec)?;
        }
        for entry in &self.holidays {
            let (date, name) = match entry.split_once('=') {
                Some((date, name)) => (date, Some(name.trim().to_owned())),
                None => (entry.as_str(), None),
            };
            let date: jiff::civil::Date = date
                .trim()
                .parse()
                .map_err(|_| format!("--holiday takes YYYY-MM-DD[=name], got {entry:?}"))?;
            schedule.holidays.retain(|h| h.date != date);
            schedule.holidays.push(Holiday { date, name });
        }
        for entry in &self.remove_holidays {
            let date: jiff::civil::Date = entry
                .trim()
                .parse()
                .map_err(|_| format!("--remove-holiday takes YYYY-MM-DD, got {entry:?}"))?;
            schedule.holidays.retain(|h| h.date != date);
        }
        schedule.holidays.sort_by_key(|h| h.date);
        if let Some(closed) = self.closed_now {
            schedule.closed_now = closed;
        }
        Ok(())
    }
}

async fn tenant(config: &Config, command: TenantCommand) -> Result<(), String> {
    let backend = store(config).await?;
    let store = backend.store.as_ref();
    match command {
        TenantCommand::Create {
            id,
            twilio_account_sid,
            twilio_auth_token,
            settings,
        } => {
            let id = TenantId::parse(&id).map_err(|e| e.to_string())?;
            let mut twilio = TwilioCredentials {
                account_sid: AccountSid::parse(&twilio_account_sid).map_err(|e| e.to_string())?,
                auth_token: AuthToken::new(&twilio_auth_token).map_err(|e| e.to_string())?,
                webhook_shared_key: None,
            };
            let mut tenant_settings =
                TenantSettings::for_language(settings.language.unwrap_or_default());
            settings.apply(&mut tenant_settings, &mut twilio)?;
            let tenant = Tenant {
                id,
                twilio,
                settings: tenant_settings,
                created_at: jiff::Timestamp::now(),
            };
            store
                .create_tenant(&tenant)
                .await
                .map_err(|e| e.to_string())?;
            println!("created tenant {}", tenant.id);
            print_tenant(config, &tenant);
        }
        TenantCommand::Show { id } => {
            let tenant = load_tenant(store, &id).await?;
            print_tenant(config, &tenant);
        }
        TenantCommand::Update {
            id,
            twilio_account_sid,
            twilio_auth_token,
            settings,
        } => {
            let mut tenant = load_tenant(store, &id).await?;
            if let Some(sid) = twilio_account_sid {
                tenant.twilio.account_sid = AccountSid::parse(&sid).map_err(|e| e.to_string())?;
            }
            if let Some(token) = twilio_auth_token {
                tenant.twilio.auth_token = AuthToken::new(&token).map_err(|e| e.to_string())?;
            }
            settings.apply(&mut tenant.settings, &mut tenant.twilio)?;
            store
                .update_tenant(&tenant)
                .await
                .map_err(|e| e.to_string())?;
            println!("updated tenant {}", tenant.id);
            print_tenant(config, &tenant);
        }
    }
    Ok(())
}

async fn aws_init(config: &Config) -> Result<(), String> {
    let target = config.aws.as_ref().ok_or(
        "AFUREKO_TABLE and AFUREKO_BUCKET: set both to name the table and bucket to create",
    )?;
    let sdk = startup::sdk_config().await;
    let table =
        crate::store::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &target.table)
            .await
            .map_err(|e| e.to_string())?;
    println!("table {}: {table}", target.table);
    let bucket = crate::store::s3::create_bucket(&startup::s3_client(&sdk), &target.bucket)
        .await
        .map_err(|e| e.to_string())?;
    println!("bucket {}: {bucket}", target.bucket);
    Ok(())
}

async fn api_key(config: &Config, command: ApiKeyCommand) -> Result<(), String> {
    let backend = store(config).await?;
    let store = backend.store.as_ref();
    match command {
        ApiKeyCommand::Create { tenant, name } => {
            let tenant = load_tenant(store, &tenant).await?;
            let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
            let made = ApiKey::generate(tenant.id.clone(), name, jiff::Timestamp::now());
            store
                .create_api_key(&made.key)
                .await
                .map_err(|e| e.to_string())?;
            println!("created API key {} for tenant {}", made.key.id, tenant.id);
            println!("{}", made.secret);
            eprintln!("This is the only time the key is shown: keep it now.");
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = load_tenant(store, &tenant).await?;
            let keys = store
                .list_api_keys(&tenant.id)
                .await
                .map_err(|e| e.to_string())?;
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
            let tenant = load_tenant(store, &tenant).await?;
            let key = store
                .revoke_api_key(&tenant.id, &key_id, jiff::Timestamp::now())
                .await
                .map_err(|e| e.to_string())?;
            println!("revoked API key {} of tenant {}", key.id, tenant.id);
        }
    }
    Ok(())
}

async fn load_tenant(store: &dyn Store, id: &str) -> Result<Tenant, String> {
    let id = TenantId::parse(id).map_err(|e| e.to_string())?;
    store
        .get_tenant(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant {id}"))
}

fn print_tenant(config: &Config, tenant: &Tenant) {
    let view = serde_json::json!({
        "id": tenant.id,
        "voice_webhook_url": config.public_url.join(&format!("/twilio/{}/voice", tenant.id)),
        "twilio": {
            "account_sid": tenant.twilio.account_sid,
            "auth_token": "(set, not shown)",
            "webhook_shared_key": if tenant.twilio.webhook_shared_key.is_some() { "(set, not shown)" } else { "(not set)" },
        },
        "settings": tenant.settings,
        "created_at": tenant.created_at,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&view).unwrap_or_default()
    );
}

async fn callbacks(config: &Config, command: CallbacksCommand) -> Result<(), String> {
    let CallbacksCommand::List {
        tenant,
        limit,
        full,
    } = command;
    let backend = store(config).await?;
    let tenant = TenantId::parse(&tenant).map_err(|e| e.to_string())?;
    if backend
        .store
        .get_tenant(&tenant)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("no tenant {tenant}"));
    }
    let records = backend
        .store
        .recent_callbacks(&tenant, limit)
        .await
        .map_err(|e| e.to_string())?;
    if records.is_empty() {
        println!("no callbacks for {tenant} yet");
        return Ok(());
    }
    let shown = |n: &str| if full { n.to_owned() } else { mask(n) };
    println!(
        "{:<20} {:<36} {:<9} {:<13} {:<16} {:<11} recording",
        "received (UTC)", "id", "status", "reason", "callback", "confirmed"
    );
    for r in records {
        let recording = r
            .recordings
            .iter()
            .map(|rec| rec.state.as_str())
            .collect::<Vec<_>>()
            .join(",");
        println!(
            "{:<20} {:<36} {:<9} {:<13} {:<16} {:<11} {}",
            r.received_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            r.id,
            r.status.as_str(),
            r.reason.as_str(),
            shown(r.callback_number.as_str()),
            r.confirmation.as_str(),
            if recording.is_empty() {
                "-".to_owned()
            } else {
                recording
            }
        );
    }
    Ok(())
}
