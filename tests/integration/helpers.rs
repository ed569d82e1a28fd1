//! Spawns the real app on a temporary embedded store, with a fixed clock and
//! a fake Twilio media API on 127.0.0.1.

use afureko::clock::FixedClock;
use afureko::config::BaseUrl;
use afureko::domain::callback::CallbackRecord;
use afureko::domain::ids::{AccountSid, CallSid};
use afureko::domain::tenant::{AuthToken, Tenant, TenantId, TenantSettings, TwilioCredentials};
use afureko::http::AppState;
use afureko::startup::{self, Backend};
use afureko::twilio::sim::{Call, FakeTwilioApi, Sim};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PUBLIC_URL: &str = "https://calls.example.com";
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-acme";
pub const TENANT: &str = "acme";
pub const CALLER: &str = "+81312345678";
pub const COMPANY: &str = "+81120123456";
/// 2026-11-25T01:00:00Z
pub const NOW: &str = "2026-11-25T01:00:00Z";

pub struct TestApp {
    pub sim: Sim,
    pub backend: Backend,
    pub twilio: FakeTwilioApi,
    pub state: AppState,
    pub tenant: Tenant,
    pub dir: tempfile::TempDir,
    next_sid: AtomicU32,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TenantSettings::default()).await
}

pub async fn spawn_app_with(settings: TenantSettings) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let twilio = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN)
        .await
        .expect("fake Twilio API");
    let backend = startup::embedded(dir.path()).expect("embedded store");
    let clock = Arc::new(FixedClock::new(NOW.parse().unwrap()));
    let state = startup::state(
        &backend,
        BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap(),
        &BaseUrl::parse("AFUREKO_TWILIO_API_BASE", &twilio.base_url()).unwrap(),
        clock,
    )
    .expect("state");
    let tenant = Tenant {
        id: TenantId::parse(TENANT).unwrap(),
        twilio: TwilioCredentials {
            account_sid: AccountSid::parse(ACCOUNT_SID).unwrap(),
            auth_token: AuthToken::new(AUTH_TOKEN).unwrap(),
            webhook_shared_key: None,
        },
        settings,
        created_at: NOW.parse().unwrap(),
    };
    backend.store.create_tenant(&tenant).await.expect("tenant");
    let sim = Sim::new(
        afureko::http::app(state.clone()),
        PUBLIC_URL,
        ACCOUNT_SID,
        AUTH_TOKEN,
    );
    TestApp {
        sim,
        backend,
        twilio,
        state,
        tenant,
        dir,
        next_sid: AtomicU32::new(1),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{PUBLIC_URL}{path}")
    }

    pub fn voice_url(&self) -> String {
        self.url(&format!("/twilio/{TENANT}/voice"))
    }

    /// A fresh CallSid, unique within this app.
    pub fn call_sid(&self) -> String {
        format!("CA{:032x}", self.next_sid.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh RecordingSid.
    pub fn recording_sid(&self) -> String {
        format!("RE{:032x}", self.next_sid.fetch_add(1, Ordering::Relaxed))
    }

    pub fn call<'a>(&'a self, call_sid: &str, from: &str) -> Call<'a> {
        self.sim.call(call_sid, from, COMPANY)
    }

    pub async fn record(&self, call_sid: &str) -> Option<CallbackRecord> {
        self.backend
            .store
            .find_callback_by_call_sid(&self.tenant.id, &CallSid::parse(call_sid).unwrap())
            .await
            .expect("store")
    }

    pub async fn records(&self) -> Vec<CallbackRecord> {
        self.backend
            .store
            .recent_callbacks(&self.tenant.id, 1000)
            .await
            .expect("store")
    }
}
