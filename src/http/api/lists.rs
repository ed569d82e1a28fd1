//! The callback list (by status, order and filters, or a number search)
//! and its counts, for agents who keep the list open all day.

use crate::calls::work::{self, COUNT_CAP};
use crate::domain::callback::Status;
use crate::domain::number_search::NumberSearch;
use crate::domain::reason::Reason;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::cursor::{decode_cursor, encode_cursor};
use crate::http::api::rules::{self, limit_of};
use crate::http::api::views::{CallbackPage, CallbackView};
use crate::http::error::{ApiError, CountErrors, ListErrors};
use crate::http::extract::ApiQuery;
use crate::store::{DueRange, ListBy, ListFilter, ListQuery};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// "Due soon": within this many minutes (the page's SLA colour too).
pub const SOON_MINUTES: i64 = 30;

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ListSort {
    /// Oldest due first (the default).
    #[serde(rename = "due")]
    Due,
    /// Latest due first: a closed list's newest records lead.
    #[serde(rename = "-due")]
    DueDesc,
    /// Oldest call first (who waited longest): open records only.
    #[serde(rename = "received")]
    Received,
    /// Most attempts first, then oldest call: open records only.
    #[serde(rename = "attempts")]
    Attempts,
}

const SORTS: [(&str, ListSort); 4] = [
    ("due", ListSort::Due),
    ("-due", ListSort::DueDesc),
    ("received", ListSort::Received),
    ("attempts", ListSort::Attempts),
];

/// How near its due time an open record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// Past its due time.
    Overdue,
    /// Due within 30 minutes, not yet overdue.
    Soon,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only records in this status; all when absent.
    // Text, each parsed with its own clearer message.
    #[param(inline, value_type = Option<Status>)]
    pub status: Option<String>,
    #[param(schema_with = rules::limit_schema)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, with the same other parameters.
    pub cursor: Option<String>,
    /// A phone number or its last digits (at least 4), as people type them:
    /// `090-1111-2222`, `+81 90 1111 2222`, `1111-2222`, `2222`. Lists the
    /// records whose callback number is that number (national in the
    /// tenant's region, or with its country code) or ends in those digits,
    /// newest call first; not with `sort`.
    #[param(max_length = 40)]
    pub q: Option<String>,
    /// Only records of this reason.
    #[param(inline, value_type = Option<Reason>)]
    pub reason: Option<String>,
    /// Only open records past their due time (`overdue`) or due within 30
    /// minutes (`soon`).
    #[param(inline, value_type = Option<DueState>)]
    pub due: Option<String>,
    /// `true`: only records a later call from the same number joined.
    pub repeat: Option<bool>,
    /// `due` (oldest due first, the default), `-due` (latest due first),
    /// `received` (oldest call first) or `attempts` (most attempts first,
    /// then oldest call). `received` and `attempts` list open records: with
    /// `status` pending or claimed, or none.
    #[param(inline, value_type = Option<ListSort>)]
    pub sort: Option<String>,
}

/// The list the parameters ask for, and the name its cursors carry.
fn query_of(
    params: &ListParams,
    agent: &Agent,
    now_ms: i64,
) -> Result<(ListQuery, String), ApiError> {
    let status: Option<Status> = params
        .status
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| ApiError::bad_field("status", e))?;
    let reason: Option<Reason> = params
        .reason
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| ApiError::bad_field("reason", e))?;
    let due = match params.due.as_deref() {
        None => None,
        Some("overdue") => Some(DueState::Overdue),
        Some("soon") => Some(DueState::Soon),
        Some(other) => {
            return Err(ApiError::bad_field(
                "due",
                format!("due must be overdue or soon, got {other:?}"),
            ));
        }
    };
    let sort = match params.sort.as_deref() {
        None => None,
        Some(text) => Some(
            SORTS
                .iter()
                .find(|(name, _)| *name == text)
                .map(|(_, sort)| *sort)
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "sort",
                        format!("sort must be due, -due, received or attempts, got {text:?}"),
                    )
                })?,
        ),
    };
    let by = match (&params.q, sort) {
        (Some(q), None) => ListBy::Number(
            NumberSearch::parse(q, agent.region()).map_err(|e| ApiError::bad_field("q", e))?,
        ),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "sort",
                "a number search (q) lists newest call first: leave sort out",
            ));
        }
        (None, None | Some(ListSort::Due)) => ListBy::Due,
        (None, Some(ListSort::DueDesc)) => ListBy::DueDesc,
        (None, Some(open_order @ (ListSort::Received | ListSort::Attempts))) => {
            if status.is_some_and(|s| !matches!(s, Status::Pending | Status::Claimed)) {
                return Err(ApiError::bad_field(
                    "sort",
                    "sort=received and sort=attempts list open records: status pending, claimed or none",
                ));
            }
            match open_order {
                ListSort::Received => ListBy::Received,
                _ => ListBy::Attempts,
            }
        }
    };
    let soon = now_ms + SOON_MINUTES * 60_000;
    let filter = ListFilter {
        reason,
        due: due.map(|d| match d {
            DueState::Overdue => DueRange {
                from: None,
                before: Some(now_ms),
            },
            DueState::Soon => DueRange {
                from: Some(now_ms),
                before: Some(soon),
            },
        }),
        repeat: params.repeat.unwrap_or(false),
    };
    // Everything but the page's size and place: a cursor goes on only the
    // list it came from.
    let list = serde_json::json!([
        params.status,
        params.sort,
        match &by {
            ListBy::Number(search) => Some(search.suffix()),
            _ => None,
        },
        params.reason,
        params.due,
        filter.repeat,
    ])
    .to_string();
    let after = params
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c, &list))
        .transpose()?;
    let query = ListQuery {
        status,
        by,
        filter,
        limit: limit_of(params.limit)? as usize,
        after,
    };
    Ok((query, list))
}

/// The tenant's callbacks, oldest due first unless `sort` or `q` says
/// otherwise. With a session the numbers are masked here, even for the
/// holder (the record shows the holder the whole number); with an API key
/// they are whole. A record whose caller chose a window that has not
/// opened yet carries `not_before`.
#[utoipa::path(
    get, path = "/api/v1/callbacks", tag = "callbacks",
    params(ListParams),
    responses(
        (status = 200, description = "A page of the callback list. Filtered lists (`q`, `reason`, `due`, \
`repeat`, or an open order with a status) read a bounded number of records a page: a page may hold fewer \
than `limit` items, even none, while `next_cursor` is set", body = CallbackPage),
        ListErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn list_callbacks(
    State(state): State<AppState>,
    agent: Agent,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<CallbackPage>, ApiError> {
    let now = state.clock.now();
    let (query, list) = query_of(&params, &agent, now.as_millisecond())?;
    let page = work::list(state.deps(), &agent.tenant.id, &query).await?;
    Ok(Json(CallbackPage {
        items: page
            .items
            .iter()
            .map(|r| CallbackView::in_list(r, agent.login(), agent.region(), now))
            .collect(),
        next_cursor: page.next.map(|p| encode_cursor(&list, &p)),
    }))
}

/// What an agent keeping the list open needs to notice new calls: the open
/// records counted (each count stops at `cap`), and the newest call.
#[derive(Serialize, ToSchema)]
pub struct CallbackCounts {
    pub pending: usize,
    /// Pending records past their due time.
    pub overdue: usize,
    pub claimed: usize,
    /// Claimed by the signed-in agent; null with an API key.
    pub mine: Option<usize>,
    /// When the newest record's first call arrived (RFC 3339, UTC): a new
    /// call changes it. Null while the tenant has no record.
    pub latest_received_at: Option<String>,
    /// Counts stop here: a count equal to it means at least as many.
    pub cap: usize,
}

/// Counted from the indexes of open records (on DynamoDB a keys-only
/// count, 0.5 RRU per 4 KB of keys), bounded by `cap`.
#[utoipa::path(
    get, path = "/api/v1/callbacks/counts", tag = "callbacks",
    responses(
        (status = 200, description = "The open records counted, and the newest call", body = CallbackCounts),
        CountErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn counts(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<CallbackCounts>, ApiError> {
    let counts = work::counts(state.deps(), &agent.tenant.id, agent.login()).await?;
    Ok(Json(CallbackCounts {
        pending: counts.pending,
        overdue: counts.overdue,
        claimed: counts.claimed,
        mine: counts.mine,
        latest_received_at: counts.latest_received_at.map(|t| t.to_string()),
        cap: COUNT_CAP,
    }))
}
