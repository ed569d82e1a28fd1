//! The `afureko` binary as an operator runs it (README "Operator commands"),
//! on the embedded store in a temporary data dir.

use std::process::{Command, Output};

const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const AUTH_TOKEN: &str = "cli-test-auth-token";

/// One data dir shared by the commands of a test.
struct Cli {
    data: tempfile::TempDir,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new() -> Self {
        Cli {
            data: tempfile::tempdir().expect("a temporary data dir"),
        }
    }

    /// A clean environment: nothing from the caller's shell (AFUREKO_TABLE,
    /// a token) may change what the command does.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_afureko"));
        command
            .args(args)
            .env_clear()
            .env("AFUREKO_DATA_DIR", self.data.path())
            .env("AFUREKO_PUBLIC_URL", "https://calls.example.com")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("the binary runs"))
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(run.ok, "afureko {args:?} failed: {}", run.stderr);
        run
    }

    fn create_acme(&self) -> Run {
        self.ok(&[
            "tenant",
            "create",
            "--id",
            "acme",
            "--twilio-account-sid",
            ACCOUNT_SID,
            "--twilio-auth-token",
            AUTH_TOKEN,
        ])
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }
}

#[test]
fn tenant_create_and_show_print_the_webhook_url_but_never_the_token() {
    let cli = Cli::new();
    let created = cli.create_acme();
    assert!(created.stdout.starts_with("created tenant acme\n"));
    let shown = cli.ok(&["tenant", "show", "acme"]);
    for out in [&created, &shown] {
        assert!(
            out.stdout
                .contains(r#""voice_webhook_url": "https://calls.example.com/twilio/acme/voice""#),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains(r#""auth_token": "(set, not shown)""#));
        assert!(
            out.stdout
                .contains(&format!(r#""account_sid": "{ACCOUNT_SID}""#))
        );
        assert!(!out.stdout.contains(AUTH_TOKEN) && !out.stderr.contains(AUTH_TOKEN));
    }
}

#[test]
fn an_unknown_tenant_is_named() {
    let cli = Cli::new();
    let run = cli.run(&["tenant", "show", "ghost"]);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("error: no tenant ghost"),
        "{}",
        run.stderr
    );
}

#[test]
fn holidays_are_added_and_removed() {
    let cli = Cli::new();
    cli.create_acme();
    let updated = cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--holiday",
        "2026-12-31=year end",
    ]);
    assert!(updated.stdout.starts_with("updated tenant acme\n"));
    assert_eq!(
        holidays(&cli),
        serde_json::json!([{"date": "2026-12-31", "name": "year end"}])
    );

    cli.ok(&["tenant", "update", "acme", "--remove-holiday", "2026-12-31"]);
    assert_eq!(holidays(&cli), serde_json::json!([]));
}

/// The holidays `tenant show acme` prints.
fn holidays(cli: &Cli) -> serde_json::Value {
    settings(cli)["schedule"]["holidays"].clone()
}

/// The settings `tenant show acme` prints.
fn settings(cli: &Cli) -> serde_json::Value {
    let shown = cli.ok(&["tenant", "show", "acme"]);
    let tenant: serde_json::Value = serde_json::from_str(&shown.stdout).expect("JSON");
    tenant["settings"].clone()
}

#[test]
fn claim_timeout_and_retry_delay_are_set() {
    let cli = Cli::new();
    cli.create_acme();
    let args = [
        "--claim-timeout-minutes",
        "45",
        "--retry-delay-minutes",
        "90",
    ];
    cli.ok(&[&["tenant", "update", "acme"][..], &args].concat());
    let settings = settings(&cli);
    assert_eq!(settings["claim_timeout_minutes"], 45);
    assert_eq!(settings["retry_delay_minutes"], 90);
}

#[test]
fn a_bad_holiday_is_refused_naming_the_flag_and_the_value() {
    let cli = Cli::new();
    cli.create_acme();
    let run = cli.run(&["tenant", "update", "acme", "--holiday", "2026-13-01=nope"]);
    assert!(!run.ok);
    for fragment in ["--holiday", "YYYY-MM-DD[=name]", "2026-13-01=nope"] {
        assert!(run.stderr.contains(fragment), "{fragment}: {}", run.stderr);
    }
    assert!(run.stdout.is_empty());
}

#[test]
fn an_api_key_is_printed_once() {
    let cli = Cli::new();
    cli.create_acme();
    let created = cli.ok(&[
        "api-key",
        "create",
        "--tenant",
        "acme",
        "--name",
        "front desk",
    ]);
    let mut lines = created.stdout.lines();
    let heading = lines.next().expect("a first line");
    assert!(heading.starts_with("created API key "), "{heading}");
    assert!(heading.ends_with(" for tenant acme"), "{heading}");
    let key = lines.next().expect("the key on the second line");
    assert!(key.starts_with("afk_") && key.len() > 20, "{key}");
    assert_eq!(lines.next(), None);
    assert!(
        created
            .stderr
            .contains("This is the only time the key is shown")
    );

    let listed = cli.ok(&["api-key", "list", "--tenant", "acme"]);
    let key_id = heading
        .trim_start_matches("created API key ")
        .trim_end_matches(" for tenant acme");
    assert!(listed.stdout.starts_with(key_id), "{}", listed.stdout);
    assert!(listed.stdout.contains("front desk"));
    assert!(listed.stdout.contains("active"));
    assert!(!listed.stdout.contains(key) && !listed.stderr.contains(key));
}

#[test]
fn a_table_without_a_bucket_is_refused_naming_the_bucket_variable() {
    let cli = Cli::new();
    let run = Run::from(
        cli.command(&["tenant", "show", "acme"])
            .env("AFUREKO_TABLE", "afureko")
            .output()
            .expect("the binary runs"),
    );
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("error: AFUREKO_BUCKET: must be set with AFUREKO_TABLE"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_token_rotation_can_keep_the_old_token_for_a_while() {
    let cli = Cli::new();
    cli.create_acme();
    let shown = cli.ok(&["tenant", "show", "acme"]);
    assert!(
        shown
            .stdout
            .contains("\"previous_auth_token_accepted_until\": null"),
        "{}",
        shown.stdout
    );
    let rotated = cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--twilio-auth-token",
        "the-new-token",
        "--keep-previous-token-minutes",
        "60",
    ]);
    assert!(
        rotated
            .stdout
            .contains("\"previous_auth_token_accepted_until\": \"20"),
        "{}",
        rotated.stdout
    );
    assert!(!rotated.stdout.contains(AUTH_TOKEN));
    assert!(!rotated.stdout.contains("the-new-token"));

    let too_long = cli.run(&[
        "tenant",
        "update",
        "acme",
        "--twilio-auth-token",
        "another",
        "--keep-previous-token-minutes",
        "10081",
    ]);
    assert!(!too_long.ok);
    assert!(
        too_long.stderr.contains(
            "--keep-previous-token-minutes: keep_previous_token_minutes must be between 0 and 10080, got 10081"
        ),
        "{}",
        too_long.stderr
    );
    let without_token = cli.run(&[
        "tenant",
        "update",
        "acme",
        "--keep-previous-token-minutes",
        "5",
    ]);
    assert!(!without_token.ok);
    assert!(
        without_token.stderr.contains("--twilio-auth-token"),
        "{}",
        without_token.stderr
    );
}

#[test]
fn agents_are_added_listed_reset_and_disabled() {
    let cli = Cli::new();
    cli.create_acme();
    let added = cli.ok(&[
        "agent",
        "add",
        "--tenant",
        "acme",
        "--login",
        "Ann",
        "--name",
        "Ann Sato",
        "--role",
        "supervisor",
    ]);
    let mut lines = added.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("added supervisor ann (Ann Sato) to tenant acme")
    );
    let initial = lines.next().expect("the initial password");
    assert_eq!(initial.len(), 20);

    let mut given = cli.command(&[
        "agent", "add", "--tenant", "acme", "--login", "bob", "--name", "Bob",
    ]);
    given.env("AFUREKO_AGENT_PASSWORD", "bob's own passphrase");
    let bob = Run::from(given.output().unwrap());
    assert!(bob.ok, "{}", bob.stderr);
    assert!(!bob.stdout.contains("passphrase"), "{}", bob.stdout);

    let twice = cli.run(&[
        "agent", "add", "--tenant", "acme", "--login", "ann", "--name", "Ann",
    ]);
    assert!(!twice.ok);
    assert!(
        twice.stderr.contains("agent ann already exists"),
        "{}",
        twice.stderr
    );

    let reset = cli.ok(&[
        "agent",
        "reset-password",
        "--tenant",
        "acme",
        "--login",
        "ann",
    ]);
    let new_password = reset.stdout.lines().nth(1).expect("a new password");
    assert_ne!(new_password, initial);
    cli.ok(&["agent", "disable", "--tenant", "acme", "--login", "bob"]);

    let list = cli.ok(&["agent", "list", "--tenant", "acme"]).stdout;
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(rows[0].starts_with("ann ") && rows[0].contains("supervisor"));
    assert!(rows[0].ends_with("active (must change password)"), "{list}");
    assert!(
        rows[1].starts_with("bob ") && rows[1].contains("disabled"),
        "{list}"
    );
    assert!(!list.contains(initial) && !list.contains("argon2"));
}
