//! Configuration from the environment; every error names its variable.

use crate::secrets::SecretKey;
use crate::settings::{BaseUrl, ConfigError, MetricsToken, Rate, RateLimits};
use crate::twilio::api::{MediaHosts, TwilioApi, TwilioApiError};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_TWILIO_API_BASE: &str = "https://api.twilio.com";

/// Where the AWS backend keeps things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTarget {
    pub table: String,
    pub bucket: String,
    /// The SQS queue of recording copies, and its dead-letter queue.
    pub copy_queue_url: String,
    pub copy_dlq_url: String,
}

/// How tenants' secrets are sealed (see `secrets`): a KMS key, else a
/// key given in the environment, else (embedded only) a key file.
#[derive(Debug, Clone, Default)]
pub struct SecretKeys {
    /// `AFUREKO_KMS_KEY_ID`: a key id, ARN or alias.
    pub kms_key_id: Option<String>,
    /// `AFUREKO_SECRET_KEY`.
    pub secret_key: Option<SecretKey>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB + S3 when set; the embedded store otherwise.
    pub aws: Option<AwsTarget>,
    /// The URL Twilio calls; signatures are checked against it.
    pub public_url: BaseUrl,
    /// Whether `public_url` was derived from the listen address.
    pub public_url_defaulted: bool,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub twilio_api_base: BaseUrl,
    /// Where a recording download may be redirected.
    pub twilio_media_hosts: MediaHosts,
    pub secrets: SecretKeys,
    pub rate_limits: RateLimits,
    /// A failed copy job is tried again after this times its receives.
    pub copy_retry: std::time::Duration,
    /// `/metrics` on `serve` answers only with this token; off without it.
    pub metrics_token: Option<MetricsToken>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let listen_text = lookup("AFUREKO_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| ConfigError {
            var: "AFUREKO_LISTEN",
            reason: format!(
                "must be an address and port such as 127.0.0.1:3000 (got {listen_text:?})"
            ),
        })?;
        let (public_url, public_url_defaulted) = match lookup("AFUREKO_PUBLIC_URL") {
            Some(url) => (BaseUrl::parse("AFUREKO_PUBLIC_URL", &url)?, false),
            None => (
                BaseUrl::parse("AFUREKO_PUBLIC_URL", &format!("http://{listen}"))?,
                true,
            ),
        };
        let twilio_api_base = BaseUrl::parse(
            "AFUREKO_TWILIO_API_BASE",
            &lookup("AFUREKO_TWILIO_API_BASE")
                .unwrap_or_else(|| DEFAULT_TWILIO_API_BASE.to_owned()),
        )?;
        let data_dir =
            PathBuf::from(lookup("AFUREKO_DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
        let aws = match (lookup("AFUREKO_TABLE"), lookup("AFUREKO_BUCKET")) {
            (Some(table), Some(bucket)) => {
                let queue = |var: &'static str| {
                    lookup(var).ok_or_else(|| ConfigError {
                        var,
                        reason: "must be set with AFUREKO_TABLE (the AWS backend copies recordings through SQS)".into(),
                    })
                };
                Some(AwsTarget {
                    table,
                    bucket,
                    copy_queue_url: queue("AFUREKO_COPY_QUEUE_URL")?,
                    copy_dlq_url: queue("AFUREKO_COPY_DLQ_URL")?,
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    var: "AFUREKO_BUCKET",
                    reason: "must be set with AFUREKO_TABLE (the AWS backend needs both)".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    var: "AFUREKO_TABLE",
                    reason: "must be set with AFUREKO_BUCKET (the AWS backend needs both)".into(),
                });
            }
        };
        let secret_key = lookup("AFUREKO_SECRET_KEY")
            .map(|text| {
                SecretKey::parse(&text).ok_or_else(|| ConfigError {
                    var: "AFUREKO_SECRET_KEY",
                    reason: "must be the base64 of 32 random bytes (make one with `openssl rand -base64 32`)".into(),
                })
            })
            .transpose()?;
        let kms_key_id = lookup("AFUREKO_KMS_KEY_ID");
        if kms_key_id.is_some() && secret_key.is_some() {
            return Err(ConfigError {
                var: "AFUREKO_SECRET_KEY",
                reason: "must not be set with AFUREKO_KMS_KEY_ID: set the one key tenants' secrets are sealed with".into(),
            });
        }
        let retry_text = lookup("AFUREKO_COPY_RETRY_SECONDS").unwrap_or_else(|| "60".to_owned());
        let copy_retry = retry_text
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| ConfigError {
                var: "AFUREKO_COPY_RETRY_SECONDS",
                reason: format!("must be whole seconds from 1 to 3600 (got {retry_text:?})"),
            })?;
        Ok(Config {
            aws,
            public_url,
            public_url_defaulted,
            listen,
            data_dir,
            twilio_api_base,
            twilio_media_hosts: MediaHosts::parse(
                &lookup("AFUREKO_TWILIO_MEDIA_HOSTS")
                    .unwrap_or_else(|| MediaHosts::DEFAULT.to_owned()),
            )
            .map_err(|reason| ConfigError {
                var: "AFUREKO_TWILIO_MEDIA_HOSTS",
                reason,
            })?,
            secrets: SecretKeys {
                kms_key_id,
                secret_key,
            },
            rate_limits: rate_limits(&lookup)?,
            copy_retry,
            metrics_token: lookup("AFUREKO_METRICS_TOKEN")
                .map(|text| MetricsToken::parse("AFUREKO_METRICS_TOKEN", &text))
                .transpose()?,
        })
    }
}

fn rate_limits(lookup: &impl Fn(&str) -> Option<String>) -> Result<RateLimits, ConfigError> {
    let default = RateLimits::default();
    let number = |var: &'static str| -> Result<Option<f64>, ConfigError> {
        let Some(text) = lookup(var) else {
            return Ok(None);
        };
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n > 0.0)
            .map(Some)
            .ok_or_else(|| ConfigError {
                var,
                reason: format!("must be a number above 0 (got {text:?})"),
            })
    };
    let burst = |var: &'static str, default: u32| -> Result<u32, ConfigError> {
        let Some(text) = lookup(var) else {
            return Ok(default);
        };
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ConfigError {
                var,
                reason: format!("must be a whole number from 1 (got {text:?})"),
            })
    };
    Ok(RateLimits {
        api: Rate {
            per_second: number("AFUREKO_API_RATE_PER_SECOND")?.unwrap_or(default.api.per_second),
            burst: burst("AFUREKO_API_BURST", default.api.burst)?,
        },
        sign_in_failures: Rate {
            per_second: number("AFUREKO_SIGN_IN_FAILURES_PER_MINUTE")?
                .map_or(default.sign_in_failures.per_second, |n| n / 60.0),
            burst: burst(
                "AFUREKO_SIGN_IN_FAILURE_BURST",
                default.sign_in_failures.burst,
            )?,
        },
    })
}

impl Config {
    /// The client for Twilio's media API.
    pub fn twilio_api(&self) -> Result<TwilioApi, TwilioApiError> {
        TwilioApi::new(
            self.twilio_api_base.as_str(),
            self.twilio_media_hosts.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:3000");
        assert!(c.public_url_defaulted);
        assert_eq!(c.twilio_api_base.as_str(), "https://api.twilio.com");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.rate_limits, RateLimits::default());
    }

    #[test]
    fn rate_limits_from_the_environment() {
        let c = config(&[
            ("AFUREKO_API_RATE_PER_SECOND", "2.5"),
            ("AFUREKO_API_BURST", "7"),
            ("AFUREKO_SIGN_IN_FAILURES_PER_MINUTE", "30"),
            ("AFUREKO_SIGN_IN_FAILURE_BURST", "4"),
        ])
        .unwrap();
        assert_eq!(
            c.rate_limits,
            RateLimits {
                api: Rate {
                    per_second: 2.5,
                    burst: 7
                },
                sign_in_failures: Rate {
                    per_second: 0.5,
                    burst: 4
                },
            }
        );
        for (var, value) in [
            ("AFUREKO_API_RATE_PER_SECOND", "0"),
            ("AFUREKO_API_RATE_PER_SECOND", "inf"),
            ("AFUREKO_API_BURST", "0"),
            ("AFUREKO_API_BURST", "1.5"),
            ("AFUREKO_SIGN_IN_FAILURES_PER_MINUTE", "-1"),
            ("AFUREKO_SIGN_IN_FAILURE_BURST", "many"),
        ] {
            assert_eq!(config(&[(var, value)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn metrics_are_off_without_a_long_enough_token() {
        assert_eq!(config(&[]).unwrap().metrics_token, None);
        let c = config(&[("AFUREKO_METRICS_TOKEN", "0123456789abcdef")]).unwrap();
        let token = c.metrics_token.unwrap();
        assert_eq!(token.expose(), "0123456789abcdef");
        assert_eq!(format!("{token:?}"), "MetricsToken(***)");
        for short in ["short", "0123456789 abcdef"] {
            let e = config(&[("AFUREKO_METRICS_TOKEN", short)]).unwrap_err();
            assert_eq!(e.var, "AFUREKO_METRICS_TOKEN");
        }
    }

    #[test]
    fn copy_retry_from_the_environment() {
        let c = config(&[]).unwrap();
        assert_eq!(c.copy_retry, std::time::Duration::from_secs(60));
        let e = config(&[("AFUREKO_COPY_RETRY_SECONDS", "0")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_COPY_RETRY_SECONDS");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&[("AFUREKO_PUBLIC_URL", "calls.example.com")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_PUBLIC_URL");
        assert!(
            e.to_string()
                .starts_with("AFUREKO_PUBLIC_URL: must start with https://")
        );
        let e = config(&[("AFUREKO_LISTEN", "localhost")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_LISTEN");
        let e = config(&[("AFUREKO_TWILIO_API_BASE", "https://api.twilio.com/?x=1")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_TWILIO_API_BASE");
        let e = config(&[("AFUREKO_TWILIO_MEDIA_HOSTS", "ftp://media.example.com")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_TWILIO_MEDIA_HOSTS");
    }

    #[test]
    fn aws_needs_table_bucket_and_queues() {
        let all = [
            ("AFUREKO_TABLE", "t"),
            ("AFUREKO_BUCKET", "b"),
            ("AFUREKO_COPY_QUEUE_URL", "https://sqs.example/1/q"),
            ("AFUREKO_COPY_DLQ_URL", "https://sqs.example/1/dlq"),
        ];
        let c = config(&all).unwrap();
        assert_eq!(
            c.aws,
            Some(AwsTarget {
                table: "t".into(),
                bucket: "b".into(),
                copy_queue_url: "https://sqs.example/1/q".into(),
                copy_dlq_url: "https://sqs.example/1/dlq".into(),
            })
        );
        assert_eq!(config(&all[..2]).unwrap_err().var, "AFUREKO_COPY_QUEUE_URL");
        assert_eq!(config(&all[..3]).unwrap_err().var, "AFUREKO_COPY_DLQ_URL");
        assert_eq!(
            config(&[("AFUREKO_TABLE", "t")]).unwrap_err().var,
            "AFUREKO_BUCKET"
        );
        assert_eq!(
            config(&[("AFUREKO_BUCKET", "b")]).unwrap_err().var,
            "AFUREKO_TABLE"
        );
        assert_eq!(config(&[]).unwrap().aws, None);
    }

    #[test]
    fn the_secret_key_is_checked_and_never_shown() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let c = config(&[("AFUREKO_SECRET_KEY", key)]).unwrap();
        assert!(c.secrets.secret_key.is_some());
        assert!(!format!("{c:?}").contains(key));
        let e = config(&[("AFUREKO_SECRET_KEY", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AFUREKO_SECRET_KEY: must be the base64 of 32 random bytes (make one with `openssl rand -base64 32`)"
        );
        let e = config(&[("AFUREKO_SECRET_KEY", key), ("AFUREKO_KMS_KEY_ID", "k")]).unwrap_err();
        assert_eq!(e.var, "AFUREKO_SECRET_KEY");
    }

    #[test]
    fn public_url_trailing_slash_is_trimmed() {
        let c = config(&[("AFUREKO_PUBLIC_URL", "https://calls.example.com/")]).unwrap();
        assert_eq!(
            c.public_url.join("/twilio/a/voice"),
            "https://calls.example.com/twilio/a/voice"
        );
    }
}
