//! Service-level figures of a period and the export of its records: the
//! period's records are read by arrival (`CallbackStore::received_callbacks`,
//! an index on received time on both backends), the backlog from the open
//! records; never the rest of a tenant's history.

use crate::deps::Deps;
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::TenantId;
use crate::domain::stats::{Period, PeriodError, Stats, StatsBuilder};
use crate::domain::tenant::Tenant;
use crate::store::{ListQuery, ReceivedPosition, ReceivedQuery, StoreError};
use jiff::civil::Date;
use std::collections::BTreeMap;

/// Records read per store request.
const PAGE: usize = 500;

/// The most records one export holds: about 4 MB of CSV, under the 6 MB a
/// Lambda function may answer.
pub const MAX_EXPORT_ROWS: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(
        "the period holds {count} records; an export holds at most {MAX_EXPORT_ROWS}: choose a shorter period"
    )]
    TooManyRecords { count: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The days `from..=to` in the tenant's time zone (by default the last
/// seven days).
pub fn period(
    deps: Deps<'_>,
    tenant: &Tenant,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Period, PeriodError> {
    Period::new(from, to, tenant.settings.time_zone(), deps.clock.now())
}

/// A period's records, a page at a time, oldest first.
pub struct Received<'a> {
    deps: Deps<'a>,
    tenant: &'a TenantId,
    query: Option<ReceivedQuery>,
}

impl<'a> Received<'a> {
    pub fn new(deps: Deps<'a>, tenant: &'a TenantId, period: &Period) -> Self {
        Received {
            deps,
            tenant,
            query: Some(ReceivedQuery {
                from: period.start(),
                until: period.end(),
                limit: PAGE,
                after: None,
            }),
        }
    }

    /// The next page; `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<CallbackRecord>>, StoreError> {
        let Some(query) = self.query.take() else {
            return Ok(None);
        };
        let page = self
            .deps
            .store
            .received_callbacks(self.tenant, &query)
            .await?;
        self.query = page.next.map(|after: ReceivedPosition| ReceivedQuery {
            after: Some(after),
            ..query
        });
        Ok(Some(page.items))
    }
}

/// The service-level figures of `period`, and the backlog now.
pub async fn service_level(
    deps: Deps<'_>,
    tenant: &Tenant,
    period: Period,
) -> Result<Stats, StoreError> {
    let mut builder = StatsBuilder::new(period.clone(), &tenant.settings, deps.clock.now());
    let mut received = Received::new(deps, &tenant.id, &period);
    while let Some(page) = received.next_page().await? {
        for r in &page {
            builder.add(r);
        }
    }
    for status in [Status::Pending, Status::Claimed] {
        let mut query = ListQuery {
            status: Some(status),
            limit: PAGE,
            ..ListQuery::default()
        };
        loop {
            let page = deps.store.list_callbacks(&tenant.id, &query).await?;
            for r in &page.items {
                builder.add_open(r);
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
    }
    Ok(builder.finish())
}

/// Checks that `period` fits one export, and audits one with whole numbers
/// (`records_exported`, naming the period and counting its records) before
/// any is read; returns how many records it holds.
pub async fn start_export(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    period: &Period,
    whole_numbers: bool,
) -> Result<usize, StatsError> {
    let count = deps
        .store
        .count_received(tenant, period.start(), period.end())
        .await?;
    if count > MAX_EXPORT_ROWS {
        return Err(StatsError::TooManyRecords { count });
    }
    if whole_numbers {
        let subject = format!("{}..{}", period.from(), period.to());
        let counts = BTreeMap::from([("records".to_owned(), count as u64)]);
        deps.record_audit(
            tenant,
            actor,
            AuditAction::RecordsExported,
            &subject,
            counts,
        )
        .await?;
    }
    Ok(count)
}
