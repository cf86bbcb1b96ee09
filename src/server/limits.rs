//! What one client may hold of what every client shares: connections (in total and per IP
//! address, kept below the process's file-descriptor limit) and request rate.
//!
//! A connection over a limit is closed as soon as it is accepted, before anything is read from
//! it, so a flood of sockets cannot take the descriptors the others (and the health check)
//! need. The total is kept [`RESERVED_DESCRIPTORS`] below the descriptor limit: the store's
//! files, the listener and the sockets being accepted never run out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

/// Descriptors kept out of the connection limit.
pub(crate) const RESERVED_DESCRIPTORS: usize = 256;

/// Raises the soft file-descriptor limit to the hard one (an unprivileged process may), and
/// returns `wanted` lowered below it.
pub(crate) fn below_descriptor_limit(wanted: usize) -> usize {
    match raise_descriptor_limit() {
        Some(limit) => wanted.min(limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)),
        None => wanted,
    }
}

#[cfg(unix)]
fn raise_descriptor_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).ok()
}

#[cfg(not(unix))]
fn raise_descriptor_limit() -> Option<usize> {
    None
}

/// Open connections, in total and per address.
pub(crate) struct Connections {
    max: usize,
    max_per_address: usize,
    limit_loopback: bool,
    open: Arc<Mutex<Open>>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; counted until dropped.
pub(crate) struct Permit {
    address: IpAddr,
    open: Arc<Mutex<Open>>,
}

impl Connections {
    pub(crate) fn new(max: usize, max_per_address: usize, limit_loopback: bool) -> Connections {
        Connections {
            max,
            max_per_address,
            limit_loopback,
            open: Arc::default(),
        }
    }

    /// Counts a new connection from `address`, or `None` if a limit is reached.
    pub(crate) fn admit(&self, address: IpAddr) -> Option<Permit> {
        let mut open = self.open.lock();
        if open.total >= self.max {
            return None;
        }
        let limited = self.max_per_address != 0 && (self.limit_loopback || !address.is_loopback());
        let from_address = open.by_address.entry(address).or_insert(0);
        if limited && *from_address >= self.max_per_address {
            return None;
        }
        *from_address += 1;
        open.total += 1;
        Some(Permit {
            address,
            open: Arc::clone(&self.open),
        })
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.lock().total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

/// One token bucket per user, shared by all of the user's connections.
pub(crate) struct UserRates {
    rate: u32,
    buckets: Mutex<HashMap<Arc<str>, RateLimit>>,
}

/// Users whose buckets are kept at once; beyond, every bucket starts afresh (a burst more for
/// everyone, never a refusal too many).
const MAX_USER_BUCKETS: usize = 100_000;

impl UserRates {
    pub(crate) fn new(rate: u32) -> UserRates {
        UserRates {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `user`'s bucket; false when it is empty (always true with rate 0).
    pub(crate) fn take(&self, user: &Arc<str>) -> bool {
        if self.rate == 0 {
            return true;
        }
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_USER_BUCKETS && !buckets.contains_key(user) {
            buckets.clear();
        }
        buckets
            .entry(Arc::clone(user))
            .or_insert_with(|| RateLimit::new(self.rate))
            .take()
    }
}

/// A token bucket: `rate` requests per second on average, bursts of `rate`.
pub(crate) struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    pub(crate) fn new(rate: u32) -> RateLimit {
        RateLimit {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: Instant::now(),
        }
    }

    /// Takes one token; false when the bucket is empty (and always true with rate 0).
    pub(crate) fn take(&mut self) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_permits_give_back() {
        let connections = Connections::new(3, 2, false);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let first = connections.admit(a).unwrap();
        let _second = connections.admit(a).unwrap();
        assert!(connections.admit(a).is_none(), "per address");
        let _third = connections.admit(b).unwrap();
        assert!(connections.admit(local).is_none(), "in total");
        drop(first);
        assert_eq!(connections.open(), 2);
        assert!(connections.admit(a).is_some());
        // Loopback is exempt from the per-address limit unless asked.
        let connections = Connections::new(10, 1, false);
        let _x = connections.admit(local).unwrap();
        assert!(connections.admit(local).is_some());
    }

    #[test]
    fn users_share_one_bucket() {
        let rates = UserRates::new(3);
        let (alice, bob): (Arc<str>, Arc<str>) = ("alice".into(), "bob".into());
        assert!((0..3).all(|_| rates.take(&alice)));
        assert!(!rates.take(&alice));
        assert!(rates.take(&bob));
        assert!((0..10).all(|_| UserRates::new(0).take(&alice)));
    }

    #[test]
    fn the_bucket_refuses_beyond_its_burst() {
        let mut limit = RateLimit::new(5);
        assert!((0..5).all(|_| limit.take()));
        assert!(!limit.take());
        assert!((0..100).all(|_| RateLimit::new(0).take()));
    }
}
