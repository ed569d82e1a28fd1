//! `afureko tenant create/show/update/reseal`: flags applied to a tenant's
//! settings; every write seals the tenant's secrets (`store::sealed`).

use super::args::{RoutingArgs, SettingsArgs, TenantCommand};
use super::load_tenant;
use crate::config::Config;
use crate::domain::phone::E164;
use crate::domain::routing::Destination;
use crate::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use crate::startup;
use anyhow::Context;

impl SettingsArgs {
    fn apply(
        self,
        settings: &mut TenantSettings,
        twilio: &mut TwilioCredentials,
    ) -> anyhow::Result<()> {
        if let Some(language) = self.language {
            if self.voice.is_none() && !language.accepts_voice(&settings.voice) {
                settings.voice = language.default_voice().to_owned();
            }
            settings.language = language;
        }
        if let Some(voice) = self.voice {
            settings.voice = voice;
        }
        settings.prompts.extend(self.prompts);
        for key in self.reset_prompts {
            settings.prompts.remove(&key);
        }
        if let Some(key) = self.twilio_webhook_key {
            twilio.webhook_shared_key = Some(AuthToken::new(&key).context("--twilio-webhook-key")?);
        }
        let numbers = [
            (
                self.max_recording_seconds,
                &mut settings.max_recording_seconds,
            ),
            (
                self.number_entry_attempts,
                &mut settings.number_entry_attempts,
            ),
            (
                self.max_callback_attempts,
                &mut settings.max_callback_attempts,
            ),
            (
                self.callback_sla_minutes,
                &mut settings.callback_sla_minutes,
            ),
            (
                self.claim_timeout_minutes,
                &mut settings.claim_timeout_minutes,
            ),
            (self.retry_delay_minutes, &mut settings.retry_delay_minutes),
            (self.retention_days, &mut settings.retention_days),
        ];
        for (given, field) in numbers {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(tz) = self.time_zone {
            settings.time_zone = tz;
        }
        if let Some(region) = self.default_region {
            settings.default_region = region;
        }
        if let Some(format) = self.recording_format {
            settings.recording_format = format;
        }
        if let Some(delete) = self.delete_twilio_recording {
            settings.delete_twilio_recording = delete;
        }
        self.routing.apply(settings)?;
        Ok(settings.validate()?)
    }
}

impl RoutingArgs {
    fn apply(self, settings: &mut TenantSettings) -> anyhow::Result<()> {
        let region = settings.default_region;
        let routing = &mut settings.routing;
        if let Some(mode) = self.mode {
            routing.mode = mode;
        }
        if !self.dial_to.is_empty() {
            routing.dial.destinations = self
                .dial_to
                .iter()
                .map(|d| Destination::parse(d, region))
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)
                .context("--dial-to")?;
        }
        if let Some(seconds) = self.ring_timeout_seconds {
            routing.dial.ring_timeout_seconds = seconds;
        }
        if let Some(caller_id) = &self.dial_caller_id {
            routing.dial.caller_id = match caller_id.as_str() {
                "none" => None,
                number => Some(E164::parse(number, region).context("--dial-caller-id")?),
            };
        }
        if let Some(name) = &self.queue_name {
            routing.queue.name = name.clone();
        }
        if let Some(url) = &self.hold_audio_url {
            routing.queue.hold_audio_url = (url != "none").then(|| url.clone());
        }
        let numbers = [
            (
                self.offer_interval_seconds,
                &mut routing.queue.offer_interval_seconds,
            ),
            (self.max_wait_seconds, &mut routing.queue.max_wait_seconds),
            (self.max_queue_size, &mut routing.queue.max_queue_size),
        ];
        for (given, field) in numbers {
            if let Some(value) = given {
                *field = value;
            }
        }
        let schedule = &mut settings.schedule;
        if self.always_open {
            schedule.weekly = None;
        }
        for spec in &self.hours {
            schedule
                .set_hours(spec)
                .map_err(anyhow::Error::msg)
                .context("--hours")?;
        }
        for holiday in self.holidays {
            schedule.holidays.retain(|h| h.date != holiday.date);
            schedule.holidays.push(holiday);
        }
        for date in self.remove_holidays {
            schedule.holidays.retain(|h| h.date != date);
        }
        schedule.holidays.sort_by_key(|h| h.date);
        if let Some(closed) = self.closed_now {
            schedule.closed_now = closed;
        }
        Ok(())
    }
}

pub async fn tenant(config: &Config, command: TenantCommand) -> anyhow::Result<()> {
    let backend = startup::backend(config).await?;
    let store = backend.store.as_ref();
    match command {
        TenantCommand::Create {
            id,
            twilio_account_sid,
            twilio_auth_token,
            settings,
        } => {
            let mut twilio =
                TwilioCredentials::new(twilio_account_sid, AuthToken::new(&twilio_auth_token)?);
            let mut tenant_settings =
                TenantSettings::for_language(settings.language.unwrap_or_default());
            settings.apply(&mut tenant_settings, &mut twilio)?;
            let tenant = Tenant {
                id,
                twilio,
                settings: tenant_settings,
                created_at: jiff::Timestamp::now(),
            };
            store
                .create_tenant(&tenant)
                .await
                .with_context(|| format!("cannot create tenant {}", tenant.id))?;
            println!("created tenant {}", tenant.id);
            print_tenant(config, &tenant);
        }
        TenantCommand::Show { id } => {
            let tenant = load_tenant(store, id).await?;
            print_tenant(config, &tenant);
        }
        TenantCommand::Update {
            id,
            twilio_account_sid,
            twilio_auth_token,
            keep_previous_token_minutes,
            settings,
        } => {
            let mut tenant = load_tenant(store, id).await?;
            if let Some(sid) = twilio_account_sid {
                tenant.twilio.account_sid = sid;
            }
            if let Some(token) = twilio_auth_token {
                tenant
                    .twilio
                    .rotate_auth_token(
                        AuthToken::new(&token)?,
                        keep_previous_token_minutes,
                        jiff::Timestamp::now(),
                    )
                    .context("--keep-previous-token-minutes")?;
            }
            settings.apply(&mut tenant.settings, &mut tenant.twilio)?;
            store
                .update_tenant(&tenant)
                .await
                .with_context(|| format!("cannot update tenant {}", tenant.id))?;
            println!("updated tenant {}", tenant.id);
            print_tenant(config, &tenant);
        }
        TenantCommand::Reseal => {
            let ids = store.tenant_ids().await.context("cannot list tenants")?;
            for id in &ids {
                // Read opened, written sealed: a legacy plaintext secret is sealed.
                let tenant = load_tenant(store, id.clone()).await?;
                store
                    .update_tenant(&tenant)
                    .await
                    .with_context(|| format!("cannot reseal tenant {id}"))?;
            }
            println!("sealed the secrets of {} tenants", ids.len());
        }
    }
    Ok(())
}

fn print_tenant(config: &Config, tenant: &Tenant) {
    let view = serde_json::json!({
        "id": tenant.id,
        "voice_webhook_url": config.public_url.join(&format!("/twilio/{}/voice", tenant.id)),
        "twilio": {
            "account_sid": tenant.twilio.account_sid,
            "auth_token": "(set, not shown)",
            "webhook_shared_key": if tenant.twilio.webhook_shared_key.is_some() { "(set, not shown)" } else { "(not set)" },
            "previous_auth_token_accepted_until": tenant.twilio.previous_auth_token.as_ref().map(|t| t.until),
        },
        "settings": tenant.settings,
        "created_at": tenant.created_at,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&view).unwrap_or_default()
    );
}
