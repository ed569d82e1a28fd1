//! The `afureko` binary as an operator runs it (docs/operations.md, "Commands"),
//! on the embedded store in a temporary data dir.

use afureko::domain::prompts::{Language, PromptKey};
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
fn tenant_show_never_prints_the_webhook_shared_key() {
    let cli = Cli::new();
    cli.create_acme();
    let updated = cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--twilio-webhook-key",
        "the-shared-webhook-key",
    ]);
    let shown = cli.ok(&["tenant", "show", "acme"]);
    for out in [&updated, &shown] {
        assert!(
            out.stdout
                .contains(r#""webhook_shared_key": "(set, not shown)""#),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("the-shared-webhook-key"));
        assert!(!out.stderr.contains("the-shared-webhook-key"));
    }
}

/// A copy job received `MAX_RECEIVES` times is dead; `sweep` re-drives it and says so.
#[tokio::test]
async fn the_sweep_re_drives_a_dead_copy_job_and_says_so() {
    use afureko::store::copy_queue::{CopyJob, CopyQueue, MAX_RECEIVES};
    let cli = Cli::new();
    cli.create_acme();
    {
        let queue = afureko::store::sqlite::SqliteStore::open(&cli.data.path().join("afureko.db"))
            .await
            .unwrap();
        let job = CopyJob::from_json(
            r#"{"tenant":"acme","callback":"0193a000-0000-7000-8000-000000000001","recording":"RE00000000000000000000000000000001"}"#,
        )
        .expect("a copy job");
        let now = jiff::Timestamp::now();
        queue.send(&job, now).await.unwrap();
        for receive in 1..=MAX_RECEIVES {
            assert_eq!(queue.depth(now).await.unwrap().dead, 0, "{receive}");
            let got = queue
                .receive(1, std::time::Duration::ZERO, now)
                .await
                .unwrap();
            assert_eq!(got.len(), 1, "receive {receive}");
            assert_eq!(got[0].receives, receive);
            queue
                .fail(&got[0], std::time::Duration::ZERO, now)
                .await
                .unwrap();
        }
        assert_eq!(queue.depth(now).await.unwrap().dead, 1);
    }
    let swept = cli.ok(&["sweep"]);
    assert_eq!(
        swept.stdout.lines().next(),
        Some("sweep: 1 re-driven, 0 unreadable; copy queue: 1 waiting, 0 in flight, 0 dead"),
        "{}",
        swept.stdout
    );
}

/// Plays the demo call in `language`: what it printed, and the record it
/// left (printed as JSON).
fn demo(language: &str) -> (String, serde_json::Value) {
    demo_with(&["--language", language])
}

/// Plays the demo call with these flags.
fn demo_with(args: &[&str]) -> (String, serde_json::Value) {
    let cli = Cli::new();
    let run = cli.ok(&[&["demo", "--keep"][..], args].concat());
    let json_start = run.stdout.find("\n{").expect("the record") + 1;
    let json_end = run.stdout[json_start..]
        .find("\n}\n")
        .expect("the record's end")
        + 2;
    let record = serde_json::from_str(&run.stdout[json_start..json_start + json_end]).unwrap();
    (run.stdout, record)
}

/// The thanks as the demo says it, with `{due}` spoken from the record's
/// due time (and window) at the call's arrival or a minute later (the
/// thanks comes a moment after it: midnight may fall between).
fn thanks_said(stdout: &str, record: &serde_json::Value, language: Language) -> bool {
    use afureko::domain::callback_window::Occurrence;
    use afureko::domain::due::due_phrase;
    let at = |field: &str| -> jiff::Timestamp { record[field].as_str().unwrap().parse().unwrap() };
    let window: Option<Occurrence> = serde_json::from_value(record["window"].clone()).ok();
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let due = at("due_at");
    [
        at("received_at"),
        at("received_at") + jiff::SignedDuration::from_mins(1),
    ]
    .iter()
    .any(|now| {
        let phrase = due_phrase(due, *now, &tokyo, language, window.as_ref());
        let text = PromptKey::Thanks
            .default_text(language)
            .replace("{due}", &phrase);
        stdout.contains(&format!("  afureko says: {text}\n"))
    })
}

#[test]
fn the_demo_reads_the_number_back_in_groups_and_says_when_the_callback_comes() {
    let (stdout, record) = demo("ja-JP");
    for said in [
        PromptKey::OfferCallerId
            .default_text(Language::JaJp)
            .replace("{number}", "ゼロサン、イチニーサンヨン、ゴーロクナナハチ"),
        PromptKey::ConfirmNumber
            .default_text(Language::JaJp)
            .replace(
                "{number}",
                "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ",
            ),
    ] {
        assert!(
            stdout.contains(&format!("  afureko says: {said}\n")),
            "{said}\n{stdout}"
        );
    }
    assert!(thanks_said(&stdout, &record, Language::JaJp), "{stdout}");

    let (stdout, record) = demo("en-US");
    assert!(
        stdout.contains("  afureko says: You entered 0 9 0, 1 2 3 4, 5 6 7 8. If that is right, press 1. To enter it again, press 2.\n"),
        "{stdout}"
    );
    assert!(thanks_said(&stdout, &record, Language::EnUs), "{stdout}");
}

#[test]
fn the_demo_says_the_number_and_chooses_a_window() {
    // 00:00-00:15 has always passed (or has too little left) when the call
    // comes: tomorrow's.
    let (stdout, record) = demo_with(&[
        "--number-entry",
        "dtmf-speech",
        "--callback-window",
        "1=00:00-00:15",
    ]);
    let read_back = "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ";
    for line in [
        format!(
            "  afureko says: {}\n",
            PromptKey::EnterNumberSpeech.default_text(Language::JaJp)
        ),
        format!("  caller says: {read_back}\n"),
        format!(
            "  afureko says: {}\n",
            PromptKey::ConfirmNumber
                .default_text(Language::JaJp)
                .replace("{number}", read_back)
        ),
        "  caller says: はい (that is right)\n".to_owned(),
        "  afureko says: できるだけ早くをご希望の方は0を、午前0時から0時15分は1を押してください。\n"
            .to_owned(),
        "  caller presses 1 (call me back 00:00-00:15)\n".to_owned(),
    ] {
        assert!(stdout.contains(&line), "{line}\n{stdout}");
    }
    assert!(
        stdout.contains("明日の午前0時から0時15分の間に"),
        "{stdout}"
    );
    assert!(thanks_said(&stdout, &record, Language::JaJp), "{stdout}");
    assert_eq!(record["callback_number"], "+819012345678");
    assert_eq!(record["confirmation"], "entered");
    assert_eq!(record["due_at"], record["window"]["end"]);

    let (stdout, record) = demo_with(&[
        "--language",
        "en-US",
        "--number-entry",
        "dtmf-speech",
        "--callback-window",
        "1=00:00-00:15",
    ]);
    for line in [
        "  caller says: oh nine oh, one two three four, five six seven eight\n",
        "  afureko says: You entered 0 9 0, 1 2 3 4, 5 6 7 8. If that is right, press 1. To enter it again, press 2.\n",
        "  caller says: Yes. (that is right)\n",
        "  afureko says: For a call as soon as possible, press 0. For midnight to 12:15 am, press 1.\n",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    assert!(thanks_said(&stdout, &record, Language::EnUs), "{stdout}");
}

#[test]
fn callback_windows_speech_and_the_due_time_are_set_from_the_command_line() {
    let cli = Cli::new();
    cli.create_acme();
    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--hours",
        "mon-fri=09:00-18:00",
        "--callback-window",
        "2=13:00-17:00",
        "--callback-window",
        "1=09:00-12:00",
        "--number-entry",
        "dtmf-speech",
        "--announce-due",
        "false",
    ]);
    let shown = settings(&cli);
    assert_eq!(
        shown["callback_windows"],
        serde_json::json!(["1=09:00-12:00", "2=13:00-17:00"])
    );
    assert_eq!(shown["number_entry"], "dtmf-speech");
    assert_eq!(shown["announce_due"], false);

    let refused = [
        (
            &["--callback-window", "1=17:00-19:00"][..],
            "callback_windows: callback window 1=17:00-19:00 is outside business hours on every day",
        ),
        (
            &[
                "--callback-window",
                "1=09:00-10:00",
                "--callback-window",
                "1=10:00-11:00",
            ][..],
            "callback_windows: key 1 is given to two callback windows",
        ),
        (
            &["--callback-window", "morning"][..],
            "a callback window must look like 1=09:00-12:00 (a key from 1 to 9), got \"morning\"",
        ),
        (
            &[
                "--no-callback-windows",
                "--callback-window",
                "1=09:00-10:00",
            ][..],
            "cannot be used with",
        ),
    ];
    for (args, message) in refused {
        let run = cli.run(&[&["tenant", "update", "acme"][..], args].concat());
        assert!(!run.ok, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    assert_eq!(
        settings(&cli)["callback_windows"].as_array().unwrap().len(),
        2
    );
    cli.ok(&["tenant", "update", "acme", "--no-callback-windows"]);
    assert_eq!(settings(&cli)["callback_windows"], serde_json::json!([]));
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
fn retention_days_are_set_within_their_bounds_and_the_sweep_reports_retention() {
    let cli = Cli::new();
    cli.create_acme();
    let audit = cli.ok(&["audit", "list", "--tenant", "acme"]);
    assert_eq!(audit.stdout, "no audit entries for acme\n");
    assert_eq!(settings(&cli)["retention_days"], 365);
    cli.ok(&["tenant", "update", "acme", "--retention-days", "30"]);
    assert_eq!(settings(&cli)["retention_days"], 30);
    let run = cli.run(&["tenant", "update", "acme", "--retention-days", "3651"]);
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("retention_days must be between 1 and 3650, got 3651"),
        "{}",
        run.stderr
    );
    let swept = cli.ok(&["sweep"]);
    assert!(
        swept
            .stdout
            .contains("retention: 0 expired records deleted with 0 recordings"),
        "{}",
        swept.stdout
    );
    // The change is audited as the API's are, by the operator; the
    // refused one is not.
    let audit = cli.ok(&["audit", "list", "--tenant", "acme"]);
    let entries = audit_entries(&audit.stdout);
    assert_eq!(entries.len(), 1, "{}", audit.stdout);
    assert_eq!(entries[0]["action"], "settings_changed");
    assert_eq!(entries[0]["actor"], "operator");
    assert_eq!(entries[0]["subject"], "acme");
    assert_eq!(entries[0]["counts"], serde_json::json!({"settings": 1}));
}

#[test]
fn click_to_call_is_set_up_by_flags_and_an_agent_gets_a_phone() {
    let cli = Cli::new();
    cli.create_acme();
    assert_eq!(
        settings(&cli)["outbound_caller_id"],
        serde_json::Value::Null
    );
    let flags = [
        "--outbound-caller-id",
        "+81 50 1234 5678",
        "--agent-ring-seconds",
        "30",
        "--callback-recording",
        "true",
        "--reached-min-seconds",
        "5",
    ];
    cli.ok(&[&["tenant", "update", "acme"][..], &flags].concat());
    let set = settings(&cli);
    assert_eq!(set["outbound_caller_id"], "+815012345678");
    assert_eq!(set["agent_ring_seconds"], 30);
    assert_eq!(set["callback_recording"], true);
    assert_eq!(set["reached_min_seconds"], 5);
    for (flag, value, message) in [
        (
            "--outbound-caller-id",
            "050-1234-5678",
            "outbound_caller_id: \"050-1234-5678\" is not a number in E.164",
        ),
        (
            "--agent-ring-seconds",
            "5",
            "agent_ring_seconds must be between 10 and 60, got 5",
        ),
    ] {
        let run = cli.run(&["tenant", "update", "acme", flag, value]);
        assert!(!run.ok);
        assert!(run.stderr.contains(message), "{}", run.stderr);
    }
    cli.ok(&["tenant", "update", "acme", "--outbound-caller-id", "none"]);
    assert_eq!(
        settings(&cli)["outbound_caller_id"],
        serde_json::Value::Null
    );

    let ann = ["--tenant", "acme", "--login", "ann"];
    let sip = ["--name", "Ann", "--phone", "sip:ann@pbx.example.com"];
    cli.ok(&[&["agent", "add"][..], &ann, &sip].concat());
    let list = || cli.ok(&["agent", "list", "--tenant", "acme"]).stdout;
    assert!(
        list().ends_with("  phone sip:ann@pbx.example.com\n"),
        "{}",
        list()
    );
    cli.ok(&[
        &["agent", "change"][..],
        &ann,
        &["--phone", "090-1234-5678"],
    ]
    .concat());
    assert!(list().ends_with("  phone +819012345678\n"), "{}", list());
    let bad = cli.run(&[&["agent", "change"][..], &ann, &["--phone", "call me"]].concat());
    assert!(!bad.ok);
    assert!(
        bad.stderr
            .contains("--phone: not a phone number or sip: URI: \"call me\""),
        "{}",
        bad.stderr
    );
    cli.ok(&[&["agent", "change"][..], &ann, &["--phone", "none"]].concat());
    assert!(!list().contains("phone"), "{}", list());
}

/// `audit list`'s lines, newest first.
fn audit_entries(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
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

/// The CLI takes the API's rules for a key's name, and audits what it
/// makes and revokes.
#[test]
fn an_api_key_name_is_refused_as_the_api_refuses_it_and_keys_are_audited() {
    let cli = Cli::new();
    cli.create_acme();
    for name in ["a\u{7}b", &"x".repeat(101)] {
        let run = cli.run(&["api-key", "create", "--tenant", "acme", "--name", name]);
        assert!(!run.ok);
        assert!(
            run.stderr
                .contains("name: at most 100 characters, no control characters"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let listed = cli.ok(&["api-key", "list", "--tenant", "acme"]);
    assert_eq!(listed.stdout, "no API keys for acme\n");

    let (key_id, _) = create_key(&cli);
    cli.ok(&["api-key", "revoke", "--tenant", "acme", &key_id]);
    let audit = cli.ok(&["audit", "list", "--tenant", "acme"]);
    let seen: Vec<(String, String, String)> = audit_entries(&audit.stdout)
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap().to_owned();
            (field("action"), field("actor"), field("subject"))
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("api_key_revoked".into(), "operator".into(), key_id.clone()),
            ("api_key_created".into(), "operator".into(), key_id),
        ]
    );
}

#[test]
fn an_agent_is_changed_and_every_agent_change_is_audited() {
    let cli = Cli::new();
    cli.create_acme();
    let agent = ["--tenant", "acme", "--login", "ann"];
    cli.ok(&[&["agent", "add"][..], &agent, &["--name", "Ann"]].concat());
    // A supervisor: the tenant's last active admin could not be disabled.
    let changed = cli.ok(&[&["agent", "change"][..], &agent, &["--role", "supervisor"]].concat());
    assert_eq!(
        changed.stdout,
        "changed ann of tenant acme: supervisor (Ann)\n"
    );
    let bad = cli.run(&[&["agent", "change"][..], &agent, &["--name", " "]].concat());
    assert!(!bad.ok);
    assert!(
        bad.stderr.contains("name must be 1-100 characters"),
        "{}",
        bad.stderr
    );
    cli.ok(&[&["agent", "reset-password"][..], &agent].concat());
    cli.ok(&[&["agent", "disable"][..], &agent].concat());
    let list = cli.ok(&["agent", "list", "--tenant", "acme"]).stdout;
    assert!(
        list.starts_with("ann ") && list.contains("supervisor"),
        "{list}"
    );

    let audit = cli.ok(&["audit", "list", "--tenant", "acme"]);
    let seen: Vec<(String, serde_json::Value)> = audit_entries(&audit.stdout)
        .iter()
        .map(|e| {
            assert_eq!(e["actor"], "operator");
            assert_eq!(e["subject"], "ann");
            (
                e["action"].as_str().unwrap().to_owned(),
                e["counts"].clone(),
            )
        })
        .collect();
    let none = serde_json::json!({});
    assert_eq!(
        seen,
        [
            ("agent_disabled".into(), none.clone()),
            ("agent_password_reset".into(), none.clone()),
            ("agent_changed".into(), serde_json::json!({"role": 1})),
            ("agent_added".into(), none),
        ]
    );
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
fn a_token_rotation_can_keep_the_old_token_and_only_named_secrets_change() {
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

    // `update` changes a secret only when told to: a token or webhook key
    // still exported from `tenant create` replaces nothing and ends no
    // rotation's overlap; the --…-from-env flags read them on purpose.
    let until = previous_token_until(&rotated);
    assert!(until.is_string(), "{}", rotated.stdout);
    let exported = |args: &[&str], token: &str, key: &str| {
        let mut command = cli.command(args);
        command
            .env("AFUREKO_TWILIO_AUTH_TOKEN", token)
            .env("AFUREKO_TWILIO_WEBHOOK_KEY", key);
        Run::from(command.output().expect("the binary runs"))
    };
    let unrelated = exported(
        &["tenant", "update", "acme", "--language", "en-US"],
        AUTH_TOKEN,
        "a-stale-webhook-key",
    );
    assert!(unrelated.ok, "{}", unrelated.stderr);
    assert_eq!(
        previous_token_until(&unrelated),
        until,
        "the overlap stands"
    );
    assert!(
        unrelated
            .stdout
            .contains(r#""webhook_shared_key": "(not set)""#),
        "{}",
        unrelated.stdout
    );

    let on_purpose = exported(
        &[
            "tenant",
            "update",
            "acme",
            "--twilio-auth-token-from-env",
            "--keep-previous-token-minutes",
            "30",
            "--twilio-webhook-key-from-env",
        ],
        "the-third-token",
        "the-shared-key",
    );
    assert!(on_purpose.ok, "{}", on_purpose.stderr);
    let later = previous_token_until(&on_purpose);
    assert!(later.is_string() && later != until, "{}", on_purpose.stdout);
    assert!(
        on_purpose
            .stdout
            .contains(r#""webhook_shared_key": "(set, not shown)""#),
        "{}",
        on_purpose.stdout
    );
    assert!(!on_purpose.stdout.contains("the-third-token"));

    let unset = cli.run(&["tenant", "update", "acme", "--twilio-auth-token-from-env"]);
    assert!(!unset.ok);
    assert!(
        unset
            .stderr
            .contains("AFUREKO_TWILIO_AUTH_TOKEN is not set"),
        "{}",
        unset.stderr
    );
    let both = exported(
        &[
            "tenant",
            "update",
            "acme",
            "--twilio-auth-token",
            "x",
            "--twilio-auth-token-from-env",
        ],
        "y",
        "z",
    );
    assert!(!both.ok, "{}", both.stdout);

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

/// What `tenant show` says until when the old token is still accepted.
fn previous_token_until(run: &Run) -> serde_json::Value {
    let json = run.stdout.find('{').map_or("", |at| &run.stdout[at..]);
    let shown: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    shown["twilio"]["previous_auth_token_accepted_until"].clone()
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

/// A tenant keeps an active admin: the CLI cannot disable its last one,
/// and `agent update --role admin` gives it another (also to recover a
/// tenant that has none).
#[test]
fn an_operator_gives_a_tenant_an_admin_but_never_removes_its_last() {
    let cli = Cli::new();
    cli.create_acme();
    for (login, role) in [("ada", "admin"), ("ann", "agent")] {
        cli.ok(&[
            "agent", "add", "--tenant", "acme", "--login", login, "--name", login, "--role", role,
        ]);
    }
    let refused_as_last = |args: &[&str], login: &str| {
        let refused = cli.run(args);
        assert!(!refused.ok, "{args:?}");
        let message = format!("{login} is the tenant's last active admin");
        assert!(refused.stderr.contains(&message), "{}", refused.stderr);
    };
    refused_as_last(
        &["agent", "disable", "--tenant", "acme", "--login", "ada"],
        "ada",
    );
    let promoted = cli.ok(&[
        "agent", "update", "--tenant", "acme", "--login", "ann", "--role", "admin",
    ]);
    assert_eq!(promoted.stdout, "changed ann of tenant acme: admin (ann)\n");
    cli.ok(&["agent", "disable", "--tenant", "acme", "--login", "ada"]);
    refused_as_last(
        &[
            "agent", "update", "--tenant", "acme", "--login", "ann", "--role", "agent",
        ],
        "ann",
    );
    let renamed = cli.ok(&[
        "agent", "update", "--tenant", "acme", "--login", "ann", "--name", "Ann Sato",
    ]);
    assert_eq!(
        renamed.stdout,
        "changed ann of tenant acme: admin (Ann Sato)\n"
    );
    let nothing = cli.run(&["agent", "update", "--tenant", "acme", "--login", "ann"]);
    assert!(!nothing.ok);
    let list = cli.ok(&["agent", "list", "--tenant", "acme"]).stdout;
    assert!(
        list.lines()
            .any(|row| row.starts_with("ann ") && row.contains(" admin ")),
        "{list}"
    );
}

#[test]
fn a_prompt_is_replaced_then_reset_to_the_default() {
    let cli = Cli::new();
    cli.create_acme();
    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--prompt",
        "greeting=Welcome to Acme.",
        "--prompt",
        "goodbye_caller_id=Bye.",
    ]);
    assert_eq!(
        settings(&cli)["prompts"],
        serde_json::json!({"greeting": "Welcome to Acme.", "goodbye_caller_id": "Bye."})
    );
    cli.ok(&["tenant", "update", "acme", "--reset-prompt", "greeting"]);
    assert_eq!(
        settings(&cli)["prompts"],
        serde_json::json!({"goodbye_caller_id": "Bye."})
    );
}

#[test]
fn always_open_forgets_the_hours_and_closed_now_switches_both_ways() {
    let cli = Cli::new();
    cli.create_acme();
    let open_around_the_clock = settings(&cli)["schedule"].clone();
    assert_eq!(open_around_the_clock["weekly"], serde_json::Value::Null);
    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--hours",
        "mon-fri=09:00-18:00",
        "--closed-now",
        "true",
    ]);
    let office = settings(&cli)["schedule"].clone();
    assert_ne!(office["weekly"], open_around_the_clock["weekly"]);
    assert_eq!(office["closed_now"], true);

    cli.ok(&["tenant", "update", "acme", "--closed-now", "false"]);
    let reopened = settings(&cli)["schedule"].clone();
    assert_eq!(reopened["closed_now"], false);
    assert_eq!(reopened["weekly"], office["weekly"], "the hours stay");

    cli.ok(&["tenant", "update", "acme", "--always-open"]);
    assert_eq!(settings(&cli)["schedule"], open_around_the_clock);
}

/// `afureko serve` on a free port of 127.0.0.1, killed when dropped; its
/// log goes to a file.
struct Server {
    child: std::process::Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Cli {
    async fn serve(&self) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = self.data.path().join("serve.log");
        let child = self
            .command(&["serve"])
            .env("AFUREKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("AFUREKO_LOG", "afureko=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("afureko serve starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        // Ready when /healthz answers (at most 30 s, then the test fails).
        for _ in 0..600 {
            if let Ok(reply) = reqwest::get(format!("{}/healthz", server.base)).await {
                assert_eq!(reply.status(), 200);
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("afureko serve did not answer /healthz");
    }
}

impl Server {
    /// A Twilio webhook signed for the public URL; returns status and body.
    async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        self.webhook_signed_with(AUTH_TOKEN, path, params).await
    }

    async fn webhook_signed_with(
        &self,
        token: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> (u16, String) {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let url = format!("https://calls.example.com{path}");
        let signature = afureko::twilio::signature::sign(
            token,
            &url,
            &params,
            afureko::twilio::signature::Algorithm::Sha1,
        );
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let reply = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    async fn api_status(&self, key: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/api/v1/callbacks", self.base))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The status of a first-call webhook signed with `token`.
    async fn voice_signed_with(&self, token: &str) -> u16 {
        let params = [
            ("CallSid", "CA00000000000000000000000000000009"),
            ("From", "+81312340009"),
            ("To", "+81120123456"),
        ];
        self.webhook_signed_with(token, "/twilio/acme/voice", &params)
            .await
            .0
    }

    /// Polls until a webhook signed with `token` gets `status`: the server
    /// sees a change made by the CLI once its tenant cache lapses (2 s);
    /// the deadline is far above that, so a slow machine does not fail it.
    async fn wait_for_status(&self, token: &str, status: u16) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.voice_signed_with(token).await != status {
            assert!(
                std::time::Instant::now() < deadline,
                "a webhook signed with {token} never got {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// A store that stays locked (another process holds SQLite's write lock
/// past the 5 s busy timeout): the webhook gets a 500 in the JSON error
/// shape, which names no cause, and the log line carries the whole chain.
#[tokio::test]
async fn a_5xx_log_line_carries_its_cause_chain() {
    let cli = Cli::new();
    cli.create_acme();
    let server = cli.serve().await;
    let lock = rusqlite::Connection::open(cli.data.path().join("afureko.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (status, body) = server
        .webhook(
            "/twilio/acme/voice",
            &[
                ("CallSid", "CA00000000000000000000000000000005"),
                ("From", "+81312340005"),
                ("To", "+81120123456"),
            ],
        )
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body,
        r#"{"error":{"code":"internal","message":"something went wrong on our side; it has been logged"}}"#
    );
    lock.execute_batch("ROLLBACK").unwrap();
    let log_path = server.log.clone();
    drop(server);
    let log = std::fs::read_to_string(log_path).unwrap();
    let line = log
        .lines()
        .find(|line| line.contains("request failed"))
        .unwrap_or_else(|| panic!("no 5xx line in:\n{log}"));
    for field in [
        "status=500",
        r#"route="/twilio/{tenant}/voice""#,
        // The error, then its cause (rusqlite's), then the cause's own.
        "error=SQLite ",
        ": database is locked: Error code 5: database is locked",
    ] {
        assert!(line.contains(field), "{field}: {line}");
    }
}

/// `tenant update --twilio-auth-token`, by the binary, while `serve` runs:
/// without an overlap the old token is refused and the new one accepted;
/// with one, both are accepted.
#[tokio::test]
async fn a_token_rotated_by_the_cli_is_enforced_by_the_running_server() {
    let cli = Cli::new();
    cli.create_acme();
    let server = cli.serve().await;
    assert_eq!(server.voice_signed_with(AUTH_TOKEN).await, 200);
    assert_eq!(server.voice_signed_with("second-token").await, 403);

    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--twilio-auth-token",
        "second-token",
    ]);
    server.wait_for_status(AUTH_TOKEN, 403).await;
    assert_eq!(server.voice_signed_with("second-token").await, 200);

    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--twilio-auth-token",
        "third-token",
        "--keep-previous-token-minutes",
        "60",
    ]);
    server.wait_for_status("third-token", 200).await;
    assert_eq!(server.voice_signed_with("second-token").await, 200);
    assert_eq!(server.voice_signed_with(AUTH_TOKEN).await, 403);
}

/// The path of the first `action="..."` in TwiML.
fn action_path(twiml: &str) -> String {
    let start = twiml.find("action=\"").expect("an action") + "action=\"".len();
    let url = &twiml[start..start + twiml[start..].find('"').unwrap()];
    url.replace("&amp;", "&")
        .strip_prefix("https://calls.example.com")
        .expect("an action under the public URL")
        .to_owned()
}

fn create_key(cli: &Cli) -> (String, String) {
    let created = cli.ok(&["api-key", "create", "--tenant", "acme"]);
    let mut lines = created.stdout.lines();
    let id = lines
        .next()
        .unwrap()
        .trim_start_matches("created API key ")
        .trim_end_matches(" for tenant acme")
        .to_owned();
    (id, lines.next().unwrap().to_owned())
}

/// Calls through `afureko serve`, then: the log names route patterns, masks
/// numbers and holds no secret; `callbacks list` masks unless `--full`; a
/// revoked key gets 401 from the running server.
#[tokio::test]
async fn serve_logs_masked_callbacks_list_and_a_revoked_key() {
    let cli = Cli::new();
    cli.create_acme();
    let (key_id, key) = create_key(&cli);
    let server = cli.serve().await;

    // A known caller: a record on the caller ID at the first webhook.
    let (status, _) = server
        .webhook(
            "/twilio/acme/voice",
            &[
                ("CallSid", "CA00000000000000000000000000000001"),
                ("From", "+81312340001"),
                ("To", "+81120123456"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    // A withheld caller types a number; it is in the confirm step's path.
    let call = "CA00000000000000000000000000000002";
    let (status, twiml) = server
        .webhook(
            "/twilio/acme/voice",
            &[
                ("CallSid", call),
                ("From", "anonymous"),
                ("To", "+81120123456"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, twiml) = server
        .webhook(
            &action_path(&twiml),
            &[
                ("CallSid", call),
                ("From", "anonymous"),
                ("Digits", "09012345678"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let confirm = action_path(&twiml);
    assert!(confirm.ends_with("/09012345678"), "{confirm}");
    let (status, twiml) = server
        .webhook(
            &confirm,
            &[("CallSid", call), ("From", "anonymous"), ("Digits", "1")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(twiml.contains("<Record"), "{twiml}");

    assert_eq!(server.api_status(&key).await, 200);
    cli.ok(&["api-key", "revoke", "--tenant", "acme", &key_id]);
    assert_eq!(server.api_status(&key).await, 401);

    let log_path = server.log.clone();
    drop(server);
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(!log.contains('\u{1b}'), "no terminal colours in a log file");
    for pattern in [
        "/twilio/{tenant}/voice",
        "/twilio/{tenant}/ivr/enter/{reason}/{arrived}/{attempt}",
        "/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}",
        "/api/v1/callbacks",
        "+81*****0001",
        "+81******5678",
    ] {
        assert!(log.contains(pattern), "{pattern} not in the log:\n{log}");
    }
    // One line per request: route pattern, tenant, CallSid, status, latency.
    let confirm_line = log
        .lines()
        .find(|line| {
            line.contains(" request status=")
                && line.contains(
                    r#"route="/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}""#,
                )
        })
        .expect("a request line for the confirm step");
    for field in [
        "status=200",
        "latency_ms=",
        "method=POST",
        r#"tenant="acme""#,
        r#"call_sid="CA00000000000000000000000000000002""#,
    ] {
        assert!(confirm_line.contains(field), "{field}: {confirm_line}");
    }
    assert!(
        log.lines().any(|line| line.contains(" request status=401")
            && line.contains(r#"route="/api/v1/callbacks""#)),
        "{log}"
    );
    for secret in [
        "09012345678",
        "+819012345678",
        "312340001",
        AUTH_TOKEN,
        key.as_str(),
        &key[4..],
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }

    let masked = cli.ok(&["callbacks", "list", "--tenant", "acme"]);
    let full = cli.ok(&["callbacks", "list", "--tenant", "acme", "--full"]);
    for (number, masked_number) in [
        ("+81312340001", "+81*****0001"),
        ("+819012345678", "+81******5678"),
    ] {
        assert!(masked.stdout.contains(masked_number), "{}", masked.stdout);
        assert!(!masked.stdout.contains(number), "{}", masked.stdout);
        assert!(full.stdout.contains(number), "{}", full.stdout);
    }
    assert_eq!(
        masked.stdout.lines().count(),
        3,
        "a heading and two records"
    );
}

/// The tenant's stored document, read past afureko.
fn stored_doc(cli: &Cli) -> String {
    let conn = rusqlite::Connection::open(cli.data.path().join("afureko.db")).unwrap();
    conn.query_row("SELECT doc FROM tenants WHERE id = 'acme'", [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn tenant_reseal_seals_a_plaintext_tenant_and_a_wrong_key_stops_the_cli() {
    let cli = Cli::new();
    cli.create_acme();
    let sealed = stored_doc(&cli);
    assert!(!sealed.contains(AUTH_TOKEN), "{sealed}");
    // As an older afureko stored it: the token in plaintext.
    let mut doc: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    doc["twilio"]["auth_token"] = AUTH_TOKEN.into();
    let conn = rusqlite::Connection::open(cli.data.path().join("afureko.db")).unwrap();
    conn.execute(
        "UPDATE tenants SET doc = ?1 WHERE id = 'acme'",
        [doc.to_string()],
    )
    .unwrap();
    cli.ok(&["tenant", "show", "acme"]);

    let resealed = cli.ok(&["tenant", "reseal"]);
    assert_eq!(resealed.stdout, "sealed the secrets of 1 tenants\n");
    let doc: serde_json::Value = serde_json::from_str(&stored_doc(&cli)).unwrap();
    let token = doc["twilio"]["auth_token"].as_str().unwrap();
    assert!(token.starts_with("afk1:"), "{token}");
    cli.ok(&["tenant", "show", "acme"]);

    let other_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let refused = Run::from(
        cli.command(&["tenant", "show", "acme"])
            .env("AFUREKO_SECRET_KEY", other_key)
            .output()
            .unwrap(),
    );
    assert!(!refused.ok);
    assert_eq!(
        refused.stderr.lines().last().unwrap(),
        "error: AFUREKO_SECRET_KEY does not open this store's secrets: it is not the key they were sealed with (restore that key)"
    );
}

/// `notify add` prints a standard endpoint's secret once, `list` shows
/// endpoints (never secrets) with their events, `remove` removes; a URL
/// that is not https to a public address is refused, unless the operator
/// allows private ones; every change is audited.
#[test]
fn notification_endpoints_are_added_listed_and_removed() {
    let cli = Cli::new();
    cli.create_acme();
    let url = "https://crm.example.com/hooks/afureko";
    let added = cli.ok(&[
        "notify",
        "add",
        "--tenant",
        "acme",
        "--url",
        url,
        "--events",
        "created,overdue,completed,failed",
        "--format",
        "standard",
    ]);
    let mut lines = added.stdout.lines();
    let heading = lines.next().unwrap();
    let id = heading
        .strip_prefix("added notification endpoint ")
        .and_then(|rest| rest.strip_suffix(" for tenant acme"))
        .unwrap_or_else(|| panic!("{heading}"));
    let secret = lines.next().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(lines.next(), None);
    assert!(
        added
            .stderr
            .contains("This is the only time the signing secret is shown")
    );
    let slack = "https://hooks.slack.com/services/T0/B0/x";
    let added = cli.ok(&[
        "notify", "add", "--tenant", "acme", "--url", slack, "--events", "created", "--format",
        "slack",
    ]);
    assert_eq!(added.stdout.lines().count(), 1, "Slack takes no secret");

    let listed = cli.ok(&["notify", "list", "--tenant", "acme"]);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", listed.stdout);
    assert!(lines[0].starts_with(id), "{}", lines[0]);
    for part in [
        "standard",
        "active",
        "created,overdue,completed,failed",
        url,
    ] {
        assert!(lines[0].contains(part), "{part}: {}", lines[0]);
    }
    assert!(
        lines[1].contains("slack") && lines[1].ends_with(slack),
        "{}",
        lines[1]
    );
    assert!(!listed.stdout.contains(secret));

    for (bad, why) in [
        ("http://crm.example.com/x", "url: must start with https://"),
        (
            "https://10.0.0.1/x",
            "url: 10.0.0.1 is not a public address",
        ),
    ] {
        let run = cli.run(&[
            "notify", "add", "--tenant", "acme", "--url", bad, "--events", "created",
        ]);
        assert!(!run.ok && run.stderr.contains(why), "{bad}: {}", run.stderr);
    }
    let run = cli.run(&[
        "notify", "add", "--tenant", "acme", "--url", url, "--events", "deleted",
    ]);
    assert!(
        !run.ok && run.stderr.contains("unknown event \"deleted\""),
        "{}",
        run.stderr
    );
    let local = cli
        .command(&[
            "notify",
            "add",
            "--tenant",
            "acme",
            "--url",
            "http://127.0.0.1:9/x",
            "--events",
            "created",
        ])
        .env("AFUREKO_ALLOW_PRIVATE_NOTIFY", "true")
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );

    cli.ok(&["notify", "remove", "--tenant", "acme", id]);
    let run = cli.run(&["notify", "remove", "--tenant", "acme", id]);
    assert!(
        !run.ok
            && run
                .stderr
                .contains(&format!("no notification endpoint \"{id}\""))
    );
    let audit = audit_entries(&cli.ok(&["audit", "list", "--tenant", "acme"]).stdout);
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "notification_endpoint_removed",
            "notification_endpoint_added",
            "notification_endpoint_added",
            "notification_endpoint_added",
        ]
    );
    assert_eq!(audit[3]["counts"]["events"], 4);
    assert_eq!(audit[3]["actor"], "operator");
}

#[test]
fn fallback_twiml_records_the_request_and_thanks_from_a_second_document() {
    let cli = Cli::new();
    cli.create_acme();
    cli.ok(&[
        "tenant",
        "update",
        "acme",
        "--prompt",
        "fallback_greeting=ただいま混み合っております。ご用件をどうぞ。",
    ]);
    let main = cli.ok(&["fallback-twiml", "--tenant", "acme"]);
    assert_eq!(
        main.stdout,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
            r#"<Say voice="Polly.Mizuki" language="ja-JP">ただいま混み合っております。ご用件をどうぞ。</Say>"#,
            r##"<Record action="acme-thanks.xml" method="GET" maxLength="120" timeout="5" finishOnKey="#" playBeep="true" recordingStatusCallback="https://calls.example.com/twilio/acme/recording" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>"##,
            "</Response>\n"
        )
    );
    let thanks = cli.ok(&["fallback-twiml", "--tenant", "acme", "--thanks"]);
    assert_eq!(
        thanks.stdout,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
            r#"<Say voice="Polly.Mizuki" language="ja-JP">ありがとうございました。担当者より折り返しお電話いたします。失礼いたします。</Say>"#,
            "<Hangup/></Response>\n"
        )
    );
    // Another language speaks its own defaults; a TwiML Bin's URL for the thanks.
    let english = cli.ok(&[
        "fallback-twiml",
        "--tenant",
        "acme",
        "--language",
        "en-US",
        "--thanks-url",
        "https://handler.twilio.com/twiml/EH00000000000000000000000000000000",
    ]);
    assert!(english.stdout.contains(r#"<Say voice="Polly.Joanna" language="en-US">Thank you for calling. We are sorry: our system is busy right now."#), "{}", english.stdout);
    assert!(english.stdout.contains(r#"<Record action="https://handler.twilio.com/twiml/EH00000000000000000000000000000000" method="GET""#));
    let unknown = cli.run(&["fallback-twiml", "--tenant", "nobody"]);
    assert!(!unknown.ok);
    assert!(
        unknown.stderr.ends_with("error: no tenant nobody\n"),
        "{}",
        unknown.stderr
    );
}

/// A call afureko never saw (the fallback URL's) leaves only its recording
/// at Twilio: `reconcile` makes its record, reason outage, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_makes_the_record_of_a_call_left_at_twilio_once() {
    use afureko::twilio::sim::{FakeCall, FakeRecording, FakeTwilioApi, tone_wav};
    let twilio = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN).await.unwrap();
    let cli = Cli::new();
    cli.create_acme();
    let (call, recording) = (
        "CA00000000000000000000000000000011",
        "RE00000000000000000000000000000011",
    );
    twilio.add_call(FakeCall::inbound(call, "+81312345678", "+81120123456"));
    twilio.add_recording(recording, tone_wav(0.5));
    let created = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(5);
    twilio.list_recording(FakeRecording::record_verb(recording, call, created));
    let reconcile = |cli: &Cli| {
        let mut command = cli.command(&["reconcile", "--tenant", "acme"]);
        command.env("AFUREKO_TWILIO_API_BASE", twilio.base_url());
        let run = Run::from(command.output().expect("the binary runs"));
        assert!(run.ok, "{}", run.stderr);
        run.stdout
    };
    assert_eq!(
        reconcile(&cli),
        "reconcile acme: 1 recordings listed (1 pages), 0 calls had records, 1 lost calls kept, 0 withheld (no caller ID, left at Twilio), 0 skipped; complete\n"
    );
    assert_eq!(
        reconcile(&cli),
        "reconcile acme: 1 recordings listed (1 pages), 1 calls had records, 0 lost calls kept, 0 withheld (no caller ID, left at Twilio), 0 skipped; complete\n"
    );
    let listed = cli.ok(&["callbacks", "list", "--tenant", "acme", "--full"]);
    let records: Vec<&str> = listed.stdout.lines().skip(1).collect();
    assert_eq!(records.len(), 1, "{}", listed.stdout);
    assert!(records[0].contains(" outage "), "{}", listed.stdout);
    assert!(listed.stdout.contains("+81312345678"), "{}", listed.stdout);
}
