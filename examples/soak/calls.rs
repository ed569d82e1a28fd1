//! Twilio, as far as afureko can tell: signed form POSTs over real HTTP to
//! the public URL (here mapped to 127.0.0.1), following the action URLs of
//! the TwiML it gets back. Like Twilio with connection overrides, a request
//! that finds no server, is cut off or gets a 5xx is tried again (5 tries in
//! about 8 s); 10% of webhooks are sent twice, some of them concurrently.

use crate::faults::Faults;
use crate::media::Media;
use crate::rng::Rng;
use afureko::twilio::signature::{Algorithm, SIGNATURE_HEADER, sign};
use afureko::twilio::sim::{Doc, tone_wav};
use std::sync::Arc;
use std::time::Duration;

pub const TENANT: &str = "soak";
pub const TO: &str = "+81120123456";
/// Twilio gives a webhook 15 s.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
const TRIES: u32 = 5;

pub struct Twilio {
    pub http: reqwest::Client,
    pub public_url: String,
    pub local_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub media: Media,
    pub faults: Arc<Faults>,
}

/// How a webhook is delivered.
#[derive(Clone, Copy)]
enum Delivery {
    Once,
    Twice,
    TwiceAtOnce,
}

/// One call's identity and the faults Twilio plays on it.
pub struct Plan {
    pub index: usize,
    pub call_sid: String,
    pub recording_sid: String,
    pub from: String,
    deliveries: [Delivery; 4],
}

impl Plan {
    /// Without `faults` every webhook is delivered once.
    pub fn new(run: u64, index: usize, seed: u64, faults: bool) -> Plan {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let deliveries =
            std::array::from_fn(|_| match (faults && rng.chance(10), rng.chance(50)) {
                (false, _) => Delivery::Once,
                (true, false) => Delivery::Twice,
                (true, true) => Delivery::TwiceAtOnce,
            });
        Plan {
            index,
            call_sid: format!("CA{run:016x}{index:016x}"),
            recording_sid: format!("RE{run:016x}{index:016x}"),
            // A distinct Japanese mobile number per call, so no call joins
            // another's record as a repeat caller.
            from: format!("+81901{:07}", index % 10_000_000),
            deliveries,
        }
    }

    /// The recording's audio: a short tone with the call's index in its
    /// first samples, so a mixed-up copy is seen.
    pub fn audio(&self) -> Vec<u8> {
        let mut wav = tone_wav(0.25);
        wav[44..52].copy_from_slice(&(self.index as u64).to_le_bytes());
        wav
    }
}

/// How far a call got: each flag is a 2xx on that webhook.
#[derive(Debug, Default)]
pub struct Outcome {
    pub incoming: bool,
    pub pressed: bool,
    pub recorded: bool,
    pub status_callback: bool,
    /// The call stopped because the server could not be reached.
    pub not_answered: Option<String>,
    /// The call stopped on an answer Twilio could not use: a broken invariant.
    pub broken: Option<String>,
    /// From the incoming call to the status callback's answer.
    pub took: Duration,
}

struct Reply {
    status: u16,
    body: String,
}

/// Why a webhook gave no usable answer.
enum Failure {
    NotAnswered(String),
    Broken(String),
}

impl Twilio {
    /// Plays the whole call: incoming, press 1 for the caller ID, the
    /// `<Record>` action, then the recording status callback `completed`.
    pub async fn play(&self, plan: &Plan) -> Outcome {
        let mut outcome = Outcome::default();
        if let Err(failure) = self.steps(plan, &mut outcome).await {
            match failure {
                Failure::NotAnswered(e) => outcome.not_answered = Some(e),
                Failure::Broken(e) => outcome.broken = Some(e),
            }
        }
        outcome
    }

    async fn steps(&self, plan: &Plan, outcome: &mut Outcome) -> Result<(), Failure> {
        let voice = format!("{}/twilio/{TENANT}/voice", self.public_url);
        let doc = self
            .twiml(
                "incoming",
                &voice,
                self.voice(plan, &[]),
                plan.deliveries[0],
            )
            .await?;
        outcome.incoming = true;

        let gather = doc
            .gather()
            .ok_or_else(|| broken("incoming: no <Gather>"))?;
        let action = gather
            .attr("action")
            .ok_or_else(|| broken("incoming: no Gather action"))?;
        let mut press = vec![("Digits", "1")];
        if gather.attr("numDigits").is_none() {
            press.push(("FinishedOnKey", "#"));
        }
        let doc = self
            .twiml(
                "press 1",
                action,
                self.voice(plan, &press),
                plan.deliveries[1],
            )
            .await?;
        outcome.pressed = true;

        let record = doc.record().ok_or_else(|| broken("press 1: no <Record>"))?;
        let action = record
            .attr("action")
            .ok_or_else(|| broken("press 1: no Record action"))?;
        let status_url = record
            .attr("recordingStatusCallback")
            .ok_or_else(|| broken("press 1: no recordingStatusCallback"))?;
        let url = self.media.add(&plan.recording_sid, plan.audio());
        let params = self.voice(
            plan,
            &[
                ("RecordingUrl", &url),
                ("RecordingSid", &plan.recording_sid),
                ("RecordingDuration", "1"),
                ("Digits", "#"),
            ],
        );
        let doc = self
            .twiml("record", action, params, plan.deliveries[2])
            .await?;
        if !doc.hangs_up() {
            return Err(broken("record: the call is not ended with <Hangup>"));
        }
        outcome.recorded = true;

        let params = pairs(&[
            ("AccountSid", &self.account_sid),
            ("CallSid", &plan.call_sid),
            ("RecordingSid", &plan.recording_sid),
            ("RecordingUrl", &url),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "1"),
            ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"),
        ]);
        let reply = self
            .webhook("status callback", status_url, params, plan.deliveries[3])
            .await?;
        if reply.status != 204 {
            return Err(broken(&format!(
                "status callback: answered {}",
                reply.status
            )));
        }
        outcome.status_callback = true;
        Ok(())
    }

    /// The parameters of every voice request of the call, plus `extra`.
    fn voice(&self, plan: &Plan, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params = pairs(&[
            ("CallSid", &plan.call_sid),
            ("AccountSid", &self.account_sid),
            ("From", &plan.from),
            ("To", TO),
            ("Caller", &plan.from),
            ("Called", TO),
            ("CallStatus", "in-progress"),
            ("ApiVersion", "2010-04-01"),
            ("Direction", "inbound"),
        ]);
        params.extend(pairs(extra));
        params
    }

    async fn twiml(
        &self,
        step: &str,
        url: &str,
        params: Vec<(String, String)>,
        delivery: Delivery,
    ) -> Result<Doc, Failure> {
        let reply = self.webhook(step, url, params, delivery).await?;
        if reply.status != 200 {
            return Err(broken(&format!(
                "{step}: answered {}: {}",
                reply.status, reply.body
            )));
        }
        Doc::parse(&reply.body).map_err(|e| broken(&format!("{step}: {e}")))
    }

    /// One webhook, delivered once or twice; a usable answer wins.
    async fn webhook(
        &self,
        step: &str,
        url: &str,
        params: Vec<(String, String)>,
        delivery: Delivery,
    ) -> Result<Reply, Failure> {
        let local = url
            .strip_prefix(&self.public_url)
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| broken(&format!("{step}: {url} is not under the public URL")))?;
        let local = format!("{}{local}", self.local_url);
        let signature = sign(&self.auth_token, url, &params, Algorithm::Sha1);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let once = || self.deliver(&local, &signature, body.clone());
        let (first, second) = match delivery {
            Delivery::Once => {
                return once()
                    .await
                    .map_err(|e| Failure::NotAnswered(format!("{step}: {e}")));
            }
            Delivery::Twice => {
                Faults::count(&self.faults.webhook_repeated);
                let first = once().await;
                (first, once().await)
            }
            Delivery::TwiceAtOnce => {
                Faults::count(&self.faults.webhook_repeated_concurrently);
                tokio::join!(once(), once())
            }
        };
        match (first, second) {
            (Ok(a), Ok(b)) if a.status != b.status || shape(&a.body) != shape(&b.body) => {
                Err(broken(&format!(
                    "{step}: the same request answered {} {:?} and {} {:?}",
                    a.status,
                    shape(&a.body),
                    b.status,
                    shape(&b.body)
                )))
            }
            (Ok(reply), _) | (_, Ok(reply)) => Ok(reply),
            (Err(e), Err(_)) => Err(Failure::NotAnswered(format!("{step}: {e}"))),
        }
    }

    /// One request as Twilio sends it, tried again while there is no
    /// server or it answers 5xx.
    async fn deliver(&self, url: &str, signature: &str, body: String) -> Result<Reply, String> {
        let mut last = String::new();
        for attempt in 0..TRIES {
            if attempt > 0 {
                Faults::count(&self.faults.webhook_retried);
                tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
            }
            let sent = self
                .http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header(SIGNATURE_HEADER, signature)
                .body(body.clone())
                .timeout(WEBHOOK_TIMEOUT)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.text().await {
                        Ok(body) if status < 500 => return Ok(Reply { status, body }),
                        Ok(body) => last = format!("{status}: {body}"),
                        Err(e) => last = format!("{status}, then the body was cut off: {e}"),
                    }
                }
                Err(e) => last = format!("{e}"),
            }
        }
        Err(format!("no answer in {TRIES} tries: {last}"))
    }
}

/// The verbs of a TwiML answer: what a repeated request must get again
/// (the action URLs may differ, they carry the time of the request).
fn shape(body: &str) -> Option<Vec<String>> {
    Doc::parse(body)
        .ok()
        .map(|doc| doc.verb_names().into_iter().map(str::to_owned).collect())
}

fn broken(message: &str) -> Failure {
    Failure::Broken(message.to_owned())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
