//! The people who work the list: agents with a login, a role and an
//! Argon2id password, and their browser sessions.

use crate::domain::ids::TenantId;
use crate::domain::phone::Region;
use crate::domain::routing::Destination;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// What an agent may do; each role may do everything of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the list.
    Agent,
    /// Also hands records to others.
    Supervisor,
    /// Also manages the tenant's agents.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Role::Agent, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("role must be agent, supervisor or admin, got {s:?}"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Failed sign-ins in a row that lock a login.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long a locked login refuses every password.
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);
/// Wrong passwords in a row for one login, and the lock they set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lockout {
    pub failed: u32,
    pub until: Option<Timestamp>,
}

impl Lockout {
    /// Until when the login refuses every password, if it does now.
    pub fn locked(&self, now: Timestamp) -> Option<Timestamp> {
        self.until.filter(|until| *until > now)
    }

    /// Counts a wrong password: the `MAX_FAILED_SIGN_INS`th in a row locks
    /// the login for `LOCKOUT`.
    pub fn fail(&mut self, now: Timestamp) {
        self.failed += 1;
        if self.failed >= MAX_FAILED_SIGN_INS {
            self.failed = 0;
            self.until = Some(now.checked_add(LOCKOUT).unwrap_or(now));
        }
    }
}

/// A session unused this long is over.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(12);
/// A session is over this long after sign-in, however busy.
pub const SESSION_MAX: SignedDuration = SignedDuration::from_hours(24 * 7);
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The longest login; a login is ASCII, so bytes and characters agree.
pub const MAX_LOGIN_CHARS: usize = 64;
/// What a login may hold besides a-z and 0-9.
pub const LOGIN_PUNCTUATION: &str = "._-";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAccount {
    pub tenant_id: TenantId,
    /// Lower case; unique within the tenant.
    pub login: String,
    pub name: String,
    pub role: Role,
    /// What click-to-call rings: a number or a SIP URI.
    pub phone: Option<Destination>,
    /// PHC string of the Argon2id hash.
    pub password_hash: String,
    /// Set for an initial or reset password: the agent must choose one.
    pub must_change_password: bool,
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Failed sign-ins since the last good one.
    #[serde(default)]
    pub failed_sign_ins: u32,
    #[serde(default)]
    pub locked_until: Option<Timestamp>,
    /// Bumped by a password change or disabling: sessions of an older
    /// generation are over.
    #[serde(default)]
    pub session_generation: u32,
    /// Bumped by the store on every write; updates are conditional on it,
    /// so concurrent failed sign-ins all count.
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("login must be 1-{MAX_LOGIN_CHARS} characters of a-z, 0-9, '.', '_' or '-'")]
    Login,
    #[error("name must be 1-100 characters with no control characters")]
    Name,
    #[error("password must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters")]
    PasswordLength,
    #[error("the new password must differ from the current one")]
    SamePassword,
    #[error("cannot hash the password")]
    Hash,
    #[error("phone: {0}")]
    Phone(String),
}

impl AgentError {
    /// The input at fault, where it is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AgentError::Login => Some("login"),
            AgentError::Name => Some("name"),
            AgentError::PasswordLength | AgentError::SamePassword => Some("password"),
            AgentError::Phone(_) => Some("phone"),
            AgentError::Hash => None,
        }
    }
}

/// A login as typed: trimmed and lower-cased.
pub fn login(input: &str) -> Result<String, AgentError> {
    let login = input.trim().to_ascii_lowercase();
    let ok = (1..=MAX_LOGIN_CHARS).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || LOGIN_PUNCTUATION.contains(c));
    ok.then_some(login).ok_or(AgentError::Login)
}

/// An agent's phone as typed: a number (E.164, or national in `region`)
/// or a `sip:` URI; the empty text is none.
pub fn phone(input: &str, region: Region) -> Result<Option<Destination>, AgentError> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    Destination::parse(input, region)
        .map(Some)
        .map_err(AgentError::Phone)
}

pub fn display_name(input: &str) -> Result<String, AgentError> {
    crate::domain::work::agent_name(input).ok_or(AgentError::Name)
}

/// OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn check_password_rules(password: &str) -> Result<(), AgentError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AgentError::PasswordLength);
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String, AgentError> {
    check_password_rules(password)?;
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|_| AgentError::Hash)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AgentError::Hash)
}

/// A stored hash that no password matches: unknown logins are checked
/// against it, so they take as long as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Spends the time of a password check on an unknown login.
pub fn verify_nobody(password: &str) {
    verify(password, decoy_hash());
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator failing leaves nothing sensible to do.
    getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits, hex.
pub fn random_token() -> String {
    hex(&random_bytes::<32>())
}

/// A one-time initial password: 20 characters without look-alikes.
pub fn initial_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<20>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// What a sign-in attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    Ok,
    WrongPassword,
    Disabled,
    Locked { until: Timestamp },
}

impl AgentAccount {
    pub fn new(
        tenant_id: TenantId,
        login: String,
        name: String,
        role: Role,
        password: &str,
        now: Timestamp,
    ) -> Result<Self, AgentError> {
        Ok(AgentAccount {
            tenant_id,
            login,
            name,
            role,
            phone: None,
            password_hash: hash_password(password)?,
            must_change_password: true,
            disabled_at: None,
            created_at: now,
            failed_sign_ins: 0,
            locked_until: None,
            session_generation: 0,
            version: 0,
        })
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }

    /// Counts for the rule that a tenant keeps an active admin.
    pub fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && self.is_active()
    }

    /// Checks a password and counts the result; the caller stores the
    /// account afterwards (it changed unless the answer is `Disabled`).
    pub fn sign_in(&mut self, password: &str, now: Timestamp) -> SignIn {
        if !self.is_active() {
            verify_nobody(password);
            return SignIn::Disabled;
        }
        if let Some(until) = self.locked_until.filter(|until| *until > now) {
            return SignIn::Locked { until };
        }
        if verify(password, &self.password_hash) {
            self.failed_sign_ins = 0;
            self.locked_until = None;
            return SignIn::Ok;
        }
        let mut lockout = Lockout {
            failed: self.failed_sign_ins,
            until: self.locked_until,
        };
        lockout.fail(now);
        self.failed_sign_ins = lockout.failed;
        self.locked_until = lockout.until;
        SignIn::WrongPassword
    }

    pub fn password_matches(&self, password: &str) -> bool {
        verify(password, &self.password_hash)
    }

    /// The agent's own new password; ends every other session.
    pub fn change_password(&mut self, new_password: &str) -> Result<(), AgentError> {
        if self.password_matches(new_password) {
            return Err(AgentError::SamePassword);
        }
        self.password_hash = hash_password(new_password)?;
        self.must_change_password = false;
        self.session_generation += 1;
        Ok(())
    }

    /// A password set by an admin: to be changed at the next sign-in.
    pub fn reset_password(&mut self, password: &str) -> Result<(), AgentError> {
        self.password_hash = hash_password(password)?;
        self.must_change_password = true;
        self.locked_until = None;
        self.failed_sign_ins = 0;
        self.session_generation += 1;
        Ok(())
    }

    pub fn disable(&mut self, now: Timestamp) {
        if self.disabled_at.is_none() {
            self.disabled_at = Some(now);
            self.session_generation += 1;
        }
    }
}

/// A signed-in browser. The cookie holds the token; the store keeps only
/// its SHA-256 (the token is 256 random bits: nothing to brute-force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub hash: String,
    pub tenant_id: TenantId,
    pub login: String,
    pub generation: u32,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A fresh session: the token for the cookie and what to store.
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from its secret token, so it needs
/// no storage and is useless without the cookie.
pub fn csrf_token(session_token: &str) -> String {
    hex(&Sha256::digest(format!("csrf\0{session_token}").as_bytes()))
}

/// `last_seen_at` is written at most this often, not on every request.
pub const TOUCH_EVERY: SignedDuration = SignedDuration::from_mins(5);

impl Session {
    pub fn start(agent: &AgentAccount, now: Timestamp) -> NewSession {
        let token = random_token();
        NewSession {
            session: Session {
                hash: hash_token(&token),
                tenant_id: agent.tenant_id.clone(),
                login: agent.login.clone(),
                generation: agent.session_generation,
                created_at: now,
                last_seen_at: now,
            },
            token,
        }
    }

    /// When the session ends if not used again.
    pub fn expires_at(&self) -> Timestamp {
        let idle = self.last_seen_at.checked_add(SESSION_IDLE);
        let max = self.created_at.checked_add(SESSION_MAX);
        match (idle, max) {
            (Ok(idle), Ok(max)) => idle.min(max),
            _ => self.created_at,
        }
    }

    /// Whether the session still stands for `agent` at `now`.
    pub fn is_valid_for(&self, agent: &AgentAccount, now: Timestamp) -> bool {
        now < self.expires_at() && agent.is_active() && agent.session_generation == self.generation
    }

    pub fn needs_touch(&self, now: Timestamp) -> bool {
        self.last_seen_at
            .checked_add(TOUCH_EVERY)
            .is_ok_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ann() -> AgentAccount {
        AgentAccount::new(
            TenantId::parse("acme").unwrap(),
            "ann".into(),
            "Ann Sato".into(),
            Role::Agent,
            "correct horse battery",
            at("2026-11-25T00:00:00Z"),
        )
        .unwrap()
    }

    #[test]
    fn a_phone_is_a_number_or_a_sip_uri_or_none() {
        let number = phone(" 090-1234-5678 ", Region::JP).unwrap().unwrap();
        assert_eq!(number.to_string(), "+819012345678");
        let sip = phone("sip:ann@pbx.example.com", Region::JP).unwrap();
        assert_eq!(sip.unwrap().to_string(), "sip:ann@pbx.example.com");
        assert_eq!(phone("  ", Region::JP), Ok(None));
        let bad = phone("call me", Region::JP).unwrap_err();
        assert_eq!(bad.field(), Some("phone"));
        assert_eq!(
            bad.to_string(),
            "phone: not a phone number or sip: URI: \"call me\""
        );
        // Stored as text, as before: an older account's number still reads.
        let mut account: serde_json::Value = serde_json::to_value(ann()).unwrap();
        account["phone"] = "+819012345678".into();
        let read: AgentAccount = serde_json::from_value(account).unwrap();
        assert_eq!(read.phone, Some(number));
    }

    #[test]
    fn passwords_are_argon2id_and_checked() {
        let mut a = ann();
        assert!(
            a.password_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        let now = at("2026-11-25T01:00:00Z");
        assert_eq!(a.sign_in("wrong password!", now), SignIn::WrongPassword);
        assert_eq!(a.sign_in("correct horse battery", now), SignIn::Ok);
        assert_eq!(a.failed_sign_ins, 0);
        assert_eq!(hash_password("short"), Err(AgentError::PasswordLength));
    }

    /// An unknown login is checked against a decoy hash made like a real
    /// one: the same Argon2id work, a check that cannot pass. (A decoy that
    /// failed to hash would be empty, and would cost nothing.)
    #[test]
    fn an_unknown_login_costs_the_same_argon2_check() {
        let decoy = decoy_hash();
        assert!(
            decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{decoy}"
        );
        assert!(PasswordHash::new(decoy).is_ok());
        assert!(!verify("correct horse battery", decoy));
    }

    #[test]
    fn repeated_failures_lock_the_login_for_a_while() {
        let mut a = ann();
        let now = at("2026-11-25T01:00:00Z");
        for _ in 0..MAX_FAILED_SIGN_INS {
            assert_eq!(a.sign_in("wrong password!", now), SignIn::WrongPassword);
        }
        let until = at("2026-11-25T01:15:00Z");
        assert_eq!(
            a.sign_in("correct horse battery", now),
            SignIn::Locked { until }
        );
        assert_eq!(a.sign_in("correct horse battery", until), SignIn::Ok);
    }

    #[test]
    fn sessions_expire_idle_absolute_and_on_revocation() {
        let mut a = ann();
        let t0 = at("2026-11-25T00:00:00Z");
        let mut s = Session::start(&a, t0).session;
        assert!(s.is_valid_for(&a, at("2026-11-25T11:59:59Z")));
        assert!(!s.is_valid_for(&a, at("2026-11-25T12:00:00Z")));
        s.last_seen_at = at("2026-12-01T23:00:00Z");
        assert!(s.is_valid_for(&a, at("2026-12-01T23:59:59Z")));
        assert!(!s.is_valid_for(&a, at("2026-12-02T00:00:00Z")), "7 days");
        s.last_seen_at = t0;
        a.change_password("another good password").unwrap();
        assert!(!s.is_valid_for(&a, t0), "a password change ends it");
        let s = Session::start(&a, t0).session;
        a.disable(t0);
        assert!(!s.is_valid_for(&a, t0), "disabling ends it");
    }

    #[test]
    fn tokens_are_random_and_only_hashed() {
        let a = ann();
        let one = Session::start(&a, at("2026-11-25T00:00:00Z"));
        let two = Session::start(&a, at("2026-11-25T00:00:00Z"));
        assert_eq!(one.token.len(), 64);
        assert_ne!(one.token, two.token);
        assert_eq!(one.session.hash, hash_token(&one.token));
        assert!(
            !serde_json::to_string(&one.session)
                .unwrap()
                .contains(&one.token)
        );
        assert_ne!(csrf_token(&one.token), csrf_token(&two.token));
    }

    #[test]
    fn logins_and_roles() {
        assert_eq!(login(" Ann.Sato "), Ok("ann.sato".into()));
        assert_eq!(login("a b"), Err(AgentError::Login));
        assert_eq!(login(""), Err(AgentError::Login));
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
        assert_eq!("supervisor".parse::<Role>(), Ok(Role::Supervisor));
        assert_eq!(initial_password().len(), 20);
    }
}
