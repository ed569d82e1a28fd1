//! The deployment's own settings as values (a tenant's are
//! `domain::settings`): the base URLs it is reached at and calls, and its
//! rate limits. `config` reads them from the environment and `http` uses
//! them; neither imports the other for them.

/// A setting's value is wrong; names the variable it came from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// An http(s) base URL without query, fragment or trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(var: &'static str, input: &str) -> Result<Self, ConfigError> {
        let err = |reason: &str| ConfigError {
            var,
            reason: format!("{reason} (got {input:?})"),
        };
        let trimmed = input.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
            .ok_or_else(|| err("must start with https:// or http://"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains('@') {
            return Err(err("must name a host (and no user info)"));
        }
        if trimmed.contains(['?', '#', ' ']) {
            return Err(err("must not contain a query, fragment or spaces"));
        }
        Ok(BaseUrl(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base followed by `path_and_query` (which starts with `/`).
    pub fn join(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.0)
    }
}

/// Tokens refill at `per_second`, up to `burst`; a full bucket is a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// The configured rates (`AFUREKO_API_*`, `AFUREKO_SIGN_IN_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Per tenant, every authenticated `/api/v1` request.
    pub api: Rate,
    /// Failed sign-ins, per tenant and per client address alike.
    pub sign_in_failures: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            // A page polls every 20 s: 200 agents are 10 requests a second.
            api: Rate {
                per_second: 20.0,
                burst: 200,
            },
            sign_in_failures: Rate {
                per_second: 10.0 / 60.0,
                burst: 30,
            },
        }
    }
}

/// The token `/metrics` asks for (`AFUREKO_METRICS_TOKEN`); never shown in
/// `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// Shorter tokens are guessable.
    pub const MIN_CHARS: usize = 16;

    pub fn parse(var: &'static str, text: &str) -> Result<Self, ConfigError> {
        let token = text.trim();
        if token.chars().count() < Self::MIN_CHARS || token.chars().any(char::is_whitespace) {
            return Err(ConfigError {
                var,
                reason: format!(
                    "must be at least {} characters with no spaces (make one with `openssl rand -hex 32`)",
                    Self::MIN_CHARS
                ),
            });
        }
        Ok(MetricsToken(token.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}
