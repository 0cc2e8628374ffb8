//! Warning lists, kept as data files (`data/*.txt`) so analysts can extend them without code.

use std::net::IpAddr;
use std::sync::OnceLock;

/// Why a value is context rather than an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Benign {
    /// The reporter's own network (RFC 1918, loopback, link-local, …).
    Internal,
    Documentation,
    /// Public resolvers and other very common services.
    WellKnown,
    /// The scheme's own domains (IPA, METI, JPCERT, …).
    Scheme,
    Special,
}

impl Benign {
    pub fn key(self) -> &'static str {
        match self {
            Benign::Internal => "internal",
            Benign::Documentation => "documentation",
            Benign::WellKnown => "well_known",
            Benign::Scheme => "scheme",
            Benign::Special => "special",
        }
    }
    fn parse(class: &str) -> Benign {
        match class {
            "internal" => Benign::Internal,
            "documentation" => Benign::Documentation,
            "scheme" => Benign::Scheme,
            "special" => Benign::Special,
            _ => Benign::WellKnown,
        }
    }
}

struct Net {
    class: Benign,
    addr: IpAddr,
    prefix: u8,
}

pub struct WarningLists {
    nets: Vec<Net>,
    domains: Vec<(Benign, String)>,
    ports: Vec<(u16, &'static str)>,
}

fn data_lines(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines().filter_map(|l| {
        let l = l.split('#').next().unwrap_or("").trim();
        let mut it = l.split_whitespace();
        Some((it.next()?, it.next()?))
    })
}

pub fn lists() -> &'static WarningLists {
    static W: OnceLock<WarningLists> = OnceLock::new();
    W.get_or_init(|| WarningLists {
        nets: data_lines(include_str!("../data/networks.txt"))
            .map(|(class, cidr)| {
                let (a, p) = cidr.split_once('/').expect("CIDR in networks.txt");
                Net {
                    class: Benign::parse(class),
                    addr: a.parse().expect("address in networks.txt"),
                    prefix: p.parse().expect("prefix"),
                }
            })
            .collect(),
        domains: data_lines(include_str!("../data/benign_domains.txt"))
            .map(|(c, d)| (Benign::parse(c), d.to_owned()))
            .collect(),
        ports: data_lines(include_str!("../data/ports.txt"))
            .map(|(p, s)| (p.parse().expect("port in ports.txt"), s))
            .collect(),
    })
}

fn in_net(ip: IpAddr, net: &Net) -> bool {
    match (ip, net.addr) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if net.prefix == 0 { 0 } else { u32::MAX << (32 - net.prefix as u32) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if net.prefix == 0 { 0 } else { u128::MAX << (128 - net.prefix as u32) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl WarningLists {
    pub fn ip(&self, ip: IpAddr) -> Option<Benign> {
        self.nets.iter().find(|n| in_net(ip, n)).map(|n| n.class)
    }
    /// A listed domain covers its subdomains.
    pub fn domain(&self, d: &str) -> Option<Benign> {
        self.domains
            .iter()
            .find(|(_, b)| {
                d == b || (d.len() > b.len() && d.ends_with(b.as_str()) && d.as_bytes()[d.len() - b.len() - 1] == b'.')
            })
            .map(|(c, _)| *c)
    }
    pub fn service(&self, port: u16) -> Option<&'static str> {
        self.ports.iter().find(|(p, _)| *p == port).map(|(_, s)| *s)
    }
}
