//! Where a notification may go: an endpoint's URL is `https` to a public
//! address, so a tenant cannot make afureko reach into its own network
//! (SSRF). The URL is checked when the endpoint is added; every address a
//! name resolves to is checked again when a delivery connects
//! (`notify::client`). `http` and private addresses are allowed only when
//! the operator says so (`AFUREKO_ALLOW_PRIVATE_NOTIFY=true`: local use and
//! tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Host;

/// The longest URL an endpoint may have.
pub const MAX_URL_CHARS: usize = 2000;

/// Whether notifications may go to private addresses and over `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("url: not a URL")]
    NotAUrl,
    #[error("url: at most {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("url: must start with https://")]
    NotHttps,
    #[error("url: must not hold a user name or password")]
    Credentials,
    #[error("url: must not have a #fragment")]
    Fragment,
    #[error("url: {0} is not a public address")]
    NotPublic(IpAddr),
    #[error("url: {0} names this machine")]
    Local(String),
}

/// A URL an endpoint may be given, checked by `Reach`; its host may still
/// resolve to a private address, which the delivery refuses.
pub fn check_url(text: &str, reach: Reach) -> Result<url::Url, AddressError> {
    let text = text.trim();
    if text.chars().count() > MAX_URL_CHARS {
        return Err(AddressError::TooLong);
    }
    let url = url::Url::parse(text).map_err(|_| AddressError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if reach.allow_private => {}
        _ => return Err(AddressError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AddressError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(AddressError::Fragment);
    }
    match url.host() {
        None => return Err(AddressError::NotAUrl),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), reach)?,
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), reach)?,
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            if local && !reach.allow_private {
                return Err(AddressError::Local(name));
            }
        }
    }
    Ok(url)
}

/// `ip` unless it is not public and `reach` keeps to public addresses.
pub fn check_ip(ip: IpAddr, reach: Reach) -> Result<(), AddressError> {
    if reach.allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(AddressError::NotPublic(ip))
    }
}

/// Whether `ip` is a public unicast address: not loopback, private,
/// link-local, shared (CGNAT), unique-local, multicast, unspecified,
/// broadcast, reserved or documentation, nor an IPv6 form of one of those
/// (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        // "This network" 0.0.0.0/8.
        || a == 0
        // Shared address space (CGNAT) 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved 240.0.0.0/4.
        || a >= 240;
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local fe80::/10, and the old site-local fec0::/10.
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32 and 3fff::/20.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (first & 0xfff0) == 0x3ff0
        // Discard-only 100::/64.
        || (first == 0x0100 && ip.segments()[1..4] == [0, 0, 0])
        // Teredo 2001::/32 and ORCHID 2001:10::/28, 2001:20::/28.
        || (first == 0x2001 && ip.segments()[1] < 0x0200);
    !special
}

/// The IPv4 address an IPv6 one carries: mapped (::ffff:a.b.c.d),
/// compatible (::a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: Reach = Reach {
        allow_private: false,
    };
    const ANY: Reach = Reach {
        allow_private: true,
    };

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
            "2001::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn an_endpoint_is_https_to_a_public_host_unless_private_is_allowed() {
        assert!(check_url("https://hooks.slack.com/services/T0/B0/x", PUBLIC).is_ok());
        assert!(check_url("https://93.184.216.34/hook", PUBLIC).is_ok());
        for (url, error) in [
            ("http://example.com/hook", AddressError::NotHttps),
            ("ftp://example.com/hook", AddressError::NotHttps),
            ("example.com/hook", AddressError::NotAUrl),
            ("https://user:pw@example.com/", AddressError::Credentials),
            ("https://example.com/#x", AddressError::Fragment),
            (
                "https://127.0.0.1:8443/",
                AddressError::NotPublic("127.0.0.1".parse().unwrap()),
            ),
            (
                "https://[::1]/",
                AddressError::NotPublic("::1".parse().unwrap()),
            ),
            (
                "https://169.254.169.254/latest/meta-data",
                AddressError::NotPublic("169.254.169.254".parse().unwrap()),
            ),
            (
                "https://[::ffff:10.0.0.1]/",
                AddressError::NotPublic("::ffff:10.0.0.1".parse().unwrap()),
            ),
            (
                "https://localhost/",
                AddressError::Local("localhost".into()),
            ),
            (
                "https://api.LOCALHOST./",
                AddressError::Local("api.localhost".into()),
            ),
        ] {
            assert_eq!(check_url(url, PUBLIC), Err(error), "{url}");
        }
        assert_eq!(
            check_url(&format!("https://example.com/{}", "a".repeat(2000)), PUBLIC),
            Err(AddressError::TooLong)
        );
        for url in [
            "http://127.0.0.1:9000/hook",
            "https://localhost/",
            "http://[::1]/",
        ] {
            assert!(check_url(url, ANY).is_ok(), "{url}");
        }
        // A decimal or hex IPv4 host is read as the address it is.
        assert_eq!(
            check_url("https://2130706433/", PUBLIC),
            Err(AddressError::NotPublic("127.0.0.1".parse().unwrap()))
        );
    }
}
