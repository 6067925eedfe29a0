//! Which address a signaling connection really comes from. Behind a reverse proxy
//! every connection arrives from the proxy, which names the client in
//! X-Forwarded-For. Anyone can write that header, so it is believed only on
//! connections from a proxy the operator listed (`--trusted-proxy`).

use axum::http::HeaderMap;
use std::net::IpAddr;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The reverse proxies whose X-Forwarded-For header Parley believes.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    pub fn new(proxies: &[IpAddr]) -> Self {
        Self(proxies.iter().map(IpAddr::to_canonical).collect())
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// The client behind a connection from `peer`: `peer` itself unless it is a
    /// trusted proxy; then, walking X-Forwarded-For from the right (the hop nearest
    /// Parley), the first address that is not a trusted proxy. An entry that is not
    /// an address ends the walk: nothing left of it was vouched for.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_for(headers).into_iter().rev() {
            let Some(ip) = hop else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// Every X-Forwarded-For entry, left to right, across repeated header lines;
/// `None` for an entry that is not an IP address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let bare = entry.trim_start_matches('[').trim_end_matches(']');
            bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn the_header_is_ignored_from_anyone_but_a_trusted_proxy() {
        let proxies = TrustedProxies::new(&[ip("127.0.0.1")]);
        let spoofed = headers(&["198.51.100.7"]);
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), &spoofed), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let proxies = TrustedProxies::new(&[ip("127.0.0.1")]);
        let forwarded = headers(&["203.0.113.9"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
        // Without the header, the proxy is all there is to go on.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &headers(&[])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn addresses_the_client_wrote_itself_are_not_believed() {
        // The client sent "X-Forwarded-For: 198.51.100.7"; the proxy appended the real
        // address. The rightmost untrusted entry is the one the proxy saw.
        let proxies = TrustedProxies::new(&[ip("127.0.0.1")]);
        let forwarded = headers(&["198.51.100.7, 203.0.113.9"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked() {
        let proxies = TrustedProxies::new(&[ip("127.0.0.1"), ip("10.0.0.2")]);
        let forwarded = headers(&["203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_vouched_address() {
        let proxies = TrustedProxies::new(&[ip("127.0.0.1"), ip("10.0.0.2")]);
        let forwarded = headers(&["203.0.113.9, not-an-address, 10.0.0.2"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded),
            ip("10.0.0.2")
        );
        let junk = headers(&["unknown"]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &junk), ip("127.0.0.1"));
    }

    #[test]
    fn ipv6_and_ipv4_mapped_addresses_compare_as_the_same_host() {
        let proxies = TrustedProxies::new(&[ip("127.0.0.1")]);
        let forwarded = headers(&["[2001:db8::1]"]);
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &forwarded),
            ip("2001:db8::1")
        );
    }
}
