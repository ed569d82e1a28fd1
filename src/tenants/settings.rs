//! A tenant's settings, as its admins read and change them.

use super::{CredentialsChange, TenantsError, update};
use crate::deps::Deps;
use crate::domain::audit::Actor;
use crate::domain::call_routing::{RoutingLinks, first_answer};
use crate::domain::ivr::Links;
use crate::domain::phone::{CallerId, E164, Region};
use crate::domain::reason::Reason;
use crate::domain::settings::SettingsChange;
use crate::domain::tenant::{Tenant, TenantSettings};
use crate::store::StoreError;
use jiff::Timestamp;

/// The caller of the preview: the sample number the settings page fills
/// its prompts with (090-1234-5678).
pub const SAMPLE_CALLER: &str = "+819012345678";

/// What a new caller would hear first, calling now.
pub struct NextCall {
    pub at: Timestamp,
    /// Why the call goes to the callback IVR; `None` when it rings the
    /// agents or waits in the queue first.
    pub reason: Option<Reason>,
    /// The TwiML of the first answer.
    pub twiml: String,
}

/// The first answer a call from `SAMPLE_CALLER` (with no open record)
/// would get now, on the settings as stored now: exactly what the voice
/// webhook answers it once the tenant cache has the change.
pub async fn next_call<L: Links + RoutingLinks>(
    deps: Deps<'_>,
    tenant: &Tenant,
    links: &L,
) -> Result<NextCall, StoreError> {
    let settings = read(deps, tenant).await?;
    let at = deps.clock.now();
    let caller = E164::parse(SAMPLE_CALLER, Region::JP)
        .map(CallerId::Known)
        .unwrap_or(CallerId::Withheld);
    let (reason, twiml) = first_answer(&settings, at, links, caller);
    Ok(NextCall {
        at,
        reason,
        twiml: twiml.render(),
    })
}

/// The settings of `tenant` as stored now, past the cache (the page shows
/// what the last change left).
pub async fn read(deps: Deps<'_>, tenant: &Tenant) -> Result<TenantSettings, StoreError> {
    let fresh = deps.store.get_tenant_fresh(&tenant.id).await?;
    Ok(fresh.map_or_else(|| tenant.settings.clone(), |t| t.settings))
}

/// Applies `change` to the settings of `tenant`, audited as
/// `settings_changed`; the settings as they are now.
pub async fn change(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &Tenant,
    change: SettingsChange,
) -> Result<TenantSettings, TenantsError> {
    let changed = update(
        deps,
        actor,
        &tenant.id,
        CredentialsChange::default(),
        change,
    )
    .await?;
    Ok(changed.settings)
}
