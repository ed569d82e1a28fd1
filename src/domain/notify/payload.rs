//! What a delivery says. `standard`: the Standard Webhooks JSON
//! `{"type", "timestamp", "data"}`, for the tenant's own systems. `slack`:
//! an incoming webhook's `{"text", "blocks"}` in the tenant's language.
//! Both link to the record in the page, which asks for a sign-in; neither
//! carries a whole phone number or a recording's URL.

use super::endpoint::TEST_EVENT;
use super::{EventType, Outgoing};
use crate::domain::callback::Status;
use crate::domain::ids::{CallbackId, TenantId};
use crate::domain::prompts::Language;
use crate::domain::reason::Reason;
use crate::domain::tenant::TenantSettings;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

/// What one delivery tells.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Event(&'a Outgoing),
    /// An admin's test of an endpoint.
    Test {
        at: Timestamp,
        tenant: &'a TenantId,
        endpoint: &'a str,
    },
}

impl Message<'_> {
    /// The payload's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Event(out) => out.event().map_or(TEST_EVENT, EventType::name),
            Message::Test { .. } => TEST_EVENT,
        }
    }
}

/// Where the page shows a record: `{public URL}/app#/cb/{id}`.
pub fn record_url(public_url: &str, id: &CallbackId) -> String {
    format!("{public_url}/app#/cb/{id}")
}

#[derive(Serialize)]
struct Standard<'a, D: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: Timestamp,
    data: D,
}

#[derive(Serialize)]
struct RecordData<'a> {
    id: &'a CallbackId,
    tenant: &'a TenantId,
    reason: Reason,
    status: Status,
    received_at: Timestamp,
    due_at: Timestamp,
    callback_number: &'a str,
    attempts: u32,
    url: String,
}

#[derive(Serialize)]
struct TestData<'a> {
    tenant: &'a TenantId,
    endpoint: &'a str,
}

/// The standard format's body: the bytes that are signed and sent.
pub fn standard(message: Message<'_>, public_url: &str) -> String {
    let body = match message {
        Message::Event(out) => {
            let d = &out.data;
            serde_json::to_string(&Standard {
                kind: message.kind(),
                timestamp: out.at,
                data: RecordData {
                    id: &d.id,
                    tenant: &d.tenant,
                    reason: d.reason,
                    status: d.status,
                    received_at: d.received_at,
                    due_at: d.due_at,
                    callback_number: &d.callback_number,
                    attempts: d.attempts,
                    url: record_url(public_url, &d.id),
                },
            })
        }
        Message::Test {
            at,
            tenant,
            endpoint,
        } => serde_json::to_string(&Standard {
            kind: TEST_EVENT,
            timestamp: at,
            data: TestData { tenant, endpoint },
        }),
    };
    // Plain structs of strings and numbers always serialise.
    body.unwrap_or_default()
}

/// The Slack format's body, in the tenant's language and time zone.
pub fn slack(message: Message<'_>, settings: &TenantSettings, public_url: &str) -> String {
    let words = Words::of(settings.language);
    let out = match message {
        Message::Event(out) => out,
        Message::Test { .. } => {
            let text = words.test;
            return json!({
                "text": text,
                "blocks": [section(&format!("*{}*", escape(text)))],
            })
            .to_string();
        }
    };
    let d = &out.data;
    let title = out.event().map_or(words.test, |e| words.title(e));
    let reason = words.reason(d.reason);
    let due = d
        .due_at
        .to_zoned_datetime(settings.time_zone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string();
    let url = record_url(public_url, &d.id);
    let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", escape(label), escape(value))});
    json!({
        "text": format!("{title}: {reason} {} ({} {due})", d.callback_number, words.due),
        "blocks": [
            section(&format!("*{}*  <{url}|{}>", escape(title), escape(words.open))),
            {
                "type": "section",
                "fields": [
                    field(words.reason, reason),
                    field(words.number, &d.callback_number),
                    field(words.due, &due),
                    field(words.status, words.status_of(d.status)),
                ],
            },
        ],
    })
    .to_string()
}

fn section(text: &str) -> serde_json::Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// Slack's mrkdwn takes `&`, `<` and `>` as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack message's words in one language.
struct Words {
    language: Language,
    test: &'static str,
    open: &'static str,
    reason: &'static str,
    number: &'static str,
    due: &'static str,
    status: &'static str,
}

impl Words {
    fn of(language: Language) -> Words {
        match language {
            Language::JaJp => Words {
                language,
                test: "afureko のテスト通知です。この通知先に届いています。",
                open: "記録を開く",
                reason: "理由",
                number: "折り返し番号",
                due: "期限",
                status: "状態",
            },
            Language::EnUs => Words {
                language,
                test: "A test notification from afureko: this endpoint gets them.",
                open: "Open the record",
                reason: "Reason",
                number: "Callback number",
                due: "Due",
                status: "Status",
            },
        }
    }

    fn title(&self, event: EventType) -> &'static str {
        let ja = self.language == Language::JaJp;
        match event {
            EventType::CallbackCreated if ja => "新しい折り返し依頼",
            EventType::CallbackCreated => "New callback request",
            EventType::CallbackRepeatCall if ja => "同じ番号から再入電",
            EventType::CallbackRepeatCall => "The caller rang again",
            EventType::CallbackOverdue if ja => "折り返しの期限切れ",
            EventType::CallbackOverdue => "Callback overdue",
            EventType::CallbackCompleted if ja => "折り返し完了",
            EventType::CallbackCompleted => "Callback completed",
            EventType::CallbackFailed if ja => "折り返し不成立",
            EventType::CallbackFailed => "Callback failed",
            EventType::RecordingCopyFailed if ja => "録音を保存できませんでした",
            EventType::RecordingCopyFailed => "A recording could not be stored",
        }
    }

    /// As the page says them (strings.js `r_`).
    fn reason(&self, reason: Reason) -> &'static str {
        let ja = self.language == Language::JaJp;
        match reason {
            Reason::Busy if ja => "話し中",
            Reason::Busy => "Busy",
            Reason::NoAnswer if ja => "応答なし",
            Reason::NoAnswer => "No answer",
            Reason::QueueTimeout if ja => "待ち時間超過",
            Reason::QueueTimeout => "Waited too long",
            Reason::QueueOptOut if ja => "待ちを中止",
            Reason::QueueOptOut => "Left the queue",
            Reason::QueueFull if ja => "待ち行列が満杯",
            Reason::QueueFull => "Queue full",
            Reason::AfterHours if ja => "営業時間外",
            Reason::AfterHours => "After hours",
            Reason::Overflow if ja => "受付上限",
            Reason::Overflow => "Overflow",
            Reason::Outage if ja => "システム障害中",
            Reason::Outage => "During an outage",
        }
    }

    /// As the page says them (strings.js `s_`).
    fn status_of(&self, status: Status) -> &'static str {
        let ja = self.language == Language::JaJp;
        match status {
            Status::Pending if ja => "未対応",
            Status::Pending => "Pending",
            Status::Claimed if ja => "対応中",
            Status::Claimed => "Claimed",
            Status::Completed if ja => "完了",
            Status::Completed => "Completed",
            Status::Failed if ja => "不成立",
            Status::Failed => "Failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::record;

    const BASE: &str = "https://calls.example.com";

    fn created() -> Outgoing {
        Outgoing::of_write(&record()).remove(0)
    }

    #[test]
    fn the_standard_body_names_the_record_masked_with_a_link() {
        let out = created();
        let id = out.data.id.clone();
        let body: serde_json::Value =
            serde_json::from_str(&standard(Message::Event(&out), BASE)).unwrap();
        assert_eq!(
            body,
            json!({
                "type": "callback.created",
                "timestamp": "2026-11-25T01:00:05Z",
                "data": {
                    "id": id.as_str(),
                    "tenant": "acme",
                    "reason": "overflow",
                    "status": "pending",
                    "received_at": "2026-11-25T01:00:00Z",
                    "due_at": "2026-11-25T02:30:00Z",
                    "callback_number": "+81*****5678",
                    "attempts": 0,
                    "url": format!("https://calls.example.com/app#/cb/{id}"),
                }
            })
        );
        // Members in the documented order.
        assert!(
            standard(Message::Event(&out), BASE)
                .starts_with(r#"{"type":"callback.created","timestamp":"#)
        );
        let tenant = TenantId::parse("acme").unwrap();
        let test = Message::Test {
            at: "2026-11-25T01:00:00Z".parse().unwrap(),
            tenant: &tenant,
            endpoint: "ne_0123456789abcdef",
        };
        assert_eq!(
            standard(test, BASE),
            r#"{"type":"notification.test","timestamp":"2026-11-25T01:00:00Z","data":{"tenant":"acme","endpoint":"ne_0123456789abcdef"}}"#
        );
    }

    #[test]
    fn the_slack_body_is_in_the_tenants_language_and_zone() {
        let out = created();
        let id = out.data.id.clone();
        let ja: serde_json::Value = serde_json::from_str(&slack(
            Message::Event(&out),
            &TenantSettings::default(),
            BASE,
        ))
        .unwrap();
        assert_eq!(
            ja["text"],
            "新しい折り返し依頼: 受付上限 +81*****5678 (期限 2026-11-25 11:30 JST)"
        );
        assert_eq!(
            ja["blocks"][0]["text"]["text"],
            format!("*新しい折り返し依頼*  <https://calls.example.com/app#/cb/{id}|記録を開く>")
        );
        assert_eq!(
            ja["blocks"][1]["fields"][1]["text"],
            "*折り返し番号*\n+81*****5678"
        );
        let en_settings = TenantSettings {
            time_zone: "America/New_York".into(),
            ..TenantSettings::for_language(Language::EnUs)
        };
        let en: serde_json::Value =
            serde_json::from_str(&slack(Message::Event(&out), &en_settings, BASE)).unwrap();
        assert_eq!(
            en["text"],
            "New callback request: Overflow +81*****5678 (Due 2026-11-24 21:30 EST)"
        );
        assert_eq!(en["blocks"][1]["fields"][3]["text"], "*Status*\nPending");
        for body in [&ja, &en] {
            assert!(!body.to_string().contains("312345678"), "{body}");
        }
    }

    #[test]
    fn mrkdwn_markup_is_escaped() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
