//! A webhook whose store stalls answers within its budget what still takes
//! the caller's request (the record-only flow), not Twilio's application
//! error after 15 s. Time is tokio's paused clock: the store waits forever,
//! the budget's timer is the only one, and the test takes no real time.

use crate::helpers::*;
use afureko::domain::api_key::ApiKey;
use afureko::domain::callback::CallbackRecord;
use afureko::domain::ids::{CallSid, CallbackId, TenantId};
use afureko::domain::phone::E164;
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::tenant::{Tenant, TenantSettings};
use afureko::http::twilio::deadline::BUDGET;
use afureko::startup::{self, Backend};
use afureko::store::{
    ApiKeyStore, CallbackStore, Inserted, ListQuery, Page, ReceivedPage, ReceivedQuery, StoreError,
    TenantStore,
};
use afureko::twilio::api::{MediaHosts, TwilioApi};
use afureko::twilio::sim::{Reply, Sim};
use std::sync::Arc;

/// A store that never answers: its tenant read too when `tenant` is None.
struct StallingStore {
    tenant: Option<Tenant>,
}

async fn stall<T>() -> T {
    std::future::pending().await
}

#[async_trait::async_trait]
impl TenantStore for StallingStore {
    async fn create_tenant(&self, _: &Tenant) -> Result<(), StoreError> {
        stall().await
    }
    async fn update_tenant(&self, _: &Tenant) -> Result<(), StoreError> {
        stall().await
    }
    async fn get_tenant(&self, _: &TenantId) -> Result<Option<Tenant>, StoreError> {
        match &self.tenant {
            Some(tenant) => Ok(Some(tenant.clone())),
            None => stall().await,
        }
    }
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        stall().await
    }
}

#[async_trait::async_trait]
impl CallbackStore for StallingStore {
    async fn insert_callback(&self, _: &CallbackRecord) -> Result<Inserted, StoreError> {
        stall().await
    }
    async fn get_callback(
        &self,
        _: &TenantId,
        _: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        stall().await
    }
    async fn find_callback_by_call_sid(
        &self,
        _: &TenantId,
        _: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        stall().await
    }
    async fn find_open_callback_by_number(
        &self,
        _: &TenantId,
        _: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        stall().await
    }
    async fn update_callback(&self, _: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        stall().await
    }
    async fn recent_callbacks(
        &self,
        _: &TenantId,
        _: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        stall().await
    }
    async fn list_callbacks(&self, _: &TenantId, _: &ListQuery) -> Result<Page, StoreError> {
        stall().await
    }
    async fn received_callbacks(
        &self,
        _: &TenantId,
        _: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        stall().await
    }
    async fn count_callbacks(
        &self,
        _: &TenantId,
        _: afureko::domain::callback::Status,
        _: Option<i64>,
        _: usize,
    ) -> Result<usize, StoreError> {
        stall().await
    }
    async fn count_received(
        &self,
        _: &TenantId,
        _: jiff::Timestamp,
        _: jiff::Timestamp,
    ) -> Result<usize, StoreError> {
        stall().await
    }
    async fn delete_callback(
        &self,
        _: &TenantId,
        _: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        stall().await
    }
    async fn unlink_callback(&self, _: &CallbackRecord) -> Result<(), StoreError> {
        stall().await
    }
    async fn expired_callbacks(&self, _: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        stall().await
    }
}

#[async_trait::async_trait]
impl ApiKeyStore for StallingStore {
    async fn create_api_key(&self, _: &ApiKey) -> Result<(), StoreError> {
        stall().await
    }
    async fn find_api_key(&self, _: &str) -> Result<Option<ApiKey>, StoreError> {
        stall().await
    }
    async fn list_api_keys(&self, _: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        stall().await
    }
    async fn revoke_api_key(
        &self,
        _: &TenantId,
        _: &str,
        _: jiff::Timestamp,
    ) -> Result<ApiKey, StoreError> {
        stall().await
    }
}

/// The app on a stalling store (the rest embedded); `tenant_read`: whether
/// the tenant still reads (English settings) or its read stalls too.
async fn stalled_app(tenant_read: bool) -> (Sim, tempfile::TempDir) {
    let test_backend = crate::backends::make(crate::backends::Kind::Embedded).await;
    let tenant = Tenant {
        id: TenantId::parse(TENANT).unwrap(),
        twilio: afureko::domain::tenant::TwilioCredentials {
            account_sid: afureko::domain::ids::AccountSid::parse(ACCOUNT_SID).unwrap(),
            auth_token: afureko::domain::tenant::AuthToken::new(AUTH_TOKEN).unwrap(),
            webhook_shared_key: None,
            previous_auth_token: None,
        },
        settings: TenantSettings::for_language(Language::EnUs),
        created_at: NOW.parse().unwrap(),
    };
    let backend = Backend {
        store: Arc::new(StallingStore {
            tenant: tenant_read.then_some(tenant),
        }),
        ..test_backend.backend
    };
    let state = startup::state(
        &backend,
        afureko::settings::BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap(),
        TwilioApi::new("http://127.0.0.1:9", MediaHosts::default()).unwrap(),
        test_backend.clock,
        UNLIMITED,
        crate::helpers::hook_client(),
    );
    let sim = Sim::new(
        afureko::http::app(state),
        PUBLIC_URL,
        ACCOUNT_SID,
        AUTH_TOKEN,
    );
    // From here on the clock moves only when nothing else can.
    tokio::time::pause();
    (sim, test_backend.dir)
}

/// `request`'s answer, and how long it took on the paused clock.
async fn timed(request: impl std::future::Future<Output = Reply>) -> (Reply, std::time::Duration) {
    let started = tokio::time::Instant::now();
    let reply = request.await;
    (reply, started.elapsed())
}

const RECORD_ONLY_EN: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
    r#"<Say voice="Polly.Joanna" language="en-US">Thank you for calling. We are sorry: our system is busy right now. After the tone, please leave your name, the number to call you back on and your request. When you are done, press the pound key or hang up.</Say>"#,
    r##"<Record action="https://calls.example.com/twilio/acme/ivr/recorded" method="POST" maxLength="120" timeout="5" finishOnKey="#" playBeep="true" recordingStatusCallback="https://calls.example.com/twilio/acme/recording" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>"##,
    "</Response>"
);

#[tokio::test]
async fn an_incoming_call_on_a_stalled_store_records_the_request_within_the_budget() {
    let (sim, _dir) = stalled_app(true).await;
    let call = sim.call("CA00000000000000000000000000000001", CALLER, COMPANY);
    let voice = format!("{PUBLIC_URL}/twilio/{TENANT}/voice");
    let (reply, took) = timed(async { call.incoming(&voice).await.unwrap() }).await;
    assert_eq!(took.as_secs(), BUDGET.as_secs());
    assert_eq!(BUDGET.as_secs(), 8, "docs/operations.md says 8 s");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/xml; charset=utf-8")
    );
    assert_eq!(reply.body, RECORD_ONLY_EN);
    // The Record action thanks the caller even while the store stalls.
    let doc = reply.doc().unwrap();
    let (thanks, _) = timed(async {
        call.record(&doc, "RE00000000000000000000000000000001", "", 7)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        thanks.body,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna" language="en-US">{}</Say><Hangup/></Response>"#,
            afureko::domain::due::without_due(PromptKey::Thanks.default_text(Language::EnUs))
        )
    );
}

#[tokio::test]
async fn every_step_past_its_budget_still_takes_the_request() {
    let (sim, _dir) = stalled_app(true).await;
    let call = sim.call("CA00000000000000000000000000000002", CALLER, COMPANY);
    let base = format!("{PUBLIC_URL}/twilio/{TENANT}");
    // A question of the IVR, the dial result: the record-only flow.
    for (path, extra) in [
        ("/ivr/offer/overflow/1795568400/1", ("Digits", "1")),
        ("/dial-result/1795568400", ("DialCallStatus", "busy")),
    ] {
        let url = format!("{base}{path}");
        let (reply, took) = timed(async { call.post(&url, &[extra]).await.unwrap() }).await;
        assert_eq!((reply.status, took.as_secs()), (200, 8), "{path}");
        assert_eq!(reply.body, RECORD_ONLY_EN, "{path}");
    }
    // A queue's wait URL may not record: the caller (past the longest
    // wait, whose record stalls) leaves the queue, and its action records.
    let url = format!("{base}/queue/wait/1795568400");
    let (reply, took) =
        timed(async { call.post(&url, &[("QueueTime", "400")]).await.unwrap() }).await;
    assert_eq!(took.as_secs(), 8);
    assert_eq!(
        reply.body,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Leave/></Response>"#
    );
    // The recording's callback has no caller waiting: 503, Twilio retries.
    let url = format!("{base}/recording");
    let (reply, _) = timed(async {
        call.post(
            &url,
            &[
                ("RecordingSid", "RE00000000000000000000000000000002"),
                ("RecordingStatus", "absent"),
            ],
        )
        .await
        .unwrap()
    })
    .await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.body,
        r#"{"error":{"code":"unavailable","message":"the recording could not be kept in time; try again"}}"#
    );
}

#[tokio::test]
async fn a_tenant_read_that_stalls_gets_the_default_record_only_flow() {
    let (sim, _dir) = stalled_app(false).await;
    let call = sim.call("CA00000000000000000000000000000003", CALLER, COMPANY);
    let voice = format!("{PUBLIC_URL}/twilio/{TENANT}/voice");
    let (reply, took) = timed(async { call.incoming(&voice).await.unwrap() }).await;
    assert_eq!((reply.status, took.as_secs()), (200, 8));
    let doc = reply.doc().unwrap();
    assert_eq!(
        doc.said(),
        [PromptKey::FallbackGreeting.default_text(Language::JaJp)]
    );
    let record = doc.record().unwrap();
    assert_eq!(
        record.attr("recordingStatusCallback"),
        Some("https://calls.example.com/twilio/acme/recording")
    );
}
