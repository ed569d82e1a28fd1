//! `afureko demo`: one scripted overflow call, played through the real
//! Router in-process with correctly signed requests, printed as the caller
//! lives it. A newcomer's first look, and a smoke test.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::callback_window::CallbackWindow;
use crate::domain::ids::{AccountSid, TenantId};
use crate::domain::prompts::Language;
use crate::domain::speech::NumberEntry;
use crate::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use crate::settings::{BaseUrl, RateLimits};
use crate::startup;
use crate::store::StoreError;
use crate::twilio::api::{MediaHosts, TwilioApi};
use crate::twilio::sim::{CallBackScript, Doc, FakeTwilioApi, Reply, Sim, tone_wav};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo setup failed: {0}")]
    Setup(String),
    #[error("the call went wrong at {step}: {detail}")]
    Call { step: &'static str, detail: String },
}

const PUBLIC_URL: &str = "https://afureko.example";
const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const AUTH_TOKEN: &str = "demo-auth-token";
const COMPANY: &str = "+81120000000";
const TYPED: &str = "09012345678";

/// The number `TYPED`, as speech recognition may hear it said.
fn spoken(language: Language) -> &'static str {
    match language {
        Language::JaJp => "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ",
        Language::EnUs => "oh nine oh, one two three four, five six seven eight",
    }
}

/// "Yes", as speech recognition hears it.
fn yes(language: Language) -> &'static str {
    match language {
        Language::JaJp => "はい",
        Language::EnUs => "Yes.",
    }
}

/// What the demo plays: the tenant it calls and what its caller does.
pub struct Script {
    /// The demo tenant's language.
    pub language: Language,
    /// The caller asks to be called back on the caller ID instead of
    /// giving another number.
    pub caller_id: bool,
    /// The caller's number.
    pub from: String,
    /// With speech, the caller says the number and says yes to confirm it.
    pub number_entry: NumberEntry,
    /// The windows the tenant offers; the caller chooses the first.
    pub windows: Vec<CallbackWindow>,
}

fn setup(e: impl std::error::Error + 'static) -> DemoError {
    DemoError::Setup(crate::telemetry::error_chain(&e))
}

fn expect_doc(
    step: &'static str,
    reply: Result<Reply, impl std::fmt::Display>,
) -> Result<Doc, DemoError> {
    let reply = reply.map_err(|e| DemoError::Call {
        step,
        detail: e.to_string(),
    })?;
    if reply.status != 200 {
        return Err(DemoError::Call {
            step,
            detail: format!("HTTP {}: {}", reply.status, reply.body),
        });
    }
    reply.doc().map_err(|e| DemoError::Call {
        step,
        detail: e.to_string(),
    })
}

fn hear(doc: &Doc) {
    for text in doc.said() {
        println!("  afureko says: {text}");
    }
    if doc.hangs_up() {
        println!("  (afureko hangs up)");
    }
}

/// `keep`: the configuration whose store the call is played into and kept
/// in (the demo tenant takes the script's number entry and windows); a
/// fresh temporary data dir otherwise.
pub async fn run(script: &Script, keep: Option<&Config>) -> Result<(), DemoError> {
    let language = script.language;
    let data_dir: PathBuf = match keep {
        Some(config) => config.data_dir.clone(),
        None => {
            std::env::temp_dir().join(format!("afureko-demo-{}", uuid::Uuid::new_v4().simple()))
        }
    };
    let twilio = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN)
        .await
        .map_err(setup)?;
    let backend = match keep {
        Some(config) => startup::backend(config).await.map_err(setup)?,
        None => startup::embedded(&data_dir, &Default::default(), Arc::new(SystemClock))
            .await
            .map_err(setup)?,
    };
    let public_url = BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).map_err(setup)?;
    let api = TwilioApi::new(&twilio.base_url(), MediaHosts::default()).map_err(setup)?;
    let clock = Arc::new(SystemClock);
    let state = startup::state(
        &backend,
        public_url,
        api,
        clock.clone(),
        RateLimits::default(),
    );

    let tenant = Tenant {
        id: TenantId::parse("demo").map_err(setup)?,
        twilio: TwilioCredentials {
            account_sid: AccountSid::parse(ACCOUNT_SID).map_err(setup)?,
            auth_token: AuthToken::new(AUTH_TOKEN).map_err(setup)?,
            webhook_shared_key: None,
            previous_auth_token: None,
        },
        settings: TenantSettings {
            number_entry: script.number_entry,
            callback_windows: script.windows.clone(),
            ..TenantSettings::for_language(language)
        },
        created_at: clock.now(),
    };
    tenant.settings.validate().map_err(setup)?;
    match backend.store.create_tenant(&tenant).await {
        // An earlier `demo --keep` made it, with the same credentials:
        // this run's entry and windows apply.
        Err(StoreError::AlreadyExists(_)) if keep.is_some() => {
            let mut kept = backend
                .store
                .get_tenant_fresh(&tenant.id)
                .await
                .map_err(setup)?
                .ok_or_else(|| DemoError::Setup("the demo tenant vanished".into()))?;
            kept.settings.number_entry = script.number_entry;
            kept.settings.callback_windows = script.windows.clone();
            kept.settings.validate().map_err(setup)?;
            backend.store.update_tenant(&kept).await.map_err(setup)?;
        }
        other => other.map_err(setup)?,
    }

    let copier = state.copier.clone();
    let sim = Sim::new(crate::http::app(state), PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN);
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let caller = script.from.as_str();
    let call = sim.call(&call_sid, caller, COMPANY);
    let speech = script.number_entry.speech();

    println!("A caller at {caller} rings the demo tenant while every agent is busy.");
    println!("Twilio asks afureko what to do ({PUBLIC_URL}/twilio/demo/voice):\n");
    let doc = expect_doc(
        "the incoming call",
        call.incoming(&format!("{PUBLIC_URL}/twilio/demo/voice"))
            .await,
    )?;
    hear(&doc);

    let doc = if doc.gather().is_none() {
        // A repeat caller (the number's earlier request is open) records
        // at once, into that record.
        doc
    } else if script.caller_id {
        println!("\n  caller presses 1 (call me back on this number)");
        let doc = expect_doc("the caller-ID offer", call.press(&doc, "1").await)?;
        hear(&doc);
        doc
    } else {
        println!("\n  caller presses 2 (call me on another number)");
        let doc = expect_doc("the caller-ID offer", call.press(&doc, "2").await)?;
        hear(&doc);

        let doc = if speech {
            let said = spoken(language);
            println!("\n  caller says: {said}");
            expect_doc("number entry", call.speak(&doc, said).await)?
        } else {
            println!("\n  caller types {TYPED} #");
            expect_doc("number entry", call.press(&doc, TYPED).await)?
        };
        hear(&doc);

        let doc = if speech {
            let said = yes(language);
            println!("\n  caller says: {said} (that is right)");
            expect_doc("confirmation", call.speak(&doc, said).await)?
        } else {
            println!("\n  caller presses 1 (that is right)");
            expect_doc("confirmation", call.press(&doc, "1").await)?
        };
        hear(&doc);
        doc
    };

    // With windows offered, the number settled, the caller chooses one.
    let doc = match script.windows.first() {
        Some(window) if doc.gather().is_some() => {
            let key = window.key.to_string();
            println!("\n  caller presses {key} (call me back {})", window.hours);
            let doc = expect_doc("the window choice", call.press(&doc, &key).await)?;
            hear(&doc);
            doc
        }
        _ => doc,
    };

    let recording_sid = format!("RE{}", uuid::Uuid::new_v4().simple());
    let recording_url = twilio.add_recording(&recording_sid, tone_wav(3.0));
    println!("\n  (beep) caller speaks for 3 seconds, then presses #");
    let after = expect_doc(
        "the recording",
        call.record(&doc, &recording_sid, &recording_url, 3).await,
    )?;
    hear(&after);

    println!("\nTwilio reports the recording (recordingStatusCallback: completed).");
    let status = call
        .recording_status(&doc, "completed", &recording_sid, &recording_url, 3)
        .await
        .map_err(|e| DemoError::Call {
            step: "the recording callback",
            detail: e.to_string(),
        })?;
    println!("  afureko answers HTTP {}", status.status);
    println!("\nThe copier takes the job from the queue: download, store, delete Twilio's copy.");
    let worked = copier
        .drain(Duration::from_secs(1), 3)
        .await
        .map_err(setup)?;
    println!("  stored {}, failed {}", worked.stored, worked.copy_failed);

    let call_sid = crate::domain::ids::CallSid::parse(&call_sid).map_err(setup)?;
    let record = backend
        .store
        .find_callback_by_call_sid(&tenant.id, &call_sid)
        .await
        .map_err(setup)?
        .ok_or_else(|| DemoError::Call {
            step: "the end",
            detail: "no callback record was left".into(),
        })?;
    println!("\nThe callback record the call left:");
    println!("{}", serde_json::to_string_pretty(&record).map_err(setup)?);
    let on_disk = keep.is_none_or(|config| config.aws.is_none());
    if let Some(key) = record
        .recordings
        .first()
        .and_then(|r| r.storage_key.as_ref())
        .filter(|_| on_disk)
    {
        let path = data_dir.join(key);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("\nThe recording: {} ({size} bytes)", path.display());
    }
    println!(
        "Twilio's copy deleted: {}",
        if twilio.deleted().contains(&recording_sid) {
            "yes"
        } else {
            "no"
        }
    );
    match keep {
        Some(_) => println!("Kept in the configured store as tenant demo."),
        None => println!("Demo data dir (safe to delete): {}", data_dir.display()),
    }
    Ok(())
}

/// `afureko twilio-stand-in`: Twilio's REST API on `listen` for the demo
/// tenant's account, playing every call afureko places with `script`
/// against `public_url`, until stopped. Prints its base URL first.
pub async fn twilio_stand_in(
    listen: std::net::SocketAddr,
    public_url: &str,
    script: CallBackScript,
) -> Result<(), DemoError> {
    let twilio = FakeTwilioApi::start_on(listen, ACCOUNT_SID, AUTH_TOKEN)
        .await
        .map_err(setup)?;
    let sim = Sim::over_http(public_url, ACCOUNT_SID, AUTH_TOKEN).map_err(setup)?;
    twilio.play_calls(sim, script);
    println!("{}", twilio.base_url());
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = ticks.tick() => {
                for played in twilio.played().await {
                    match played {
                        Ok(()) => println!("played a call back"),
                        Err(e) => eprintln!("a call back went wrong: {e}"),
                    }
                }
            }
        }
    }
}
