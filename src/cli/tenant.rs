//! `afureko tenant create/show/update/reseal`: flags applied to a tenant's
//! settings; every write seals the tenant's secrets (`store::sealed`).

use super::args::{SettingsArgs, TenantCommand};
use super::load_tenant;
use crate::config::Config;
use crate::domain::settings::SettingsChange;
use crate::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use crate::startup;
use anyhow::Context;

/// A secret given by its flag or, with `from_env`, by `var`. `update`
/// reads the environment only when asked: a variable still exported from
/// `create` must not replace a secret (or end a rotation's overlap).
fn secret(given: Option<String>, from_env: bool, var: &str) -> anyhow::Result<Option<String>> {
    if !from_env {
        return Ok(given);
    }
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Some(value)),
        _ => anyhow::bail!("{var} is not set"),
    }
}

/// The webhook SharedKey's secret, when one is given.
fn set_webhook_key(twilio: &mut TwilioCredentials, key: Option<String>) -> anyhow::Result<()> {
    if let Some(key) = key {
        twilio.webhook_shared_key = Some(AuthToken::new(&key).context("--twilio-webhook-key")?);
    }
    Ok(())
}

impl SettingsArgs {
    /// The flags as the domain's change: the same rules as the API's
    /// `PATCH /api/v1/settings`. Secrets are the CLI's own (see `tenant`).
    fn apply(self, settings: &mut TenantSettings) -> anyhow::Result<()> {
        let routing = self.routing;
        SettingsChange {
            language: self.language,
            voice: self.voice,
            prompts: self.prompts,
            reset_prompts: self.reset_prompts,
            max_recording_seconds: self.max_recording_seconds,
            number_entry_attempts: self.number_entry_attempts,
            max_callback_attempts: self.max_callback_attempts,
            callback_sla_minutes: self.callback_sla_minutes,
            claim_timeout_minutes: self.claim_timeout_minutes,
            retry_delay_minutes: self.retry_delay_minutes,
            retention_days: self.retention_days,
            time_zone: self.time_zone,
            default_region: self.default_region,
            delete_twilio_recording: self.delete_twilio_recording,
            recording_format: self.recording_format,
            routing_mode: routing.mode,
            dial_to: routing.dial_to,
            ring_timeout_seconds: routing.ring_timeout_seconds,
            dial_caller_id: routing.dial_caller_id,
            queue_name: routing.queue_name,
            hold_audio_url: routing.hold_audio_url,
            offer_interval_seconds: routing.offer_interval_seconds,
            max_wait_seconds: routing.max_wait_seconds,
            max_queue_size: routing.max_queue_size,
            always_open: routing.always_open,
            hours: routing.hours,
            holidays: routing.holidays,
            remove_holidays: routing.remove_holidays,
            closed_now: routing.closed_now,
        }
        .apply(settings)?;
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
            twilio_webhook_key,
            settings,
        } => {
            let mut twilio =
                TwilioCredentials::new(twilio_account_sid, AuthToken::new(&twilio_auth_token)?);
            set_webhook_key(&mut twilio, twilio_webhook_key)?;
            let mut tenant_settings =
                TenantSettings::for_language(settings.language.unwrap_or_default());
            settings.apply(&mut tenant_settings)?;
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
            twilio_auth_token_from_env,
            keep_previous_token_minutes,
            twilio_webhook_key,
            twilio_webhook_key_from_env,
            settings,
        } => {
            let token = secret(
                twilio_auth_token,
                twilio_auth_token_from_env,
                "AFUREKO_TWILIO_AUTH_TOKEN",
            )?;
            let webhook_key = secret(
                twilio_webhook_key,
                twilio_webhook_key_from_env,
                "AFUREKO_TWILIO_WEBHOOK_KEY",
            )?;
            let mut tenant = load_tenant(store, id).await?;
            if let Some(sid) = twilio_account_sid {
                tenant.twilio.account_sid = sid;
            }
            if let Some(token) = token {
                tenant
                    .twilio
                    .rotate_auth_token(
                        AuthToken::new(&token)?,
                        keep_previous_token_minutes,
                        jiff::Timestamp::now(),
                    )
                    .context("--keep-previous-token-minutes")?;
            }
            set_webhook_key(&mut tenant.twilio, webhook_key)?;
            settings.apply(&mut tenant.settings)?;
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
