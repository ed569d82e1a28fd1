//! `afureko tenant create/show/update/reseal`: flags applied to a tenant's
//! settings; every write seals the tenant's secrets (`store::sealed`).

use super::args::{SettingsArgs, TenantCommand};
use super::load_tenant;
use crate::config::Config;
use crate::domain::settings::{OtherSettings, SettingsChange};
use crate::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use crate::startup;
use anyhow::Context;

impl SettingsArgs {
    /// The flags as the domain's change: the same rules as the API's
    /// `PATCH /api/v1/settings`. The webhook key is a secret, so the CLI's
    /// own.
    fn apply(
        self,
        settings: &mut TenantSettings,
        twilio: &mut TwilioCredentials,
    ) -> anyhow::Result<()> {
        if let Some(key) = self.twilio_webhook_key {
            twilio.webhook_shared_key = Some(AuthToken::new(&key).context("--twilio-webhook-key")?);
        }
        let routing = self.routing;
        let mut change = SettingsChange::from(OtherSettings {
            prompts: self.prompts,
            reset_prompts: self.reset_prompts,
            default_region: self.default_region,
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
        });
        for (setting, value) in self.defined.0 {
            change.set(setting, value)?;
        }
        change.apply(settings)?;
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
            let mut tenant_settings = TenantSettings::default();
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
