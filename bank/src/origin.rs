//! Vendor origins: where other vendors POST transfer requests and wallets send customers.
//!
//! An origin is certified by the bank and other vendors call it, so the bank accepts only what
//! is safe for them to call: an https origin (scheme, host, port; no path, query, fragment or
//! credentials) written in its one canonical form, whose host is a public name or address. A
//! loopback, private, link-local or otherwise special address would turn every vendor into a
//! proxy into its own network. A development bank (`--dev-origins`) also accepts http and those
//! addresses, for tests and the local demo. Names are checked as written: what a name resolves
//! to is the calling vendor's network's concern (a Worker cannot reach private addresses).

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Checks one origin; the error says why it is refused.
///
/// # Errors
/// What is wrong with it, for the hint of `bad_origin`.
pub fn check(origin: &str, dev: bool) -> Result<(), String> {
    let url = Url::parse(origin).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if dev => {}
        "http" => return Err("must be https".into()),
        s => return Err(format!("scheme {s:?}: must be https")),
    }
    let canonical = url.origin().ascii_serialization();
    if canonical != origin {
        return Err(format!(
            "must be an origin only (scheme, host, port; no path, query or credentials), written {canonical:?}"
        ));
    }
    if dev {
        return Ok(());
    }
    match url.host() {
        Some(Host::Domain(name)) => check_name(name),
        Some(Host::Ipv4(ip)) if public_v4(ip) => Ok(()),
        Some(Host::Ipv6(ip)) if public_v6(ip) => Ok(()),
        Some(_) => Err("a loopback, private, link-local or reserved address".into()),
        None => Err("has no host".into()),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let name = name.trim_end_matches('.');
    let local = ["localhost", "local", "internal", "home.arpa", "localdomain"];
    if !name.contains('.')
        || local
            .iter()
            .any(|l| name == *l || name.ends_with(&format!(".{l}")))
    {
        return Err(format!("{name:?} is a local name, not a public one"));
    }
    Ok(())
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || first == 0x0064) // NAT64 and local-use translation
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn public_https_origins_are_accepted() {
        for o in [
            "https://vendor.example",
            "https://shop.example.com:8443",
            "https://93.184.215.14",
            "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
        ] {
            assert_eq!(check(o, false), Ok(()), "{o}");
        }
    }

    #[test]
    fn http_local_and_non_canonical_origins_are_refused_in_production() {
        for o in [
            "http://vendor.example",
            "ftp://vendor.example",
            "https://vendor.example/",
            "https://vendor.example/path",
            "https://vendor.example?x=1",
            "https://user@vendor.example",
            "https://vendor.example:443",
            "https://VENDOR.example",
            "https://localhost",
            "https://a.localhost",
            "https://intranet",
            "https://printer.local",
            "https://127.0.0.1",
            "https://10.1.2.3",
            "https://172.16.0.1",
            "https://192.168.1.1",
            "https://169.254.169.254",
            "https://100.64.0.1",
            "https://0.0.0.0",
            "https://[::1]",
            "https://[fd00::1]",
            "https://[fe80::1]",
            "https://[::ffff:127.0.0.1]",
            "https://2130706433",
            "not a url",
        ] {
            assert!(check(o, false).is_err(), "{o} was accepted");
        }
    }

    #[test]
    fn a_development_bank_accepts_local_http_origins_but_still_only_origins() {
        assert_eq!(check("http://127.0.0.1:8787", true), Ok(()));
        assert_eq!(check("https://localhost:8443", true), Ok(()));
        assert!(check("http://127.0.0.1:8787/x", true).is_err());
        assert!(check("file:///etc/passwd", true).is_err());
    }
}
