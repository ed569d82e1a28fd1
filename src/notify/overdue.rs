//! The overdue sweep: a pending record past its due time is announced once
//! (`callback.overdue`), by marking it, which raises the event into the
//! outbox with the write. Only tenants with an endpoint for the event are
//! looked at, and of each only the pending records that came due since the
//! last sweep (less a margin for the index's lag), read in due order from
//! the pending list: never the tenant's history. A record that passed its
//! due time while claimed is not announced when released later.

use crate::domain::callback::Status;
use crate::store::notify::EndpointStore;
use crate::store::{
    ListBy, ListFilter, ListPosition, ListQuery, Store, StoreError, modify_callback,
};
use jiff::{SignedDuration, Timestamp};

/// How often `serve` sweeps (on AWS, the sweeper function's schedule).
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// A tenant's first sweep looks this far back: records overdue for longer
/// when its first endpoint for the event was added are not announced.
const FIRST_LOOK_BACK: SignedDuration = SignedDuration::from_hours(1);

/// Each sweep looks again this far before where the last one ended: a list
/// read from an index may lag a change by a moment.
const MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// Records read in one page.
const PAGE: usize = 100;

/// Records announced for one tenant in one sweep; the next sweep goes on.
const PER_TENANT: usize = 1000;

/// Announces the records that went overdue by `now`; how many.
pub async fn sweep(
    store: &dyn Store,
    endpoints: &dyn EndpointStore,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut announced = 0;
    for tenant in endpoints.tenants_watching_overdue().await? {
        let from = endpoints
            .overdue_swept_to(&tenant)
            .await?
            .unwrap_or(now - FIRST_LOOK_BACK)
            - MARGIN;
        let mut query = ListQuery {
            status: Some(Status::Pending),
            by: ListBy::Due,
            filter: ListFilter::default(),
            limit: PAGE,
            after: Some(ListPosition {
                at_ms: from.as_millisecond(),
                attempts: 0,
                id: String::new(),
            }),
        };
        let mut swept_to = now;
        let mut looked = 0;
        'pages: loop {
            let page = store.list_callbacks(&tenant, &query).await?;
            for record in &page.items {
                if record.due_at > now {
                    break 'pages;
                }
                if looked == PER_TENANT {
                    swept_to = record.due_at;
                    break 'pages;
                }
                looked += 1;
                if record.overdue_at.is_some() {
                    continue;
                }
                let marked =
                    modify_callback(store, &tenant, &record.id, |r| r.mark_overdue(now)).await?;
                if marked.overdue_at == Some(now) {
                    announced += 1;
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        endpoints.set_overdue_swept_to(&tenant, swept_to).await?;
    }
    Ok(announced)
}
