//! The command line's shape: every subcommand and flag.

use crate::domain::agent::Role;
use crate::domain::ids::{AccountSid, TenantId};
use crate::domain::notify::EventType;
use crate::domain::notify::endpoint::Format;
use crate::domain::prompts::{Language, PromptKey};
use crate::domain::schedule::Holiday;
use crate::domain::settings::{Kind, SETTINGS, Setting, Value};
use clap::{Arg, ArgAction, ArgMatches, Args, Parser, Subcommand};
use jiff::civil::Date;

#[derive(Parser)]
#[command(
    name = "afureko",
    version,
    about = "Callbacks for the calls a call center cannot answer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the webhooks on AFUREKO_LISTEN (default 127.0.0.1:3000).
    Serve,
    /// Play one scripted call in-process and print it as the caller lives it.
    #[cfg(feature = "sim")]
    Demo {
        /// Prompt language of the demo tenant.
        #[arg(long, default_value = "ja-JP")]
        language: crate::domain::prompts::Language,
        /// Play the call into the configured store (AFUREKO_DATA_DIR, or
        /// AFUREKO_TABLE and AFUREKO_BUCKET) and keep it there, as tenant
        /// `demo`, to work it on the agents' page.
        #[arg(long)]
        keep: bool,
        /// The caller asks to be called back on the caller ID instead of
        /// typing another number; with `--keep`, a second run while the
        /// first record is open is a repeat call that joins it.
        #[arg(long)]
        caller_id: bool,
        /// The caller's number.
        #[arg(long, default_value = "+81312345678")]
        from: String,
        /// dtmf-speech: the caller says the number instead of typing it,
        /// and says yes to confirm it.
        #[arg(long, default_value = "dtmf")]
        number_entry: crate::domain::speech::NumberEntry,
        /// A callback window the demo tenant offers (repeatable, e.g.
        /// 1=09:00-12:00); the caller chooses the first.
        #[arg(long = "callback-window", value_name = "KEY=HH:MM-HH:MM")]
        callback_windows: Vec<crate::domain::callback_window::CallbackWindow>,
    },
    /// A test tool: Twilio's REST API on this machine, playing every call
    /// afureko places as Twilio would (point AFUREKO_TWILIO_API_BASE at it).
    #[cfg(feature = "sim")]
    #[command(hide = true)]
    TwilioStandIn {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// afureko's AFUREKO_PUBLIC_URL: the calls' webhooks are under it.
        #[arg(long)]
        public_url: String,
        /// What the agent does: press-KEYS, press-nothing, no-answer, busy or fails.
        #[arg(long, default_value = "press-1", value_parser = agent_play)]
        agent: crate::twilio::sim::AgentPlay,
        /// How the customer's leg ends: talks-SECONDS, busy, no-answer, fails or hangs-up.
        #[arg(long, default_value = "talks-45", value_parser = customer_play)]
        customer: crate::twilio::sim::CustomerPlay,
        /// Send the Dial's action and the last status callback twice.
        #[arg(long)]
        retries: bool,
    },
    /// Re-drive recording copy jobs the queue gave up on (dead-letter
    /// queue) and say what the copy queue holds; delete expired records and
    /// their recordings (embedded store; DynamoDB's TTL does it on AWS);
    /// announce records that went overdue (`callback.overdue`).
    Sweep {
        /// Dead jobs to move back in one run.
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
    /// Add, list, change, disable agents or reset their passwords.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Read a tenant's audit trail (erasures, API keys, settings changes).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the static TwiML for the Twilio number's fallback URL ("A call
    /// comes in", primary handler fails): the tenant's apology, `<Record>`
    /// of the request with its recording callback to afureko, then (from a
    /// second document, `--thanks`) the thanks. Nothing in it needs afureko
    /// during the call (docs/operations.md, "When afureko is down").
    FallbackTwiml(FallbackArgs),
    /// Make the records of calls left while afureko could not answer: the
    /// recordings Twilio holds whose calls have none (reason `outage`). One
    /// bounded run; run it again until it says complete. The scheduled
    /// sweeper does the same on AWS.
    Reconcile(ReconcileArgs),
    /// Add, list or remove a tenant's notification endpoints.
    #[command(subcommand)]
    Notify(NotifyCommand),
}

#[derive(Args)]
pub struct ReconcileArgs {
    /// One tenant; without it every tenant of the store, from where its
    /// last run ended.
    #[arg(long, value_parser = TenantId::parse)]
    pub tenant: Option<TenantId>,
    /// Look at the recordings created on this day (GMT) and after, not
    /// only those since the last run.
    #[arg(long, requires = "tenant")]
    pub since: Option<Date>,
}

#[derive(Args)]
pub struct FallbackArgs {
    #[arg(long, value_parser = TenantId::parse)]
    pub tenant: TenantId,
    /// The prompts' language, when not the tenant's (its default texts).
    #[arg(long)]
    pub language: Option<Language>,
    /// Print the second document instead: the thanks, and hang up.
    #[arg(long)]
    pub thanks: bool,
    /// Where the second document is served: the Record's action, fetched
    /// with GET. Default `{tenant}-thanks.xml`, beside the first.
    #[arg(long, conflicts_with = "thanks")]
    pub thanks_url: Option<String>,
}

#[derive(Subcommand)]
pub enum NotifyCommand {
    /// Add an endpoint; a standard one's signing secret is printed once.
    Add {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        /// https:// to a public address (http and private addresses only
        /// with AFUREKO_ALLOW_PRIVATE_NOTIFY=true).
        #[arg(long)]
        url: String,
        /// Events, comma-separated: created, repeat_call, overdue,
        /// completed, failed, copy_failed (or their full names).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<EventType>,
        /// standard: signed JSON (Standard Webhooks); slack: a Slack
        /// incoming webhook.
        #[arg(long, default_value = "standard")]
        format: Format,
    },
    /// The tenant's endpoints and how their newest delivery went (never
    /// their secrets).
    List {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
    },
    /// Remove an endpoint by its id: nothing more goes to it.
    Remove {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// The tenant's audit entries, newest first, one JSON object a line.
    List {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Add an agent; prints a one-time initial password unless
    /// AFUREKO_AGENT_PASSWORD gives it.
    Add {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: Role,
        /// The phone click-to-call rings: a number (E.164, or national in
        /// the tenant's region) or a sip: URI.
        #[arg(long)]
        phone: Option<String>,
        #[arg(
            long,
            env = "AFUREKO_AGENT_PASSWORD",
            hide_env_values = true,
            hide = true
        )]
        password: Option<String>,
    },
    /// The tenant's agents (never their passwords).
    List {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
    },
    /// Change an agent's name, role or phone (also `agent update`); `--role
    /// admin` gives a tenant an admin, also one left with none. The
    /// tenant's last active admin keeps the role.
    #[command(
        visible_alias = "update",
        group(clap::ArgGroup::new("change").required(true).multiple(true).args(["name", "role", "phone"]))
    )]
    Change {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: Option<String>,
        /// agent, supervisor or admin.
        #[arg(long)]
        role: Option<Role>,
        /// The phone click-to-call rings: a number or a sip: URI ("none"
        /// removes it).
        #[arg(long)]
        phone: Option<String>,
    },
    /// Disable an agent: every session ends at once (not the tenant's last
    /// active admin).
    Disable {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long)]
        login: String,
    },
    /// Set a new one-time password (printed once, or AFUREKO_AGENT_PASSWORD);
    /// every session ends and the agent chooses a new one at sign-in.
    ResetPassword {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long)]
        login: String,
        #[arg(
            long,
            env = "AFUREKO_AGENT_PASSWORD",
            hide_env_values = true,
            hide = true
        )]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Create the DynamoDB table (with its indexes and TTL) and the S3
    /// bucket named by AFUREKO_TABLE and AFUREKO_BUCKET, if missing.
    Init,
    /// Once, on a table written by an afureko before the sparse number
    /// index: index every open record by its number and give it its
    /// number's guard (docs/dynamodb.md, "Moving a deployment").
    Migrate,
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Make a new key; it is printed once and stored only as a hash.
    Create {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        /// What the key is for, e.g. "front desk".
        #[arg(long)]
        name: Option<String>,
    },
    /// The tenant's keys (ids and names, never the keys).
    List {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
    },
    /// Revoke a key by its id: it stops working at once.
    Revoke {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        key_id: String,
    },
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        #[arg(long, value_parser = TenantId::parse)]
        id: TenantId,
        #[arg(long, value_parser = AccountSid::parse)]
        twilio_account_sid: AccountSid,
        // Tokens stay text until used: clap echoes a value it rejects.
        /// Also read from AFUREKO_TWILIO_AUTH_TOKEN, which keeps it out of shell history.
        #[arg(long, env = "AFUREKO_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        twilio_auth_token: String,
        /// Secret of a Twilio webhook SharedKey, if the account signs with
        /// one; also read from AFUREKO_TWILIO_WEBHOOK_KEY.
        #[arg(long, env = "AFUREKO_TWILIO_WEBHOOK_KEY", hide_env_values = true)]
        twilio_webhook_key: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Show a tenant (never its secrets).
    Show {
        #[arg(value_parser = TenantId::parse)]
        id: TenantId,
    },
    /// Change a tenant's settings or credentials. Secrets change only when
    /// named: AFUREKO_TWILIO_AUTH_TOKEN and AFUREKO_TWILIO_WEBHOOK_KEY are
    /// read only with their --…-from-env flag.
    #[command(group(clap::ArgGroup::new("new_token").args(["twilio_auth_token", "twilio_auth_token_from_env"])))]
    Update {
        #[arg(value_parser = TenantId::parse)]
        id: TenantId,
        #[arg(long, value_parser = AccountSid::parse)]
        twilio_account_sid: Option<AccountSid>,
        #[arg(long)]
        twilio_auth_token: Option<String>,
        /// The new auth token from AFUREKO_TWILIO_AUTH_TOKEN (out of shell history).
        #[arg(long)]
        twilio_auth_token_from_env: bool,
        /// With a new token: keep accepting the old token for this
        /// many minutes (0-10080), for calls already under way.
        #[arg(long, default_value_t = 0, requires = "new_token")]
        keep_previous_token_minutes: u32,
        #[arg(long, conflicts_with = "twilio_webhook_key_from_env")]
        twilio_webhook_key: Option<String>,
        /// The webhook SharedKey's secret from AFUREKO_TWILIO_WEBHOOK_KEY.
        #[arg(long)]
        twilio_webhook_key_from_env: bool,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Seal every tenant's secrets now with the configured key: secrets
    /// stored in plaintext by an older afureko are otherwise sealed on the
    /// tenant's next change.
    Reseal,
}

#[derive(Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    pub defined: DefinedSettings,
    /// Replace one prompt: NAME=TEXT (repeatable; `{number}` is read back).
    #[arg(long = "prompt", value_name = "NAME=TEXT", value_parser = prompt)]
    pub prompts: Vec<(PromptKey, String)>,
    /// Put one prompt back to the language default (repeatable).
    #[arg(long = "reset-prompt", value_name = "NAME")]
    pub reset_prompts: Vec<PromptKey>,
    #[command(flatten)]
    pub routing: RoutingArgs,
}

/// A flag for each of `SETTINGS` (`--max-recording-seconds`), checked by
/// the setting's own kind, bounds and choices, as the API checks them.
pub struct DefinedSettings(pub Vec<(&'static Setting, Value)>);

/// Settings whose flags are the command line's own (`--prompt NAME=TEXT`,
/// `--holiday` and `--remove-holiday`, numbers in the tenant's region, …).
pub const OWN_FLAGS: [&str; 6] = [
    "prompts",
    "hours",
    "holidays",
    "dial_to",
    "dial_caller_id",
    "hold_audio_url",
];

fn generated(setting: &Setting) -> bool {
    !OWN_FLAGS.contains(&setting.name)
}

/// Flags that kept an older name as well.
const OLD_NAMES: [(&str, &str); 1] = [("routing_mode", "mode")];

fn flag(setting: &'static Setting) -> Arg {
    let value_name = match setting.kind {
        Kind::Boolean => "true|false".to_owned(),
        Kind::Integer { min, max } => format!("{min}-{max}"),
        Kind::Text { .. } => "TEXT".to_owned(),
        Kind::Choice(choices) => choices.join("|"),
        Kind::Phone => "E164|none".to_owned(),
        Kind::List { item, .. } => item.value_name().to_owned(),
        Kind::Region => "CC".to_owned(),
        Kind::Prompts => "NAME=TEXT".to_owned(),
    };
    let help = setting.help.trim_end_matches('.');
    let arg = Arg::new(setting.name)
        .value_name(value_name)
        .value_parser(move |text: &str| setting.parse(text).map_err(|e| e.to_string()));
    let arg = match setting.kind {
        // A list is given an item a flag, named in the singular
        // (`--callback-window`, repeated): the items replace the list.
        Kind::List { .. } => arg
            .long(list_flag(setting))
            .action(ArgAction::Append)
            .help(format!("{help} (repeatable; replaces the list)")),
        _ => arg.long(setting.name.replace('_', "-")).help(help),
    };
    OLD_NAMES
        .iter()
        .filter(|(name, _)| *name == setting.name)
        .fold(arg, |arg, (_, old)| arg.visible_alias(*old))
}

/// A list setting's flag: its name, in the plural, in the singular.
fn list_flag(setting: &Setting) -> String {
    let name = setting.name.replace('_', "-");
    name.strip_suffix('s').unwrap_or(&name).to_owned()
}

/// The flag that empties a list setting: `--no-callback-windows`.
fn clear_flag(setting: &'static Setting) -> Arg {
    Arg::new(clear_id(setting))
        .long(format!("no-{}", setting.name.replace('_', "-")))
        .action(ArgAction::SetTrue)
        .conflicts_with(setting.name)
        .help(format!("Clear {} (none)", setting.name))
}

fn clear_id(setting: &Setting) -> String {
    format!("no_{}", setting.name)
}

/// A setting's value from the command line, if given: a list's items
/// gathered and checked as a whole.
fn given(setting: &'static Setting, matches: &ArgMatches) -> Result<Option<Value>, clap::Error> {
    let Kind::List { .. } = setting.kind else {
        return Ok(matches.get_one::<Value>(setting.name).cloned());
    };
    if matches.get_flag(&clear_id(setting)) {
        return Ok(Some(Value::List(Vec::new())));
    }
    let Some(values) = matches.get_many::<Value>(setting.name) else {
        return Ok(None);
    };
    let items = values
        .flat_map(|v| match v {
            Value::List(items) => items.clone(),
            _ => Vec::new(),
        })
        .collect();
    setting
        .check(Value::List(items))
        .map(Some)
        .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n")))
}

impl clap::FromArgMatches for DefinedSettings {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Vec::new();
        for setting in SETTINGS.iter().filter(|s| generated(s)) {
            if let Some(value) = given(setting, matches)? {
                values.push((setting, value));
            }
        }
        Ok(DefinedSettings(values))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for DefinedSettings {
    fn augment_args(command: clap::Command) -> clap::Command {
        let settings = SETTINGS.iter().filter(|s| generated(s));
        settings.fold(command, |command, s| match s.kind {
            Kind::List { .. } => command.arg(flag(s)).arg(clear_flag(s)),
            _ => command.arg(flag(s)),
        })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

#[derive(Args)]
pub struct RoutingArgs {
    /// An agent's number or sip: URI for dial mode (repeatable; replaces the list).
    #[arg(long = "dial-to", value_name = "NUMBER|SIP")]
    pub dial_to: Vec<String>,
    /// Caller ID shown to agents in dial mode ("none" for Twilio's default).
    #[arg(long)]
    pub dial_caller_id: Option<String>,
    /// Audio played while waiting ("none" to say the queue_hold prompt).
    #[arg(long)]
    pub hold_audio_url: Option<String>,
    /// Opening hours, e.g. mon-fri=09:00-12:00,13:00-18:00 or sun=closed (repeatable).
    #[arg(long = "hours", value_name = "DAYS=RANGES")]
    pub hours: Vec<String>,
    /// Forget the weekly hours: open around the clock.
    #[arg(long)]
    pub always_open: bool,
    /// A holiday, YYYY-MM-DD or YYYY-MM-DD=name (repeatable).
    #[arg(long = "holiday", value_name = "DATE[=NAME]")]
    pub holidays: Vec<Holiday>,
    /// Remove a holiday (repeatable).
    #[arg(long = "remove-holiday", value_name = "DATE", value_parser = date)]
    pub remove_holidays: Vec<Date>,
}

#[derive(Subcommand)]
pub enum CallbacksCommand {
    /// The tenant's callback records, newest first.
    List {
        #[arg(long, value_parser = TenantId::parse)]
        tenant: TenantId,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print whole phone numbers instead of masked ones.
        #[arg(long)]
        full: bool,
    },
}

/// `--prompt NAME=TEXT`.
fn prompt(entry: &str) -> Result<(PromptKey, String), String> {
    let (name, text) = entry
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=TEXT, got {entry:?}"))?;
    Ok((name.parse()?, text.to_owned()))
}

/// `--remove-holiday YYYY-MM-DD`.
fn date(entry: &str) -> Result<Date, String> {
    entry
        .trim()
        .parse()
        .map_err(|_| format!("expected YYYY-MM-DD, got {entry:?}"))
}

/// `--agent` of the Twilio stand-in.
#[cfg(feature = "sim")]
fn agent_play(text: &str) -> Result<crate::twilio::sim::AgentPlay, String> {
    use crate::twilio::sim::AgentPlay;
    Ok(match text {
        "press-nothing" => AgentPlay::PressesNothing,
        "no-answer" => AgentPlay::NoAnswer,
        "busy" => AgentPlay::Busy,
        "fails" => AgentPlay::Fails,
        other => match other.strip_prefix("press-") {
            Some(keys) if !keys.is_empty() => AgentPlay::Presses(keys.to_owned()),
            _ => {
                return Err(format!(
                    "expected press-KEYS, press-nothing, no-answer, busy or fails, got {other:?}"
                ));
            }
        },
    })
}

/// `--customer` of the Twilio stand-in.
#[cfg(feature = "sim")]
fn customer_play(text: &str) -> Result<crate::twilio::sim::CustomerPlay, String> {
    use crate::twilio::sim::CustomerPlay;
    Ok(match text {
        "busy" => CustomerPlay::Busy,
        "no-answer" => CustomerPlay::NoAnswer,
        "fails" => CustomerPlay::Fails,
        "hangs-up" => CustomerPlay::AgentHangsUp,
        other => match other.strip_prefix("talks-").map(str::parse) {
            Some(Ok(seconds)) => CustomerPlay::Talks { seconds },
            _ => {
                return Err(format!(
                    "expected talks-SECONDS, busy, no-answer, fails or hangs-up, got {other:?}"
                ));
            }
        },
    })
}
