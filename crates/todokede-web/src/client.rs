//! Who the client is, for rate limits and lockouts: the socket's peer address, or — only when
//! that peer is one of the operator's reverse proxies (`serve --trusted-proxy CIDR`) — the
//! client that the proxies name in `X-Forwarded-For` (the rightmost entry that is not itself a
//! trusted proxy; entries further left are whatever the client wrote). A header from anyone
//! else is ignored, so a client cannot choose its own key. IPv6 clients are keyed by their /64,
//! the block one subscriber gets.

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// An address block: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.trim().split_once('/').map(|(a, p)| (a, Some(p))).unwrap_or((s.trim(), None));
        let addr: IpAddr = a.parse().map_err(|_| format!("`{s}` is not an address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("`{s}`: bad prefix length"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client's key for limits: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn of(ip: IpAddr) -> ClientAddr {
        match canonical(ip) {
            IpAddr::V4(v4) => ClientAddr(v4.to_string()),
            IpAddr::V6(v6) => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
                ClientAddr(format!("{net}/64"))
            }
        }
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For` values.
    pub fn resolve<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[Cidr]) -> ClientAddr {
        if !trusted.iter().any(|c| c.contains(peer)) {
            return ClientAddr::of(peer);
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else { break };
            client = ip;
            if !trusted.iter().any(|c| c.contains(ip)) {
                break;
            }
        }
        ClientAddr::of(client)
    }
}

/// Middleware: work out the client once per request and keep it in the request's extensions.
pub async fn resolve_client(
    State(trusted): State<std::sync::Arc<Vec<Cidr>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = match peer {
        Some(peer) => ClientAddr::resolve(
            peer,
            req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()),
            &trusted,
        ),
        // Served without connection info (in-process tests): one key for all.
        None => ClientAddr("unknown".into()),
    };
    req.extensions_mut().insert(client);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientAddr>().cloned().unwrap_or_else(|| ClientAddr("unknown".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let trusted: Vec<Cidr> = trusted.iter().map(|c| c.parse().unwrap()).collect();
        ClientAddr::resolve(peer.parse().unwrap(), xff.iter().copied(), &trusted).0
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        assert_eq!(resolve("203.0.113.9", &["1.2.3.4"], &[]), "203.0.113.9");
        assert_eq!(resolve("203.0.113.9", &["1.2.3.4"], &["10.0.0.0/8"]), "203.0.113.9");
        assert_eq!(resolve("10.0.0.2", &["1.2.3.4"], &["10.0.0.0/8"]), "1.2.3.4");
        // The client wrote a fake entry on the left; the proxy appended the real one.
        assert_eq!(resolve("10.0.0.2", &["6.6.6.6, 1.2.3.4"], &["10.0.0.0/8"]), "1.2.3.4");
        // Two proxies in a row.
        assert_eq!(resolve("10.0.0.2", &["1.2.3.4, 10.0.0.7"], &["10.0.0.0/8"]), "1.2.3.4");
        assert_eq!(resolve("10.0.0.2", &[], &["10.0.0.0/8"]), "10.0.0.2");
        assert_eq!(resolve("10.0.0.2", &["garbage"], &["10.0.0.0/8"]), "10.0.0.2");
        assert_eq!(resolve("::ffff:127.0.0.1", &["1.2.3.4"], &["127.0.0.1"]), "1.2.3.4");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(resolve("2001:db8:1:2:aaaa::1", &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(resolve("2001:db8:1:2:bbbb::9", &[], &[]), "2001:db8:1:2::/64");
        assert!("2001:db8::/32".parse::<Cidr>().unwrap().contains("2001:db8:ffff::1".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!("bad".parse::<Cidr>().is_err() && "10.0.0.0/33".parse::<Cidr>().is_err());
    }
}
