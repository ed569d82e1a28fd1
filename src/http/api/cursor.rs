//! Opaque list cursors: keyset positions bound to their status filter.

use crate::domain::callback::Status;
use crate::http::error::ApiError;
use crate::store::ListPosition;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The cursor is the last item's position plus the filter it was made for,
/// so it stays right while records change, and cannot be reused with
/// another filter.
#[derive(Serialize, Deserialize)]
struct Cursor {
    s: Option<String>,
    d: i64,
    i: String,
}

pub fn encode_cursor(status: Option<Status>, after: &ListPosition) -> String {
    let cursor = Cursor {
        s: status.map(|s| s.as_str().to_owned()),
        d: after.due_at_ms,
        i: after.id.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

pub fn decode_cursor(text: &str, status: Option<Status>) -> Result<ListPosition, ApiError> {
    let bad = || ApiError::BadRequest("cursor is not one this API gave out".into());
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s.as_deref() != status.map(|s| s.as_str()) {
        return Err(ApiError::BadRequest(
            "cursor belongs to a list with another status filter".into(),
        ));
    }
    Ok(ListPosition {
        due_at_ms: cursor.d,
        id: cursor.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_their_filter() {
        let position = ListPosition {
            due_at_ms: 42,
            id: "x".into(),
        };
        let cursor = encode_cursor(Some(Status::Pending), &position);
        assert_eq!(
            decode_cursor(&cursor, Some(Status::Pending)).unwrap(),
            position
        );
        assert!(decode_cursor(&cursor, None).is_err());
        assert!(decode_cursor("garbage!", None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn cursors_round_trip_and_garbage_is_a_bad_request(
            due_at_ms in proptest::num::i64::ANY,
            id in ".{0,40}",
            garbage in ".{0,60}",
        ) {
            let position = ListPosition { due_at_ms, id };
            for status in [None, Some(Status::Pending), Some(Status::Failed)] {
                let cursor = encode_cursor(status, &position);
                proptest::prop_assert_eq!(decode_cursor(&cursor, status).unwrap(), position.clone());
            }
            match decode_cursor(&garbage, None) {
                Ok(_) => {}
                Err(e) => proptest::prop_assert!(matches!(e, ApiError::BadRequest(_))),
            }
        }
    }
}
