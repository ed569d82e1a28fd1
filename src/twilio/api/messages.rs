//! Messages: sending an SMS.

use super::{Created, TwilioApi, TwilioApiError, read_json};
use crate::domain::ids::{MessageSid, MessagingServiceSid};
use crate::domain::phone::E164;
use crate::domain::tenant::TwilioCredentials;

/// Who a message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A number of the tenant's Twilio account: `From`.
    Number(E164),
    /// A Messaging Service, which picks the number: `MessagingServiceSid`.
    Service(MessagingServiceSid),
    /// An alphanumeric sender ID, where the destination allows one: `From`.
    Alphanumeric(String),
}

/// An SMS, as `POST Messages.json` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageParams {
    pub to: E164,
    pub sender: Sender,
    pub body: String,
}

impl TwilioApi {
    /// Sends an SMS; returns its MessageSid. Twilio refuses some numbers
    /// at once (e.g. error 21614 for a landline): see
    /// `TwilioApiError::twilio`.
    pub async fn send_message(
        &self,
        creds: &TwilioCredentials,
        message: &MessageParams,
    ) -> Result<MessageSid, TwilioApiError> {
        let sender = match &message.sender {
            Sender::Number(number) => ("From", number.as_str()),
            Sender::Service(sid) => ("MessagingServiceSid", sid.as_str()),
            Sender::Alphanumeric(id) => ("From", id.as_str()),
        };
        let form = [
            ("To", message.to.as_str()),
            sender,
            ("Body", message.body.as_str()),
        ];
        let url = self.account_url(&creds.account_sid, "Messages.json");
        let response = self.post_form(url, &form, creds).await?;
        let created: Created<MessageSid> = read_json(response, "the message").await?;
        Ok(created.sid)
    }
}
