//! Where a media download may be redirected: Twilio's media URL may
//! answer with a redirect to where the audio is stored. Only the API base's
//! own origin (scheme, host and port) and the allowed media hosts are
//! followed; API (JSON) requests follow no redirect at all.

use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

const MAX_REDIRECTS: usize = 3;

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
enum RedirectRefused {
    #[error("a redirect to {0}, which is neither the API base's origin nor a Twilio media host")]
    Elsewhere(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
}

/// One allowed media origin: a scheme, a host (exact, or `*.suffix` for
/// any subdomain of `suffix`) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaHost {
    https: bool,
    host: String,
    port: u16,
}

impl MediaHost {
    fn parse(entry: &str) -> Option<Self> {
        let (https, rest) = match entry.split_once("://") {
            None => (true, entry),
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            Some(_) => return None,
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok().filter(|p| *p > 0)?),
            None => (rest, if https { 443 } else { 80 }),
        };
        let name = host.strip_prefix("*.").unwrap_or(host);
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        valid.then(|| MediaHost {
            https,
            host: host.to_owned(),
            port,
        })
    }

    fn allows(&self, url: &Url) -> bool {
        let scheme = if self.https { "https" } else { "http" };
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let host_matches = match self.host.strip_prefix("*.") {
            Some(suffix) => host
                .strip_suffix(suffix)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => self.host == host,
        };
        url.scheme() == scheme && url.port_or_known_default() == Some(self.port) && host_matches
    }
}

/// Origins a media download may be redirected to, besides the API base's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaHosts(Vec<MediaHost>);

impl MediaHosts {
    /// Twilio's own hosts, where its media redirects may lead.
    pub const DEFAULT: &str = "*.twilio.com,*.twiliocdn.com";

    /// A comma-separated list of `[scheme://]host[:port]`, where `host` is
    /// a name or `*.suffix` (any subdomain of `suffix`). Without a scheme
    /// it is https; without a port, the scheme's own (443, 80): a redirect
    /// to the same host on another port or over plain http is not followed
    /// unless an entry names it, e.g. `*.twilio.com,http://localhost:8080`.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                MediaHost::parse(&entry).ok_or_else(|| {
                    format!(
                        "{entry:?} is not a host such as *.twilio.com, media.example.com:8443 or http://localhost:8080"
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(MediaHosts)
    }

    fn allows(&self, url: &Url) -> bool {
        self.0.iter().any(|host| host.allows(url))
    }
}

/// The client's redirect policy (see the module).
pub(super) fn policy(base: Url, media_hosts: MediaHosts) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        // Twilio's API answers are not redirected: a 3xx there is returned
        // as it is, and fails as a status.
        let api_request = attempt
            .previous()
            .first()
            .is_some_and(|first| first.path().ends_with(".json"));
        if api_request {
            return attempt.stop();
        }
        let url = attempt.url();
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RedirectRefused::TooMany)
        } else if url.origin() == base.origin() || media_hosts.allows(url) {
            attempt.follow()
        } else {
            let origin = url.origin().ascii_serialization();
            attempt.error(RedirectRefused::Elsewhere(origin))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(hosts: &MediaHosts, url: &str) -> bool {
        hosts.allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn media_host_patterns() {
        let hosts = MediaHosts::parse(" media.example.com, *.twilio.com ,").unwrap();
        for url in [
            "https://media.example.com/a.wav",
            "https://MEDIA.example.com:443/a.wav",
            "https://a.b.twilio.com/a.wav",
        ] {
            assert!(allowed(&hosts, url), "{url}");
        }
        for url in [
            "https://twilio.com/",
            "https://eviltwilio.com/",
            "https://twilio.com.evil.test/",
            "https://example.com/",
            "http://media.example.com/",
            "https://media.example.com:8443/",
            "http://media.example.com:443/",
        ] {
            assert!(!allowed(&hosts, url), "{url}");
        }
    }

    #[test]
    fn a_pattern_may_name_the_scheme_and_port() {
        let hosts = MediaHosts::parse("http://localhost:8080,media.example.com:8443").unwrap();
        assert!(allowed(&hosts, "http://localhost:8080/a.wav"));
        assert!(allowed(&hosts, "https://media.example.com:8443/a.wav"));
        for url in [
            "https://localhost:8080/",
            "http://localhost/",
            "http://localhost:8081/",
            "https://media.example.com/",
        ] {
            assert!(!allowed(&hosts, url), "{url}");
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        assert_eq!(MediaHosts::parse("").unwrap(), MediaHosts::default());
        assert!(MediaHosts::parse(MediaHosts::DEFAULT).is_ok());
        for bad in [
            "ftp://files.example.com",
            "media.example.com:http",
            "media.example.com:0",
            "media.example.com/path",
            "user@media.example.com",
            "*.",
            "*",
            "https://",
            "[::1]:8080",
        ] {
            let err = MediaHosts::parse(&format!("*.twilio.com,{bad}")).unwrap_err();
            assert!(
                err.contains(&format!("{:?}", bad.to_ascii_lowercase())),
                "{err}"
            );
        }
    }
}
