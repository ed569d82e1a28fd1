//! Calls: `POST Calls.json` creates one (kept with its form, for a test to
//! check and later play), `GET Calls/{sid}.json` reads one.

use super::{Fake, Posted, form_pairs, not_found, param, twilio_error};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

/// A call as `Calls/{sid}.json` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    pub sid: String,
    pub from: String,
    pub to: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, …
    pub status: String,
    /// `inbound`, `outbound-api`, `outbound-dial`.
    pub direction: String,
}

impl FakeCall {
    /// A call that came in from `from` to `to` and is over.
    pub fn inbound(sid: &str, from: &str, to: &str) -> Self {
        FakeCall {
            sid: sid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            status: "completed".to_owned(),
            direction: "inbound".to_owned(),
        }
    }

    fn json(&self, fake: &Fake) -> serde_json::Value {
        let path = format!(
            "/2010-04-01/Accounts/{}/Calls/{}",
            fake.account_sid, self.sid
        );
        serde_json::json!({
            "sid": self.sid,
            "account_sid": fake.account_sid,
            "api_version": "2010-04-01",
            "from": self.from,
            "from_formatted": self.from,
            "to": self.to,
            "to_formatted": self.to,
            "status": self.status,
            "direction": self.direction,
            "parent_call_sid": null,
            "price": null,
            "uri": format!("{path}.json"),
            "subresource_uris": {
                "recordings": format!("{path}/Recordings.json"),
            },
        })
    }
}

/// Twilio's codes for a create without a required parameter.
const REQUIRED: [(&str, u32, &str); 3] = [
    ("To", 21201, "No 'To' number is specified"),
    ("From", 21213, "No 'From' number is specified"),
    ("Url", 21205, "Url parameter is required"),
];

pub(super) async fn create(State(fake): State<Fake>, body: Bytes) -> Response {
    let params = form_pairs(&body);
    if let Some(failure) = fake.lock().call_failure.clone() {
        return failure.respond(&params);
    }
    for (name, code, message) in REQUIRED {
        if param(&params, name).is_none_or(str::is_empty) {
            return twilio_error(StatusCode::BAD_REQUEST, code, message);
        }
    }
    let sid = fake.next_sid("CA");
    let call = FakeCall {
        sid: sid.clone(),
        from: param(&params, "From").unwrap_or_default().to_owned(),
        to: param(&params, "To").unwrap_or_default().to_owned(),
        status: "queued".to_owned(),
        direction: "outbound-api".to_owned(),
    };
    let answer = call.json(&fake);
    let posted = Posted { sid, params };
    let customer_sid = fake.next_sid("CA");
    {
        let mut state = fake.lock();
        state.calls.insert(posted.sid.clone(), call);
        state.created_calls.push(posted.clone());
        if let Some((sim, script)) = state.player.clone() {
            let played = tokio::spawn(async move {
                let call = sim.placed(&posted);
                script.play(&call, &customer_sid).await
            });
            state.playing.push(played);
        }
    }
    fake.answer(StatusCode::CREATED, answer)
}

pub(super) async fn fetch(
    State(fake): State<Fake>,
    Path((_account, file)): Path<(String, String)>,
) -> Response {
    let call = file
        .strip_suffix(".json")
        .and_then(|sid| fake.lock().calls.get(sid).cloned());
    match call {
        Some(call) => fake.answer(StatusCode::OK, call.json(&fake)),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::FakeTwilioApi;

    /// Posts `form` to `{resource}.json` of account AC1 and returns the
    /// status and Twilio's error code.
    async fn post(api: &FakeTwilioApi, resource: &str, form: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/2010-04-01/Accounts/AC1/{resource}.json",
                api.base_url()
            ))
            .basic_auth("AC1", Some("tok"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        (status, body["code"].clone())
    }

    #[tokio::test]
    async fn creates_without_a_required_parameter_get_twilios_codes() {
        let api = FakeTwilioApi::start("AC1", "tok").await.unwrap();
        for (resource, form, code) in [
            ("Calls", "From=%2B1&Url=https%3A%2F%2Fx", 21201),
            ("Calls", "To=%2B1&Url=https%3A%2F%2Fx", 21213),
            ("Calls", "To=%2B1&From=%2B2&Url=", 21205),
            ("Messages", "From=%2B1&Body=x", 21604),
            ("Messages", "To=%2B1&Body=x", 21603),
            ("Messages", "To=%2B1&MessagingServiceSid=MG1", 21602),
        ] {
            assert_eq!(
                post(&api, resource, form).await,
                (400, code.into()),
                "{form}"
            );
        }
        assert!(api.created_calls().is_empty() && api.sent_messages().is_empty());
        let (status, _) = post(&api, "Messages", "To=%2B1&MessagingServiceSid=MG1&Body=x").await;
        assert_eq!(status, 201);
        assert_eq!(api.sent_messages()[0].params("Body"), ["x"]);
    }
}
