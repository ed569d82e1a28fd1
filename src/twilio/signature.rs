//! `X-Twilio-Signature`: base64(HMAC(secret, URL + sorted name/value pairs)).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
pub const SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
}

impl Algorithm {
    /// Reads `key=...,algorithm=HMAC_SHA256` from the settings header.
    pub fn from_settings_header(value: &str) -> Option<Algorithm> {
        value
            .split(',')
            .filter_map(|part| part.trim().split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("algorithm"))
            .and_then(|(_, alg)| match alg.trim() {
                "HMAC_SHA1" => Some(Algorithm::Sha1),
                "HMAC_SHA256" => Some(Algorithm::Sha256),
                _ => None,
            })
    }
}

/// The string Twilio signs: the URL, then each parameter name followed by
/// its value, sorted by name (and by value for repeated names).
fn signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
    let mut out = String::from(url);
    for (name, value) in sorted {
        out.push_str(name);
        out.push_str(value);
    }
    out
}

fn mac_sha1(secret: &str, data: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length; new_from_slice cannot fail here.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data.as_bytes());
    mac
}

fn mac_sha256(secret: &str, data: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data.as_bytes());
    mac
}

/// The signature Twilio would send (used by the call simulator).
pub fn sign(secret: &str, url: &str, params: &[(String, String)], alg: Algorithm) -> String {
    let data = signed_string(url, params);
    let bytes = match alg {
        Algorithm::Sha1 => mac_sha1(secret, &data).finalize().into_bytes().to_vec(),
        Algorithm::Sha256 => mac_sha256(secret, &data).finalize().into_bytes().to_vec(),
    };
    BASE64.encode(bytes)
}

/// Checks `signature` for `url` (also with the default port added or
/// removed: Twilio is inconsistent). Constant-time; an empty secret or
/// signature never matches.
pub fn verify(
    secret: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
    alg: Algorithm,
) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Ok(expected) = BASE64.decode(signature.trim()) else {
        return false;
    };
    if expected.is_empty() {
        return false;
    }
    url_variants(url).iter().any(|candidate| {
        let data = signed_string(candidate, params);
        match alg {
            Algorithm::Sha1 => mac_sha1(secret, &data).verify_slice(&expected).is_ok(),
            Algorithm::Sha256 => mac_sha256(secret, &data).verify_slice(&expected).is_ok(),
        }
    })
}

/// The URL as given, plus the same URL with the scheme's default port added
/// (when it has none) or removed (when it has the default one).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let (scheme, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (("https://", rest), ":443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (("http://", rest), ":80")
    } else {
        return variants;
    };
    let (prefix, rest) = scheme;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let has_port = match host_port.rfind(':') {
        // An IPv6 literal's colons sit inside brackets.
        Some(colon) => !host_port[colon..].contains(']'),
        None => false,
    };
    if let Some(host) = host_port.strip_suffix(default_port) {
        variants.push(format!("{prefix}{userinfo}{host}{tail}"));
    } else if !has_port {
        variants.push(format!("{prefix}{userinfo}{host_port}{default_port}{tail}"));
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn twilios_published_vector() {
        assert_eq!(
            sign("12345", URL, &published_params(), Algorithm::Sha1),
            EXPECTED
        );
        assert!(verify(
            "12345",
            URL,
            &published_params(),
            EXPECTED,
            Algorithm::Sha1
        ));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut params = published_params();
        params.reverse();
        assert!(verify("12345", URL, &params, EXPECTED, Algorithm::Sha1));
    }

    #[test]
    fn default_port_added_or_removed() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(verify(
            "12345",
            with_port,
            &published_params(),
            EXPECTED,
            Algorithm::Sha1
        ));
        let signed_with_port = sign("12345", with_port, &published_params(), Algorithm::Sha1);
        assert!(verify(
            "12345",
            URL,
            &published_params(),
            &signed_with_port,
            Algorithm::Sha1
        ));
        assert!(!verify(
            "12345",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            &published_params(),
            EXPECTED,
            Algorithm::Sha1
        ));
    }

    #[test]
    fn anything_changed_fails() {
        let mut params = published_params();
        params[2].1 = "1235".into();
        assert!(!verify("12345", URL, &params, EXPECTED, Algorithm::Sha1));
        assert!(!verify(
            "12346",
            URL,
            &published_params(),
            EXPECTED,
            Algorithm::Sha1
        ));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &published_params(),
            EXPECTED,
            Algorithm::Sha1
        ));
        let mut extra = published_params();
        extra.push(("StirVerstat".into(), "TN-Validation-Passed-A".into()));
        assert!(!verify("12345", URL, &extra, EXPECTED, Algorithm::Sha1));
    }

    #[test]
    fn empty_secret_or_signature_fails_closed() {
        let empty_sig = sign("", URL, &published_params(), Algorithm::Sha1);
        assert!(!verify(
            "",
            URL,
            &published_params(),
            &empty_sig,
            Algorithm::Sha1
        ));
        assert!(!verify(
            "12345",
            URL,
            &published_params(),
            "",
            Algorithm::Sha1
        ));
        assert!(!verify(
            "12345",
            URL,
            &published_params(),
            "not base64!",
            Algorithm::Sha1
        ));
    }

    #[test]
    fn sha256_with_the_same_string() {
        let sig = sign("shared", URL, &published_params(), Algorithm::Sha256);
        assert_eq!(BASE64.decode(&sig).unwrap().len(), 32);
        assert!(verify(
            "shared",
            URL,
            &published_params(),
            &sig,
            Algorithm::Sha256
        ));
        assert!(!verify(
            "shared",
            URL,
            &published_params(),
            &sig,
            Algorithm::Sha1
        ));
    }

    /// Computed independently of this code, with openssl over the same
    /// string as Twilio's published SHA-1 vector (which it reproduces):
    /// `printf '%s' "$URL"CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212
    /// | openssl dgst -sha256 -hmac shared -binary | base64`.
    #[test]
    fn sha256_matches_an_openssl_vector() {
        const OPENSSL: &str = "KsDM1TaUaD3zgC1znRg16Ev1YKZza+BBNZfOn7e5P/E=";
        assert_eq!(
            sign("shared", URL, &published_params(), Algorithm::Sha256),
            OPENSSL
        );
        assert!(verify(
            "shared",
            URL,
            &published_params(),
            OPENSSL,
            Algorithm::Sha256
        ));
    }

    #[test]
    fn settings_header() {
        assert_eq!(
            Algorithm::from_settings_header("key=KS123,algorithm=HMAC_SHA256"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(
            Algorithm::from_settings_header("algorithm=HMAC_SHA1, key=x"),
            Some(Algorithm::Sha1)
        );
        assert_eq!(Algorithm::from_settings_header("algorithm=MD5"), None);
        assert_eq!(Algorithm::from_settings_header(""), None);
    }

    fn params_strategy() -> impl proptest::strategy::Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[A-Za-z]{1,12}", ".{0,20}"), 0..8)
    }

    proptest::proptest! {
        #[test]
        fn any_parameters_sign_and_verify_and_any_change_fails(
            params in params_strategy(),
            path in "/[a-z/]{0,20}",
            secret in "[ -~]{1,40}",
            which in 0usize..8,
            extra in "[a-z0-9]{1,4}",
        ) {
            let url = format!("https://calls.example.com{path}");
            for alg in [Algorithm::Sha1, Algorithm::Sha256] {
                let signature = sign(&secret, &url, &params, alg);
                proptest::prop_assert!(verify(&secret, &url, &params, &signature, alg));
                let other_url = format!("{url}{extra}");
                proptest::prop_assert!(!verify(&secret, &other_url, &params, &signature, alg));
                if !params.is_empty() {
                    let i = which % params.len();
                    let mut renamed = params.clone();
                    renamed[i].0.push_str(&extra);
                    let mut revalued = params.clone();
                    revalued[i].1.push_str(&extra);
                    for changed in [renamed, revalued] {
                        proptest::prop_assert!(!verify(&secret, &url, &changed, &signature, alg));
                    }
                }
                let wrong_secret = format!("{secret}{extra}");
                proptest::prop_assert!(!verify(&wrong_secret, &url, &params, &signature, alg));
            }
        }

        #[test]
        fn form_bodies_parse_back_to_their_parameters(params in params_strategy()) {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            let parsed: Vec<(String, String)> =
                form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            proptest::prop_assert_eq!(parsed, params);
        }
    }
}
