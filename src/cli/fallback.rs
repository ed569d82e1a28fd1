//! When afureko is down (docs/operations.md): `afureko fallback-twiml`, the
//! TwiML a Twilio number's fallback URL serves meanwhile, and `afureko
//! reconcile`, the records of the requests left then.

use super::args::{FallbackArgs, ReconcileArgs};
use crate::calls::reconcile::Reconciled;
use crate::config::Config;
use crate::domain::ivr;
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::Method;
use crate::http::twilio::links;
use crate::startup;
use anyhow::{Context, bail};

pub async fn fallback_twiml(config: &Config, args: FallbackArgs) -> anyhow::Result<()> {
    if config.public_url_defaulted {
        bail!(
            "AFUREKO_PUBLIC_URL: set it to the URL Twilio reaches afureko at; the fallback's recording callback goes there"
        );
    }
    let backend = startup::backend(config).await?;
    let tenant = super::load_tenant(super::deps(&backend), &args.tenant).await?;
    let mut settings = tenant.settings;
    if let Some(language) = args.language.filter(|l| *l != settings.language) {
        // The tenant's own texts are in its language: another speaks its defaults.
        settings = TenantSettings {
            max_recording_seconds: settings.max_recording_seconds,
            ..TenantSettings::for_language(language)
        };
    }
    let twiml = if args.thanks {
        ivr::after_recording_no_due(&settings)
    } else {
        let thanks = match args.thanks_url {
            Some(url) if url.trim().is_empty() => bail!("--thanks-url: empty"),
            Some(url) => url,
            None => format!("{}-thanks.xml", tenant.id),
        };
        // GET: a static host (an S3 object behind CloudFront) takes no POST.
        let callback = links::recording_status_url(&config.public_url, &tenant.id);
        ivr::record_only(&settings, thanks, Method::Get, callback)
    };
    println!("{}", twiml.render());
    Ok(())
}

pub async fn reconcile(config: &Config, args: ReconcileArgs) -> anyhow::Result<()> {
    let backend = startup::backend(config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        std::sync::Arc::new(crate::clock::SystemClock),
        config.rate_limits,
        startup::hook_client(config)?,
    );
    let (who, done) = match args.tenant {
        Some(id) => {
            let tenant = super::load_tenant(super::deps(&backend), &id).await?;
            let done = state.reconciler.run(&tenant, args.since).await;
            let done = done.with_context(|| format!("cannot reconcile tenant {}", tenant.id))?;
            (tenant.id.to_string(), done)
        }
        None => {
            let done = state.reconciler.run_all(true).await;
            (
                "every tenant".to_owned(),
                done.context("cannot list the tenants")?,
            )
        }
    };
    println!("reconcile {who}: {}", summary(&done));
    Ok(())
}

fn summary(done: &Reconciled) -> String {
    format!(
        "{} recordings listed ({} pages), {} calls had records, {} lost calls kept, {} withheld (no caller ID, left at Twilio), {} skipped; {}",
        done.listed,
        done.pages,
        done.known,
        done.kept,
        done.withheld,
        done.skipped,
        if done.complete {
            "complete"
        } else {
            "not complete: run it again"
        }
    )
}
