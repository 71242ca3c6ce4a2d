//! The host list: parsing `host:port,host:port[/chroot]`, shuffling once, round-robin, back-off,
//! and what ended the last attempt on each host.

use crate::error::{ConnectionError, Error, HostAttempt};
use std::time::Duration;

/// One server address as given by the user (`127.0.0.1:2181`, `[::1]:2181`, `localhost:2181`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed connect string: servers plus an optional chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// The servers, in the order given.
    pub hosts: Vec<HostPort>,
    /// The chroot suffix (`/app`), if any; `None` for `/` or no suffix.
    pub chroot: Option<String>,
}

const DEFAULT_PORT: u16 = 2181;

/// Parses `host:port,host:port[/chroot]`. A missing port means 2181.
pub fn parse_connect_string(s: &str) -> Result<ConnectString, Error> {
    let bad = |why: &str| Error::InvalidArgument(format!("connect string {s:?}: {why}"));
    let (servers, chroot) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let chroot = match chroot {
        None | Some("/") => None,
        Some(c) => {
            crate::path::validate_path(c)?;
            Some(c.to_string())
        }
    };
    let mut hosts = Vec::new();
    for part in servers.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (host, port) = if let Some(rest) = part.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let host = &rest[..end];
            let after = &rest[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => DEFAULT_PORT,
                None => return Err(bad("junk after ']'")),
            };
            (host.to_string(), port)
        } else {
            match part.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => {
                    (h.to_string(), p.parse().map_err(|_| bad("bad port"))?)
                }
                Some(_) => return Err(bad("IPv6 addresses need brackets: [::1]:2181")),
                None => (part.to_string(), DEFAULT_PORT),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        hosts.push(HostPort { host, port });
    }
    if hosts.is_empty() {
        return Err(bad("no servers"));
    }
    Ok(ConnectString { hosts, chroot })
}

/// A small xorshift generator: enough randomness for shuffling hosts and jitter without a
/// dependency. Seeded by the caller (the driver seeds from the OS-randomised hasher; tests fix it).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (zero is replaced, xorshift must not start at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A seed that differs per process and per call.
    pub fn os_seed() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id() as u64);
        h.finish()
    }

    /// Next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Round-robin over a once-shuffled host list, with back-off after a full lap without success.
#[derive(Debug)]
pub struct HostRing {
    hosts: Vec<HostPort>,
    /// Why the last attempt on (or connection to) each host ended, in the order of `hosts`.
    last_error: Vec<Option<ConnectionError>>,
    next: usize,
    failures_in_lap: usize,
    laps_failed: u32,
}

/// Back-off after the first fully failed lap; doubles per lap up to [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_millis(50);
/// Upper bound of the back-off: short enough that a returning ensemble is found well within
/// any sensible session timeout.
pub const MAX_BACKOFF: Duration = Duration::from_millis(1000);

impl HostRing {
    /// Shuffles `hosts` once with `rng` (Fisher-Yates).
    pub fn new(mut hosts: Vec<HostPort>, rng: &mut Rng) -> HostRing {
        for i in (1..hosts.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            hosts.swap(i, j);
        }
        HostRing {
            last_error: vec![None; hosts.len()],
            hosts,
            next: 0,
            failures_in_lap: 0,
            laps_failed: 0,
        }
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// The hosts in connection order.
    #[cfg(test)]
    pub fn hosts(&self) -> &[HostPort] {
        &self.hosts
    }

    /// The host to try next; advances the ring.
    pub fn next_host(&mut self) -> HostPort {
        let h = self.hosts[self.next % self.hosts.len()].clone();
        self.next = (self.next + 1) % self.hosts.len();
        h
    }

    /// Records a failed attempt. Returns the back-off to wait before the next attempt: zero
    /// inside a lap, growing (with jitter) after each lap in which every host failed.
    pub fn failed(&mut self, rng: &mut Rng) -> Duration {
        self.failures_in_lap += 1;
        if self.failures_in_lap < self.hosts.len() {
            return Duration::ZERO;
        }
        self.failures_in_lap = 0;
        let exp = BASE_BACKOFF.saturating_mul(1u32 << self.laps_failed.min(5));
        self.laps_failed = self.laps_failed.saturating_add(1);
        let cap = exp.min(MAX_BACKOFF);
        // Full jitter in [cap/2, cap]: spreads reconnect storms of many clients.
        let half = cap.as_millis() as u64 / 2;
        Duration::from_millis(half + rng.below(half + 1))
    }

    /// Makes `host` the next one [`HostRing::next_host`] returns (if it is in the ring).
    pub fn point_at(&mut self, host: &HostPort) {
        if let Some(i) = self.position(host) {
            self.next = i;
        }
    }

    /// Records a successful session establishment: the next failure starts a fresh lap.
    pub fn succeeded(&mut self) {
        self.failures_in_lap = 0;
        self.laps_failed = 0;
    }

    /// Where `host` stands in the ring (connection order), if it is in it.
    pub fn position(&self, host: &HostPort) -> Option<usize> {
        self.hosts.iter().position(|h| h == host)
    }

    /// Records why the last attempt on (or connection to) `host` ended.
    pub fn record(&mut self, host: &HostPort, error: ConnectionError) {
        if let Some(i) = self.position(host) {
            self.last_error[i] = Some(error);
        }
    }

    /// Every host in connection order, with what ended the last attempt on it.
    pub fn attempts(&self) -> Vec<HostAttempt> {
        self.hosts
            .iter()
            .zip(&self.last_error)
            .map(|(host, error)| HostAttempt {
                host: host.to_string(),
                error: error.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_ipv6_and_chroot() {
        let c = parse_connect_string("127.0.0.1:2181,[::1]:2182,localhost/app/x").unwrap();
        assert_eq!(
            c.hosts,
            vec![
                HostPort {
                    host: "127.0.0.1".into(),
                    port: 2181
                },
                HostPort {
                    host: "::1".into(),
                    port: 2182
                },
                HostPort {
                    host: "localhost".into(),
                    port: 2181
                },
            ]
        );
        assert_eq!(c.chroot.as_deref(), Some("/app/x"));
        assert_eq!(c.hosts[1].to_string(), "[::1]:2182");
        assert_eq!(parse_connect_string("h:1/").unwrap().chroot, None);
    }

    #[test]
    fn rejects_bad_connect_strings() {
        for s in [
            "", ",", "h:x", "::1:2181", "[::1", "[::1]x", "h:1/a/", "h:99999", ":1",
        ] {
            assert!(parse_connect_string(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn ring_is_a_shuffled_round_robin_with_backoff_after_a_lap() {
        let hosts: Vec<_> = (0..5)
            .map(|i| HostPort {
                host: "h".into(),
                port: 2181 + i,
            })
            .collect();
        let mut rng = Rng::new(7);
        let mut ring = HostRing::new(hosts.clone(), &mut rng);
        let lap: Vec<_> = (0..5).map(|_| ring.next_host()).collect();
        let mut sorted = lap.clone();
        sorted.sort_by_key(|h| h.port);
        assert_eq!(sorted, hosts, "a lap visits every host once");
        assert_eq!(
            (0..5).map(|_| ring.next_host()).collect::<Vec<_>>(),
            lap,
            "same order again"
        );
        for _ in 0..4 {
            assert_eq!(ring.failed(&mut rng), Duration::ZERO);
        }
        let b1 = ring.failed(&mut rng);
        assert!(b1 >= BASE_BACKOFF / 2 && b1 <= BASE_BACKOFF, "{b1:?}");
        for _ in 0..50 {
            assert!(ring.failed(&mut rng) <= MAX_BACKOFF);
        }
        ring.succeeded();
        assert_eq!(ring.failed(&mut rng), Duration::ZERO);
    }
}
