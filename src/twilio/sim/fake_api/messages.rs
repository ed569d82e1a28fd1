//! Messages: `POST Messages.json` sends one (kept with its form).

use super::{Fake, Posted, form_pairs, param, twilio_error};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

pub(super) async fn create(State(fake): State<Fake>, body: Bytes) -> Response {
    let params = form_pairs(&body);
    if let Some(failure) = fake.lock().message_failure.clone() {
        return failure.respond(&params);
    }
    let given = |name: &str| param(&params, name).filter(|v| !v.is_empty());
    let (to, from, service, body) = (
        given("To"),
        given("From"),
        given("MessagingServiceSid"),
        given("Body"),
    );
    let Some(to) = to else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    if from.is_none() && service.is_none() {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    let Some(body) = body else {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    };
    let sid = fake.next_sid("SM");
    let answer = serde_json::json!({
        "sid": sid,
        "account_sid": fake.account_sid,
        "api_version": "2010-04-01",
        "to": to,
        "from": from,
        "messaging_service_sid": service,
        "body": body,
        // A Messaging Service accepts first, then picks the sender.
        "status": if service.is_some() { "accepted" } else { "queued" },
        "num_segments": "1",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "uri": format!("/2010-04-01/Accounts/{}/Messages/{sid}.json", fake.account_sid),
    });
    fake.lock().messages.push(Posted { sid, params });
    fake.answer(StatusCode::CREATED, answer)
}
