//! The outbound side: a call back afureko placed (`POST Calls.json`, as
//! the fake API kept it), played as Twilio plays it: the status callbacks
//! to its StatusCallback, the agent answering at its Url, a key (or none)
//! at the whisper's `<Gather>`, the customer's leg of the `<Dial>` and the
//! Dial's action with its DialCallStatus, and Twilio's retries.

use super::{Call, Doc, Posted, Reply, Sim, SimError, pairs};

impl Sim {
    /// The agent's leg of a call afureko placed: the requests it makes
    /// carry its SID, From and To, as Twilio's do.
    pub fn placed<'a>(&'a self, created: &Posted) -> Call<'a> {
        let param = |name| created.param(name).unwrap_or_default().to_owned();
        Call {
            sim: self,
            call_sid: created.sid.clone(),
            from: param("From"),
            to: param("To"),
            direction: "outbound-api",
            url: created.param("Url").map(str::to_owned),
            status_callback: created.param("StatusCallback").map(str::to_owned),
        }
    }
}

/// A reply Twilio would take: a 2xx.
fn accepted(reply: Reply) -> Result<Reply, SimError> {
    if (200..300).contains(&reply.status) {
        Ok(reply)
    } else {
        Err(SimError::Refused {
            status: reply.status,
            body: reply.body.chars().take(300).collect(),
        })
    }
}

impl Call<'_> {
    /// The status callback of a placed call with `call_status`
    /// (`initiated`, `ringing`, `in-progress`, `completed`, `busy`, …).
    pub async fn status(&self, call_status: &str) -> Result<Reply, SimError> {
        let url = self
            .status_callback
            .as_deref()
            .ok_or(SimError::Missing("StatusCallback"))?;
        let mut params = self.voice_params();
        for (name, value) in &mut params {
            if name == "CallStatus" {
                *value = call_status.to_owned();
            }
        }
        self.post_signed(url, params).await
    }

    /// The agent answers: Twilio requests the placed call's Url.
    pub async fn answer(&self) -> Result<Reply, SimError> {
        let url = self.url.as_deref().ok_or(SimError::Missing("Url"))?;
        self.post(url, &[]).await
    }

    /// The customer answers the `<Dial>`: Twilio requests its `<Number>`'s
    /// url for the customer's leg, a call of its own (`customer_sid`)
    /// whose parent is this one.
    pub async fn customer_answers(&self, doc: &Doc, customer_sid: &str) -> Result<Reply, SimError> {
        let dial = doc.dial().ok_or(SimError::Missing("Dial"))?;
        let number = dial
            .children
            .iter()
            .find(|n| n.name == "Number")
            .ok_or(SimError::Missing("Number"))?;
        let url = number.attr("url").ok_or(SimError::Missing("Number url"))?;
        let from = dial.attr("callerId").unwrap_or(&self.from);
        let params = pairs(&[
            ("CallSid", customer_sid),
            ("ParentCallSid", &self.call_sid),
            ("AccountSid", &self.sim.account_sid),
            ("From", from),
            ("To", &number.text),
            ("Caller", from),
            ("Called", &number.text),
            ("CallStatus", "in-progress"),
            ("ApiVersion", "2010-04-01"),
            ("Direction", "outbound-dial"),
        ]);
        self.post_signed(url, params).await
    }

    /// The `<Dial>` ends: Twilio requests its action with how the
    /// customer's leg went (DialCallDuration only when it was answered).
    pub async fn dial_ends(
        &self,
        doc: &Doc,
        dial_status: &str,
        customer_sid: &str,
        seconds: Option<u32>,
    ) -> Result<Reply, SimError> {
        let action = doc
            .dial()
            .and_then(|d| d.attr("action"))
            .ok_or(SimError::Missing("Dial action"))?;
        let seconds = seconds.map(|s| s.to_string());
        let mut extra = vec![
            ("DialCallStatus", dial_status),
            ("DialCallSid", customer_sid),
        ];
        if let Some(seconds) = &seconds {
            extra.push(("DialCallDuration", seconds));
        }
        self.post(action, &extra).await
    }
}

/// What the agent does when their phone rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentPlay {
    /// Answers, hears the whisper and presses these keys.
    Presses(String),
    /// Answers and presses nothing.
    PressesNothing,
    NoAnswer,
    Busy,
    /// Twilio cannot reach the phone.
    Fails,
}

/// How the customer's leg of the `<Dial>` ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerPlay {
    /// Answers and talks this long (DialCallStatus `completed`).
    Talks {
        seconds: u32,
    },
    Busy,
    NoAnswer,
    /// The number cannot be reached (`failed`).
    Fails,
    /// The agent hangs up while it rings (`canceled`).
    AgentHangsUp,
}

impl CustomerPlay {
    /// DialCallStatus, DialCallDuration, and whether the customer answered.
    fn dial(&self) -> (&'static str, Option<u32>, bool) {
        match self {
            CustomerPlay::Talks { seconds } => ("completed", Some(*seconds), true),
            CustomerPlay::Busy => ("busy", None, false),
            CustomerPlay::NoAnswer => ("no-answer", None, false),
            CustomerPlay::Fails => ("failed", None, false),
            CustomerPlay::AgentHangsUp => ("canceled", None, false),
        }
    }
}

/// A whole call back as Twilio plays it, from the first status callback
/// to the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallBackScript {
    pub agent: AgentPlay,
    pub customer: CustomerPlay,
    /// Twilio sends the Dial's action and the last status callback twice,
    /// as it does when an answer is slow or lost.
    pub retries: bool,
}

impl CallBackScript {
    /// Plays the script on `call`; `customer_sid` names the customer's
    /// leg. Any answer but a 2xx stops it.
    pub async fn play(&self, call: &Call<'_>, customer_sid: &str) -> Result<(), SimError> {
        let times = if self.retries { 2 } else { 1 };
        accepted(call.status("initiated").await?)?;
        accepted(call.status("ringing").await?)?;
        let last = match &self.agent {
            AgentPlay::NoAnswer => "no-answer",
            AgentPlay::Busy => "busy",
            AgentPlay::Fails => "failed",
            AgentPlay::Presses(_) | AgentPlay::PressesNothing => {
                accepted(call.status("in-progress").await?)?;
                let whisper = accepted(call.answer().await?)?.doc()?;
                let after = match &self.agent {
                    AgentPlay::Presses(keys) => call.press(&whisper, keys).await?,
                    _ => call.silence(&whisper).await?,
                };
                let doc = accepted(after)?.doc()?;
                if doc.dial().is_some() {
                    let (status, seconds, answered) = self.customer.dial();
                    if answered {
                        accepted(call.customer_answers(&doc, customer_sid).await?)?;
                    }
                    for _ in 0..times {
                        accepted(call.dial_ends(&doc, status, customer_sid, seconds).await?)?;
                    }
                }
                "completed"
            }
        };
        for _ in 0..times {
            accepted(call.status(last).await?)?;
        }
        Ok(())
    }
}
