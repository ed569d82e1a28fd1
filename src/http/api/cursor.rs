//! Opaque list cursors: keyset positions bound to the list they came from.

use crate::http::error::ApiError;
use crate::store::ListPosition;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The cursor is the last item's position plus the list it was made for
/// (its status, order and filters, as `list` names them), so it stays
/// right while records change, and cannot be reused with another list.
#[derive(Serialize, Deserialize)]
struct Cursor {
    l: String,
    d: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    a: u32,
    i: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub fn encode_cursor(list: &str, after: &ListPosition) -> String {
    let cursor = Cursor {
        l: list.to_owned(),
        d: after.at_ms,
        a: after.attempts,
        i: after.id.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

pub fn decode_cursor(text: &str, list: &str) -> Result<ListPosition, ApiError> {
    let bad = || ApiError::bad_field("cursor", "cursor is not one this API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.l != list {
        return Err(ApiError::bad_field(
            "cursor",
            "cursor belongs to a list with another status, order or filter",
        ));
    }
    Ok(ListPosition {
        at_ms: cursor.d,
        attempts: cursor.a,
        id: cursor.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_their_list() {
        let position = ListPosition {
            at_ms: 42,
            attempts: 3,
            id: "x".into(),
        };
        let cursor = encode_cursor("status=pending", &position);
        assert_eq!(decode_cursor(&cursor, "status=pending").unwrap(), position);
        assert!(decode_cursor(&cursor, "").is_err());
        assert!(decode_cursor(&cursor, "status=pending&sort=received").is_err());
        assert!(decode_cursor("garbage!", "").is_err());
    }

    proptest::proptest! {
        #[test]
        fn cursors_round_trip_and_garbage_is_a_bad_request(
            at_ms in proptest::num::i64::ANY,
            attempts in proptest::num::u32::ANY,
            id in ".{0,40}",
            list in ".{0,40}",
            garbage in ".{0,60}",
        ) {
            let position = ListPosition { at_ms, attempts, id };
            let cursor = encode_cursor(&list, &position);
            proptest::prop_assert_eq!(decode_cursor(&cursor, &list).unwrap(), position.clone());
            match decode_cursor(&garbage, "") {
                Ok(_) => {}
                Err(e) => {
                    let refused = matches!(e, ApiError::BadField { .. });
                    proptest::prop_assert!(refused);
                }
            }
        }
    }
}
