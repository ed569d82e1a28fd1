//! Agents' changes to a callback record: claims, attempts, completion.
//! The domain decides on the record's latest version; the store writes it
//! only if nobody wrote since.

use crate::domain::callback::{
    Attempt, CallbackRecord, ClaimChange, ClaimEvent, Correction, MAX_CLAIM_EVENTS, Note, Outcome,
    Status,
};
use crate::domain::tenant::WorkRules;
use jiff::Timestamp;

/// Why an agent's change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// Another agent holds the claim (a conflict: try another record).
    #[error("claimed by {holder}")]
    HeldByOther { holder: String },
    /// Only the holder (or a supervisor) may hand the record over.
    #[error("only the agent holding it or a supervisor can hand it over")]
    NotHolder,
    /// The change makes no sense in the record's state.
    #[error("cannot {action} a callback that is {status}")]
    InvalidState {
        action: &'static str,
        status: Status,
    },
    /// No attempt has this number (1 is the first).
    #[error("this callback has no attempt {n}")]
    NoSuchAttempt { n: usize },
    /// Only the agent who made an attempt (or a supervisor) corrects it.
    #[error("only the agent who made the attempt or a supervisor can correct it")]
    NotYourAttempt,
    #[error("an attempt is corrected at most {MAX_CORRECTIONS} times")]
    TooManyCorrections,
}

/// Corrections kept per attempt: bounds the stored item.
pub const MAX_CORRECTIONS: usize = 20;

/// The longest agent name, in characters (Unicode scalar values).
pub const MAX_AGENT_CHARS: usize = 100;

/// An agent's name as given by the client: at most `MAX_AGENT_CHARS`
/// characters as sent (so the limit is the one the API document states),
/// no control characters, not only whitespace; kept trimmed.
pub fn agent_name(input: &str) -> Option<String> {
    let name = input.trim();
    (!name.is_empty()
        && input.chars().count() <= MAX_AGENT_CHARS
        && !input.chars().any(char::is_control))
    .then(|| name.to_owned())
}

impl CallbackRecord {
    fn claim_expires(&self, rules: &WorkRules) -> Option<Timestamp> {
        self.claimed_at
            .and_then(|at| at.checked_add(rules.claim_timeout).ok())
    }

    fn claim_expired(&self, now: Timestamp, rules: &WorkRules) -> bool {
        self.claim_expires(rules)
            .is_none_or(|expires| expires <= now)
    }

    fn log_claim(&mut self, at: Timestamp, agent: &str, change: ClaimChange) {
        if self.claims.len() >= MAX_CLAIM_EVENTS {
            self.claims.remove(0);
        }
        self.claims.push(ClaimEvent {
            at,
            agent: agent.to_owned(),
            change,
        });
    }

    /// Before `agent` acts on a record another agent's claim lapsed on,
    /// the history notes when that claim expired.
    pub(crate) fn lapse_claim(&mut self, agent: &str, now: Timestamp, rules: &WorkRules) {
        if self.status != Status::Claimed || !self.claim_expired(now, rules) {
            return;
        }
        if let Some(holder) = self.claimed_by.clone()
            && holder != agent
        {
            let at = self.claim_expires(rules).unwrap_or(now);
            self.log_claim(at, &holder, ClaimChange::Expired);
        }
    }

    /// Whether `agent` holds a claim that has not expired.
    pub(crate) fn holds(&self, agent: &str, now: Timestamp, rules: &WorkRules) -> bool {
        self.status == Status::Claimed
            && self.claimed_by.as_deref() == Some(agent)
            && !self.claim_expired(now, rules)
    }

    /// The agent holding a live claim, if it is someone other than `agent`.
    pub(crate) fn other_holder(
        &self,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Option<String> {
        match (&self.status, &self.claimed_by) {
            (Status::Claimed, Some(holder))
                if holder != agent && !self.claim_expired(now, rules) =>
            {
                Some(holder.clone())
            }
            _ => None,
        }
    }

    fn open_for(
        &self,
        action: &'static str,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), ChangeError> {
        if matches!(self.status, Status::Completed | Status::Failed) {
            return Err(ChangeError::InvalidState {
                action,
                status: self.status,
            });
        }
        match self.other_holder(agent, now, rules) {
            Some(holder) => Err(ChangeError::HeldByOther { holder }),
            None => Ok(()),
        }
    }

    /// Takes the record for `agent`: only a pending record, an expired
    /// claim, or the agent's own claim (which is renewed).
    pub fn claim(
        &mut self,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), ChangeError> {
        self.open_for("claim", agent, now, rules)?;
        if !self.holds(agent, now, rules) {
            self.lapse_claim(agent, now, rules);
            self.log_claim(now, agent, ClaimChange::Claimed);
        }
        self.status = Status::Claimed;
        self.claimed_by = Some(agent.to_owned());
        self.claimed_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// Hands the record back; only its holder can.
    pub fn release(
        &mut self,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), ChangeError> {
        if self.status != Status::Claimed {
            return Err(ChangeError::InvalidState {
                action: "release",
                status: self.status,
            });
        }
        if let Some(holder) = self.other_holder(agent, now, rules) {
            return Err(ChangeError::HeldByOther { holder });
        }
        self.lapse_claim(agent, now, rules);
        self.log_claim(now, agent, ClaimChange::Released);
        self.unclaim(now);
        Ok(())
    }

    fn unclaim(&mut self, now: Timestamp) {
        self.status = Status::Pending;
        self.claimed_by = None;
        self.claimed_at = None;
        self.updated_at = now;
    }

    /// Logs a callback attempt. Reached completes the record; otherwise it
    /// fails after the last allowed attempt or is due again after the delay.
    pub fn log_attempt(&mut self, attempt: Attempt, rules: &WorkRules) -> Result<(), ChangeError> {
        let now = attempt.at;
        self.open_for("log an attempt on", &attempt.agent, now, rules)?;
        self.lapse_claim(&attempt.agent, now, rules);
        self.record_attempt(attempt, rules);
        Ok(())
    }

    /// Adds an attempt to an open record and moves the record on.
    pub(crate) fn record_attempt(&mut self, attempt: Attempt, rules: &WorkRules) {
        let now = attempt.at;
        self.attempts.push(attempt);
        if !self.close_by(now, rules) {
            self.unclaim(now);
            self.due_at = now.checked_add(rules.retry_delay).unwrap_or(now);
        }
        self.settle_expiry(rules.retention, now);
    }

    /// Closes the record when its attempts settle it: completed once one
    /// reached the customer, failed after `max_attempts` that did not;
    /// whether it closed.
    pub(crate) fn close_by(&mut self, now: Timestamp, rules: &WorkRules) -> bool {
        let reached = self.attempts.iter().any(|a| a.outcome == Outcome::Reached);
        let unreached = self
            .attempts
            .iter()
            .filter(|a| a.outcome != Outcome::Reached)
            .count();
        self.status = if reached {
            Status::Completed
        } else if u32::try_from(unreached).unwrap_or(u32::MAX) >= rules.max_attempts {
            Status::Failed
        } else {
            return false;
        };
        self.claimed_by = None;
        self.claimed_at = None;
        self.updated_at = now;
        true
    }

    /// Corrects the outcome of attempt `n` (1 is the first) with a note;
    /// false when it has that outcome already. Its agent may, or a
    /// supervisor (`supervisor`). The record's status follows: completed
    /// when an attempt now reached the customer, failed when the
    /// unreached ones reach the tenant's maximum, and a record that
    /// closed on the old outcome opens again (pending, due the retry delay
    /// after its last attempt). A record completed by hand stays
    /// completed. A correction that would close a record another agent
    /// holds is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn correct_attempt(
        &mut self,
        n: usize,
        by: &str,
        supervisor: bool,
        outcome: Outcome,
        note: String,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<bool, ChangeError> {
        let index = n
            .checked_sub(1)
            .filter(|i| *i < self.attempts.len())
            .ok_or(ChangeError::NoSuchAttempt { n })?;
        let attempt = &self.attempts[index];
        if attempt.agent != by && !supervisor {
            return Err(ChangeError::NotYourAttempt);
        }
        if attempt.outcome == outcome {
            return Ok(false);
        }
        if attempt.corrections.len() >= MAX_CORRECTIONS {
            return Err(ChangeError::TooManyCorrections);
        }
        let mut next = self.clone();
        let attempt = &mut next.attempts[index];
        attempt.corrections.push(Correction {
            at: now,
            agent: by.to_owned(),
            from: attempt.outcome,
            note,
        });
        attempt.outcome = outcome;
        next.updated_at = now;
        if next.completed_by.is_none() && !next.close_by(now, rules) && !self.is_open() {
            let last = next.attempts.last().map_or(now, |a| a.at);
            next.unclaim(now);
            next.due_at = last.checked_add(rules.retry_delay).unwrap_or(last);
        }
        if next.status != self.status
            && let Some(holder) = self.other_holder(by, now, rules)
        {
            return Err(ChangeError::HeldByOther { holder });
        }
        next.settle_expiry(rules.retention, now);
        *self = next;
        Ok(true)
    }

    /// A note for colleagues; any record takes one, open or not.
    pub fn add_note(&mut self, agent: &str, text: String, now: Timestamp) {
        self.notes.push(Note {
            at: now,
            agent: agent.to_owned(),
            text: Some(text),
            handed_to: None,
        });
        self.updated_at = now;
    }

    /// Hands an open record to `to`, who holds it from now. Its holder may;
    /// a supervisor may whoever holds it.
    pub fn assign(
        &mut self,
        by: &str,
        to: &str,
        supervisor: bool,
        note: Option<String>,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), ChangeError> {
        if !self.is_open() {
            return Err(ChangeError::InvalidState {
                action: "hand over",
                status: self.status,
            });
        }
        if !self.holds(by, now, rules) && !supervisor {
            return Err(ChangeError::NotHolder);
        }
        self.lapse_claim(by, now, rules);
        self.status = Status::Claimed;
        self.claimed_by = Some(to.to_owned());
        self.claimed_at = Some(now);
        self.notes.push(Note {
            at: now,
            agent: by.to_owned(),
            text: note,
            handed_to: Some(to.to_owned()),
        });
        self.updated_at = now;
        Ok(())
    }

    /// Done without a logged call (e.g. answered by e-mail).
    pub fn complete(
        &mut self,
        agent: &str,
        note: Option<String>,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), ChangeError> {
        self.open_for("complete", agent, now, rules)?;
        self.lapse_claim(agent, now, rules);
        self.status = Status::Completed;
        self.claimed_by = None;
        self.claimed_at = None;
        self.completion_note = note;
        self.completed_by = Some(agent.to_owned());
        self.completed_at = Some(now);
        self.updated_at = now;
        self.settle_expiry(rules.retention, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::{at, record};
    use jiff::SignedDuration;

    fn rules() -> WorkRules {
        WorkRules {
            max_attempts: 2,
            claim_timeout: SignedDuration::from_mins(30),
            retry_delay: SignedDuration::from_mins(60),
            retention: SignedDuration::from_hours(24),
        }
    }

    fn attempt(agent: &str, outcome: Outcome, when: &str) -> Attempt {
        Attempt::logged(at(when), agent.into(), outcome, None)
    }

    #[test]
    fn only_one_agent_holds_a_claim_until_it_expires() {
        let mut r = record();
        let t0 = at("2026-11-25T02:00:00Z");
        r.claim("ann", t0, &rules()).unwrap();
        assert_eq!(r.status, Status::Claimed);
        assert_eq!(
            r.claim("bob", at("2026-11-25T02:29:59Z"), &rules()),
            Err(ChangeError::HeldByOther {
                holder: "ann".into()
            })
        );
        r.claim("ann", at("2026-11-25T02:10:00Z"), &rules())
            .unwrap();
        r.claim("bob", at("2026-11-25T02:40:00Z"), &rules())
            .unwrap();
        assert_eq!(r.claimed_by.as_deref(), Some("bob"));
    }

    #[test]
    fn release_is_for_the_holder() {
        let mut r = record();
        let t0 = at("2026-11-25T02:00:00Z");
        assert!(matches!(
            r.release("ann", t0, &rules()),
            Err(ChangeError::InvalidState { .. })
        ));
        r.claim("ann", t0, &rules()).unwrap();
        assert_eq!(
            r.release("bob", t0, &rules()),
            Err(ChangeError::HeldByOther {
                holder: "ann".into()
            })
        );
        r.release("ann", t0, &rules()).unwrap();
        assert_eq!((r.status, r.claimed_by.clone()), (Status::Pending, None));
    }

    #[test]
    fn unreached_attempts_retry_then_fail() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::NoAnswer, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.due_at, at("2026-11-25T03:05:00Z"));
        r.claim("bob", at("2026-11-25T03:06:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("bob", Outcome::Busy, "2026-11-25T03:07:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.attempts.len(), 2);
        assert!(matches!(
            r.complete("bob", None, at("2026-11-25T03:08:00Z"), &rules()),
            Err(ChangeError::InvalidState {
                status: Status::Failed,
                ..
            })
        ));
    }

    #[test]
    fn reached_completes_and_other_holders_are_refused() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        assert_eq!(
            r.log_attempt(
                attempt("bob", Outcome::Reached, "2026-11-25T02:01:00Z"),
                &rules()
            ),
            Err(ChangeError::HeldByOther {
                holder: "ann".into()
            })
        );
        r.log_attempt(
            attempt("ann", Outcome::Reached, "2026-11-25T02:02:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!((r.status, r.claimed_by.clone()), (Status::Completed, None));
    }

    #[test]
    fn the_holder_or_a_supervisor_hands_over() {
        let mut r = record();
        let t0 = at("2026-11-25T02:00:00Z");
        assert_eq!(
            r.assign("ann", "bob", false, None, t0, &rules()),
            Err(ChangeError::NotHolder)
        );
        r.claim("ann", t0, &rules()).unwrap();
        assert_eq!(
            r.assign("bob", "bob", false, None, t0, &rules()),
            Err(ChangeError::NotHolder)
        );
        r.assign(
            "ann",
            "bob",
            false,
            Some("knows the case".into()),
            t0,
            &rules(),
        )
        .unwrap();
        assert_eq!(r.claimed_by.as_deref(), Some("bob"));
        r.assign("sue", "cat", true, None, t0, &rules()).unwrap();
        assert_eq!(r.claimed_by.as_deref(), Some("cat"));
        assert_eq!(r.notes.len(), 2);
        assert_eq!(r.notes[0].handed_to.as_deref(), Some("bob"));
        r.add_note("bob", "called the shop".into(), t0);
        assert_eq!(r.notes[2].text.as_deref(), Some("called the shop"));
    }

    #[test]
    fn closing_a_record_starts_its_retention() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::NoAnswer, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.expires_at, None, "open again: kept");
        assert!(!r.is_expired(at("2100-01-01T00:00:00Z")));
        let mut failed = r.clone();
        failed
            .log_attempt(
                attempt("bob", Outcome::Busy, "2026-11-25T03:07:00Z"),
                &rules(),
            )
            .unwrap();
        assert_eq!(failed.expires_at, Some(at("2026-11-26T03:07:00Z")));
        r.complete("ann", None, at("2026-11-25T04:00:00Z"), &rules())
            .unwrap();
        assert_eq!(r.expires_at, Some(at("2026-11-26T04:00:00Z")));
        assert!(!r.is_expired(at("2026-11-26T03:59:59.999Z")));
        assert!(r.is_expired(at("2026-11-26T04:00:00Z")));
    }

    #[test]
    fn claims_releases_and_lapses_are_kept() {
        let mut r = record();
        let event = |at_: &str, agent: &str, change| ClaimEvent {
            at: at(at_),
            agent: agent.into(),
            change,
        };
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        // Renewing one's own live claim is no new event.
        r.claim("ann", at("2026-11-25T02:10:00Z"), &rules())
            .unwrap();
        r.release("ann", at("2026-11-25T02:15:00Z"), &rules())
            .unwrap();
        r.claim("bob", at("2026-11-25T02:20:00Z"), &rules())
            .unwrap();
        // Bob's claim lapses at 02:50; Cat takes the record later.
        r.claim("cat", at("2026-11-25T03:00:00Z"), &rules())
            .unwrap();
        r.complete(
            "cat",
            Some("by mail".into()),
            at("2026-11-25T03:05:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(
            r.claims,
            [
                event("2026-11-25T02:00:00Z", "ann", ClaimChange::Claimed),
                event("2026-11-25T02:15:00Z", "ann", ClaimChange::Released),
                event("2026-11-25T02:20:00Z", "bob", ClaimChange::Claimed),
                event("2026-11-25T02:50:00Z", "bob", ClaimChange::Expired),
                event("2026-11-25T03:00:00Z", "cat", ClaimChange::Claimed),
            ]
        );
        assert_eq!(r.completed_at, Some(at("2026-11-25T03:05:00Z")));
    }

    #[test]
    fn a_lapsed_claim_is_noted_before_a_supervisor_hands_over() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.assign(
            "sue",
            "bob",
            true,
            None,
            at("2026-11-25T03:00:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.claims.len(), 2);
        assert_eq!(
            (r.claims[1].change, r.claims[1].at),
            (ClaimChange::Expired, at("2026-11-25T02:30:00Z"))
        );
    }

    #[test]
    fn claim_events_are_bounded() {
        let mut r = record();
        let t0 = at("2026-11-25T02:00:00Z");
        for _ in 0..MAX_CLAIM_EVENTS {
            r.claim("ann", t0, &rules()).unwrap();
            r.release("ann", t0, &rules()).unwrap();
        }
        r.claim("bob", at("2026-11-25T02:01:00Z"), &rules())
            .unwrap();
        assert_eq!(r.claims.len(), MAX_CLAIM_EVENTS);
        assert_eq!(r.claims.last().unwrap().agent, "bob");
    }

    /// A record ann reached at 02:05 (rules: 2 attempts, retry after 60 min).
    fn reached() -> CallbackRecord {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::Reached, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Completed);
        r
    }

    #[test]
    fn a_reached_corrected_to_voicemail_opens_again() {
        let mut r = reached();
        let now = at("2026-11-25T02:10:00Z");
        let corrected = r
            .correct_attempt(
                1,
                "ann",
                false,
                Outcome::Voicemail,
                "留守電だった".into(),
                now,
                &rules(),
            )
            .unwrap();
        assert!(corrected);
        assert_eq!(r.attempts.len(), 1);
        assert_eq!(r.attempts[0].outcome, Outcome::Voicemail);
        assert_eq!(
            r.attempts[0].corrections,
            [Correction {
                at: now,
                agent: "ann".into(),
                from: Outcome::Reached,
                note: "留守電だった".into(),
            }]
        );
        assert_eq!((r.status, r.claimed_by.clone()), (Status::Pending, None));
        assert_eq!(r.due_at, at("2026-11-25T03:05:00Z"));
        assert_eq!(r.expires_at, None);
        // The same outcome again changes nothing.
        let again = r.clone();
        assert_eq!(
            r.correct_attempt(
                1,
                "ann",
                false,
                Outcome::Voicemail,
                "x".into(),
                now,
                &rules()
            ),
            Ok(false)
        );
        assert_eq!(r, again);
        // And back: completed, kept for the retention from now.
        r.correct_attempt(
            1,
            "ann",
            false,
            Outcome::Reached,
            "つながっていた".into(),
            now,
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Completed);
        assert_eq!(r.expires_at, Some(at("2026-11-26T02:10:00Z")));
        assert_eq!(r.attempts[0].corrections.len(), 2);
    }

    #[test]
    fn a_correction_that_reaches_the_maximum_fails_the_record() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::Busy, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        r.claim("ann", at("2026-11-25T03:06:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::Reached, "2026-11-25T03:07:00Z"),
            &rules(),
        )
        .unwrap();
        let now = at("2026-11-25T03:10:00Z");
        r.correct_attempt(
            2,
            "ann",
            false,
            Outcome::Voicemail,
            "機械だった".into(),
            now,
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.expires_at, Some(at("2026-11-26T03:10:00Z")));
    }

    #[test]
    fn an_open_record_closes_by_a_correction_unless_someone_else_holds_it() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::NoAnswer, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        r.claim("bob", at("2026-11-25T02:06:00Z"), &rules())
            .unwrap();
        let now = at("2026-11-25T02:07:00Z");
        let before = r.clone();
        assert_eq!(
            r.correct_attempt(1, "ann", false, Outcome::Reached, "n".into(), now, &rules()),
            Err(ChangeError::HeldByOther {
                holder: "bob".into()
            })
        );
        assert_eq!(r, before);
        // A correction that leaves it open is fine while bob holds it.
        r.correct_attempt(1, "ann", false, Outcome::Busy, "n".into(), now, &rules())
            .unwrap();
        assert_eq!(
            (r.status, r.claimed_by.as_deref()),
            (Status::Claimed, Some("bob"))
        );
        r.correct_attempt(1, "bob", true, Outcome::Reached, "n".into(), now, &rules())
            .unwrap();
        assert_eq!((r.status, r.claimed_by.clone()), (Status::Completed, None));
    }

    #[test]
    fn only_its_agent_or_a_supervisor_corrects_an_attempt_that_exists() {
        let mut r = reached();
        let now = at("2026-11-25T02:10:00Z");
        let fix = |r: &mut CallbackRecord, n, by: &str, supervisor| {
            r.correct_attempt(
                n,
                by,
                supervisor,
                Outcome::Voicemail,
                "n".into(),
                now,
                &rules(),
            )
        };
        assert_eq!(
            fix(&mut r, 0, "ann", false),
            Err(ChangeError::NoSuchAttempt { n: 0 })
        );
        assert_eq!(
            fix(&mut r, 2, "ann", false),
            Err(ChangeError::NoSuchAttempt { n: 2 })
        );
        assert_eq!(
            fix(&mut r, 1, "bob", false),
            Err(ChangeError::NotYourAttempt)
        );
        assert_eq!(fix(&mut r, 1, "sue", true), Ok(true));
        for i in 0..MAX_CORRECTIONS - 1 {
            let outcome = [Outcome::Busy, Outcome::NoAnswer][i % 2];
            r.correct_attempt(1, "ann", false, outcome, "n".into(), now, &rules())
                .unwrap();
        }
        assert_eq!(
            r.correct_attempt(1, "ann", false, Outcome::Reached, "n".into(), now, &rules()),
            Err(ChangeError::TooManyCorrections)
        );
    }

    #[test]
    fn a_record_completed_by_hand_stays_completed() {
        let mut r = record();
        r.claim("ann", at("2026-11-25T02:00:00Z"), &rules())
            .unwrap();
        r.log_attempt(
            attempt("ann", Outcome::NoAnswer, "2026-11-25T02:05:00Z"),
            &rules(),
        )
        .unwrap();
        r.complete(
            "ann",
            Some("by mail".into()),
            at("2026-11-25T02:06:00Z"),
            &rules(),
        )
        .unwrap();
        r.correct_attempt(
            1,
            "ann",
            false,
            Outcome::Voicemail,
            "n".into(),
            at("2026-11-25T02:07:00Z"),
            &rules(),
        )
        .unwrap();
        assert_eq!(r.status, Status::Completed);
    }

    #[test]
    fn agent_names() {
        assert_eq!(agent_name("  ann "), Some("ann".into()));
        assert_eq!(agent_name(""), None);
        assert_eq!(agent_name("a\nb"), None);
        assert_eq!(agent_name("bad\u{7}"), None);
        assert_eq!(agent_name(&"x".repeat(101)), None);
        assert_eq!(agent_name("   "), None);
        // The limit counts the name as sent, before trimming.
        assert_eq!(agent_name(&format!(" {}", "x".repeat(100))), None);
        assert!(agent_name(&"x".repeat(100)).is_some());
    }
}
