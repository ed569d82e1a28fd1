//! `GET /api/v1/stats` (service-level figures) and `GET
//! /api/v1/stats/records.csv` (a period's records, streamed): for
//! supervisors, admins and API keys.

use crate::calls::stats::{self as stats, Received};
use crate::domain::agent::Role;
use crate::domain::callback::CallbackRecord;
use crate::domain::stats::{Facts, Period, Stats};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::error::{ApiError, ExportErrors, StatsErrors};
use crate::http::extract::ApiQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodParams {
    /// The first day, `YYYY-MM-DD` in the tenant's time zone; by default
    /// six days before `to`.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-01")]
    pub from: Option<String>,
    /// The last day, included; by default today. At most 366 days in all.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-07")]
    pub to: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// The first day, as for `GET /api/v1/stats`.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-01")]
    pub from: Option<String>,
    /// The last day, included.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-07")]
    pub to: Option<String>,
    /// Whole phone numbers instead of masked ones: a signed-in admin only,
    /// and the export is audited (`records_exported`).
    pub whole_numbers: Option<bool>,
}

/// A date parameter: exactly `YYYY-MM-DD`.
fn date(field: &str, value: Option<&str>) -> Result<Option<Date>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| value.parse::<Date>().ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                format!("{field} must be a date YYYY-MM-DD, got {value:?}"),
            )
        })
}

fn period_of(
    state: &AppState,
    tenant: &Tenant,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period, ApiError> {
    let (from, to) = (date("from", from)?, date("to", to)?);
    Ok(stats::period(state.deps(), tenant, from, to).map_err(stats::StatsError::from)?)
}

/// Whether the promise holds: the period's calls by reason, how many were
/// called back within the SLA and how fast, per day and per agent, and
/// the backlog now. Records count by their arrival.
#[utoipa::path(
    get, path = "/api/v1/stats", tag = "stats",
    params(PeriodParams),
    responses(
        (status = 200, description = "The period's figures and the backlog now", body = Stats),
        StatsErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn get_stats(
    State(state): State<AppState>,
    agent: Agent,
    ApiQuery(params): ApiQuery<PeriodParams>,
) -> Result<Json<Stats>, ApiError> {
    agent.require(Role::Supervisor)?;
    let period = period_of(
        &state,
        &agent.tenant,
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    Ok(Json(
        stats::service_level(state.deps(), &agent.tenant, period).await?,
    ))
}

/// The CSV's columns. Times are in the tenant's time zone, with its offset.
const COLUMNS: [&str; 18] = [
    "id",
    "received_at",
    "reason",
    "status",
    "confirmation",
    "callback_number",
    "caller_number",
    "first_due_at",
    "due_at",
    "first_attempt_at",
    "completed_at",
    "completed_within_sla",
    "attempts",
    "last_agent",
    "claimed_by",
    "repeat_calls",
    "recordings",
    "recordings_not_copied",
];

/// The period's records, one CSV row each, oldest first: numbers masked
/// unless a signed-in admin asks for whole ones, which is audited. At most
/// 20,000 records (a longer period is refused before anything is sent);
/// streamed a page at a time.
#[utoipa::path(
    get, path = "/api/v1/stats/records.csv", tag = "stats",
    params(ExportParams),
    responses(
        (status = 200, description = "RFC 4180 CSV with a header row: id, received_at, reason, status, \
confirmation, callback_number, caller_number, first_due_at, due_at, first_attempt_at, completed_at, \
completed_within_sla, attempts, last_agent, claimed_by, repeat_calls, recordings, recordings_not_copied",
            content_type = "text/csv",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"afureko-{tenant}-{from}-{to}.csv\""))),
        ExportErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn export_records(
    State(state): State<AppState>,
    agent: Agent,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    agent.require(Role::Supervisor)?;
    let whole = params.whole_numbers.unwrap_or(false);
    if whole {
        agent.admin_session("whole numbers in an export")?;
    }
    let period = period_of(
        &state,
        &agent.tenant,
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    stats::start_export(state.deps(), &agent.actor, &agent.tenant.id, &period, whole).await?;
    let filename = format!(
        "attachment; filename=\"afureko-{}-{}-{}.csv\"",
        agent.tenant.id,
        period.from(),
        period.to()
    );
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let tenant = agent.tenant.clone();
    tokio::spawn(async move {
        let deps = state.deps();
        let mut received = Received::new(deps, &tenant.id, &period);
        let mut text = csv_row(COLUMNS.iter().map(|c| c.to_string()));
        loop {
            if writer.write_all(text.as_bytes()).await.is_err() {
                // The client went away.
                return;
            }
            text.clear();
            match received.next_page().await {
                Ok(Some(page)) => {
                    for r in &page {
                        text.push_str(&record_row(r, &tenant, whole));
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    // Too late for an error answer: the file ends short.
                    let error = crate::telemetry::error_chain(&e);
                    tracing::error!(tenant = %tenant.id, error, "the export stopped");
                    return;
                }
            }
        }
    });
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&filename).map_err(ApiError::internal)?,
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    Ok((headers, body).into_response())
}

/// One CSV line (RFC 4180): cells with a comma, quote or line break are
/// quoted; text that a spreadsheet would take for a formula is led by `'`.
fn csv_row(cells: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(&cell) {
            format!("'{cell}")
        } else {
            cell
        };
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&cell);
        }
    }
    line.push_str("\r\n");
    line
}

/// A phone number (`+81…`, masked or not) is data, not a formula.
fn is_number(cell: &str) -> bool {
    cell.strip_prefix('+').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '*')
    })
}

fn record_row(r: &CallbackRecord, tenant: &Tenant, whole: bool) -> String {
    let tz = tenant.settings.time_zone();
    let time = |t: Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    let number = |n: &crate::domain::phone::E164| {
        if whole { n.to_string() } else { n.masked() }
    };
    let facts = Facts::of(r, &tenant.settings);
    let count = |n: usize| n.to_string();
    csv_row([
        r.id.to_string(),
        time(r.received_at),
        r.reason.to_string(),
        r.status.to_string(),
        r.confirmation.as_str().to_owned(),
        number(&r.callback_number),
        r.caller_number.as_ref().map(number).unwrap_or_default(),
        time(facts.first_due),
        time(r.due_at),
        facts.first_attempt.map(time).unwrap_or_default(),
        facts.completed.map(time).unwrap_or_default(),
        facts.within_sla.map(|b| b.to_string()).unwrap_or_default(),
        count(r.attempts.len()),
        r.attempts
            .last()
            .map(|a| a.agent.clone())
            .unwrap_or_default(),
        r.claimed_by.clone().unwrap_or_default(),
        count(r.repeat_calls.len()),
        count(r.recordings.len()),
        facts.recordings_not_copied.to_string(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let row = csv_row(
            [
                "a,b",
                "say \"hi\"",
                "=SUM(A1)",
                "+81312345678",
                "+81*****5678",
                "-1",
                "plain",
            ]
            .map(String::from),
        );
        assert_eq!(
            row,
            "\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),+81312345678,+81*****5678,'-1,plain\r\n"
        );
    }

    #[test]
    fn dates_are_exactly_year_month_day() {
        assert_eq!(
            date("from", Some("2026-12-01")).unwrap(),
            Some("2026-12-01".parse().unwrap())
        );
        assert_eq!(date("to", None).unwrap(), None);
        for bad in [
            "2026-12-1",
            "2026-13-01",
            "2026-02-30",
            "20261201",
            "2026-12-01T00:00",
        ] {
            let err = date("from", Some(bad)).unwrap_err();
            assert!(
                matches!(&err, ApiError::BadField { field, .. } if field == "from"),
                "{bad}: {err}"
            );
        }
    }
}
