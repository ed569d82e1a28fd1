//! `afureko tenant create/show/update/reseal`: flags applied to a tenant's
//! settings; every write seals the tenant's secrets (`store::sealed`).

use super::args::{SettingsArgs, TenantCommand};
use super::{deps, load_tenant};
use crate::domain::audit::Actor;
use crate::domain::settings::{OtherSettings, Setting, SettingsChange, Value};
use crate::domain::tenant::{AuthToken, Tenant, TwilioCredentials};
use crate::settings::BaseUrl;
use crate::startup::Backend;
use crate::tenants::{self, CredentialsChange, TenantsError};
use anyhow::Context;
use std::collections::BTreeMap;

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

/// The webhook SharedKey's secret, as a token.
fn webhook_key(key: Option<String>) -> anyhow::Result<Option<AuthToken>> {
    key.map(|key| AuthToken::new(&key).context("--twilio-webhook-key"))
        .transpose()
}

impl SettingsArgs {
    /// The flags as the domain's change: the same rules as the API's
    /// `PATCH /api/v1/settings`. Secrets are the CLI's own (see `tenant`).
    fn into_change(self) -> anyhow::Result<SettingsChange> {
        let routing = self.routing;
        let mut change = SettingsChange::from(OtherSettings {
            dial_to: routing.dial_to,
            dial_caller_id: routing.dial_caller_id,
            hold_audio_url: routing.hold_audio_url,
            always_open: routing.always_open,
            hours: routing.hours,
            holidays: routing.holidays,
            remove_holidays: routing.remove_holidays,
        });
        for (setting, value) in self.defined.0 {
            change.set(setting, value)?;
        }
        let prompts: BTreeMap<String, Option<String>> = self
            .prompts
            .into_iter()
            .map(|(key, text)| (key.name().to_owned(), Some(text)))
            .chain(
                self.reset_prompts
                    .into_iter()
                    .map(|k| (k.name().to_owned(), None)),
            )
            .collect();
        if !prompts.is_empty() {
            let setting = Setting::find("prompts").context("the prompts setting")?;
            change.set(setting, Value::Prompts(prompts))?;
        }
        Ok(change)
    }
}

pub async fn tenant(
    backend: &Backend,
    public_url: &BaseUrl,
    command: TenantCommand,
) -> anyhow::Result<()> {
    let deps = deps(backend);
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
            twilio.webhook_shared_key = webhook_key(twilio_webhook_key)?;
            let change = settings.into_change()?;
            let tenant = tenants::create(deps, id.clone(), twilio, change)
                .await
                .with_context(|| format!("cannot create tenant {id}"))?;
            println!("created tenant {}", tenant.id);
            print_tenant(public_url, &tenant);
        }
        TenantCommand::Show { id } => {
            let tenant = load_tenant(deps, &id).await?;
            print_tenant(public_url, &tenant);
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
            let (token_var, key_var) = ("AFUREKO_TWILIO_AUTH_TOKEN", "AFUREKO_TWILIO_WEBHOOK_KEY");
            let token = secret(twilio_auth_token, twilio_auth_token_from_env, token_var)?;
            let key = secret(twilio_webhook_key, twilio_webhook_key_from_env, key_var)?;
            let webhook_shared_key = webhook_key(key)?;
            let change = settings.into_change()?;
            let auth_token = token
                .map(|token| AuthToken::new(&token))
                .transpose()?
                .map(|token| (token, keep_previous_token_minutes));
            let credentials = CredentialsChange {
                account_sid: twilio_account_sid,
                auth_token,
                webhook_shared_key,
            };
            let tenant = tenants::update(deps, &Actor::Operator, &id, credentials, change)
                .await
                .map_err(|e| match e {
                    // Name the flag of a refused credential.
                    TenantsError::Credentials(e) => {
                        let flag = format!("--{}", e.field().replace('_', "-"));
                        anyhow::Error::new(e).context(flag)
                    }
                    TenantsError::Store(e) => {
                        anyhow::Error::new(e).context(format!("cannot update tenant {id}"))
                    }
                    other => other.into(),
                })?;
            println!("updated tenant {}", tenant.id);
            print_tenant(public_url, &tenant);
        }
        TenantCommand::Reseal => {
            let count = tenants::reseal(deps)
                .await
                .context("cannot reseal the tenants")?;
            println!("sealed the secrets of {count} tenants");
        }
    }
    Ok(())
}

fn print_tenant(public_url: &BaseUrl, tenant: &Tenant) {
    let view = serde_json::json!({
        "id": tenant.id,
        "voice_webhook_url": public_url.join(&format!("/twilio/{}/voice", tenant.id)),
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
