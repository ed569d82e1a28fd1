//! One `Range: bytes=…` request header, read as RFC 9110 §14 says: a
//! header we cannot or will not serve (malformed, another unit, several
//! ranges) is ignored and the whole body is sent.

/// What to send for a body of `total` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    Whole,
    /// Inclusive byte positions.
    Part {
        start: u64,
        end: u64,
    },
    /// Well-formed, but outside the body (416).
    Unsatisfiable,
}

pub fn parse_range(header: Option<&str>, total: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || total == 0 {
                return RangeRequest::Unsatisfiable;
            }
            (total.saturating_sub(suffix), total - 1)
        }
        (false, Some(start), None) if last.is_empty() => (start, total.saturating_sub(1)),
        (false, Some(start), Some(end)) if end >= start => {
            (start, end.min(total.saturating_sub(1)))
        }
        _ => return RangeRequest::Whole,
    };
    if total == 0 || start >= total {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> RangeRequest {
        RangeRequest::Part { start, end }
    }

    #[test]
    fn served_ranges() {
        assert_eq!(parse_range(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(parse_range(Some("bytes=50-500"), 100), part(50, 99));
    }

    #[test]
    fn ranges_outside_the_body_are_unsatisfiable() {
        for outside in ["bytes=100-", "bytes=100-200", "bytes=-0"] {
            assert_eq!(
                parse_range(Some(outside), 100),
                RangeRequest::Unsatisfiable,
                "{outside}"
            );
        }
        assert_eq!(
            parse_range(Some("bytes=0-"), 0),
            RangeRequest::Unsatisfiable
        );
    }

    #[test]
    fn malformed_or_multiple_ranges_are_ignored() {
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=x-",
            "bytes=1-x",
            "bytes=--1",
            "bytes=+1-2",
            "bytes",
            "",
        ] {
            assert_eq!(
                parse_range(Some(ignored), 100),
                RangeRequest::Whole,
                "{ignored}"
            );
        }
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
    }
}
