//! The form bodies Twilio posts, in Twilio's parameter names: for the
//! document only (handlers read `TwilioWebhook`, which keeps every
//! parameter for the signature). Twilio sends more parameters than these;
//! the ones listed are those afureko reads.

use utoipa::ToSchema;

/// An incoming call.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct CallForm {
    #[schema(example = "CA0123456789abcdef0123456789abcdef")]
    pub call_sid: String,
    /// The caller ID as Twilio has it (may be withheld, e.g. "anonymous").
    #[schema(example = "+81312345678")]
    pub from: String,
}

/// The answer to a `<Gather>`: the digits pressed, or what was said.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct GatherForm {
    pub call_sid: String,
    pub from: String,
    /// Absent or empty when nothing was pressed.
    #[schema(example = "1")]
    pub digits: Option<String>,
    /// What speech recognition heard, when the Gather took speech and no
    /// key was pressed.
    #[schema(example = "ゼロサン イチニーサンヨン ゴーロクナナハチ")]
    pub speech_result: Option<String>,
}

/// The `<Dial>` action.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct DialForm {
    pub call_sid: String,
    pub from: String,
    #[schema(example = "no-answer")]
    pub dial_call_status: String,
}

/// The `<Enqueue>` wait URL.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct QueueWaitForm {
    pub call_sid: String,
    pub from: String,
    /// Seconds waited so far; 0 when absent.
    pub queue_time: Option<String>,
    /// Callers in the queue; 0 when absent.
    pub current_queue_size: Option<String>,
}

/// The `<Enqueue>` action.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct QueueResultForm {
    pub call_sid: String,
    pub from: String,
    #[schema(example = "leave")]
    pub queue_result: String,
    pub queue_time: Option<String>,
}

/// The recording status callback.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct RecordingForm {
    pub call_sid: String,
    #[schema(example = "RE0123456789abcdef0123456789abcdef")]
    pub recording_sid: String,
    /// completed, absent, or a state with nothing to keep yet.
    #[schema(example = "completed")]
    pub recording_status: String,
    /// Required when completed: the recording on Twilio's API.
    pub recording_url: Option<String>,
    pub recording_duration: Option<String>,
}

/// A call back's Dial action: how the customer's leg ended.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct CallBackDialForm {
    /// The agent's leg.
    pub call_sid: String,
    /// completed, busy, no-answer, failed or canceled.
    #[schema(example = "completed")]
    pub dial_call_status: String,
    /// The customer's leg.
    pub dial_call_sid: Option<String>,
    /// Seconds the customer was connected.
    #[schema(example = "95")]
    pub dial_call_duration: Option<String>,
}

/// A call's status callback.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct CallStatusForm {
    pub call_sid: String,
    /// initiated, ringing, in-progress, completed, busy, no-answer, failed
    /// or canceled.
    #[schema(example = "ringing")]
    pub call_status: String,
}
