//! A per-client-address rate limit (token bucket): each address may do `burst` things at
//! once, then one more every `60 / per_minute` seconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses remembered; past this, addresses whose bucket is full again are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Token buckets keyed by client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` sustained, with bursts of up to `burst`.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `addr`: true if allowed now.
    pub fn allow(&self, addr: IpAddr) -> bool {
        self.allow_at(addr, Instant::now())
    }

    fn allow_at(&self, addr: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let refill = |(tokens, at): (f64, Instant)| {
            let minutes = now.saturating_duration_since(at).as_secs_f64() / 60.0;
            (tokens + minutes * self.per_minute).min(self.burst)
        };
        if buckets.len() >= MAX_TRACKED {
            let burst = self.burst;
            buckets.retain(|_, b| refill(*b) < burst);
        }
        let tokens = buckets.get(&addr).map(|b| refill(*b)).unwrap_or(self.burst);
        let allowed = tokens >= 1.0;
        let left = if allowed { tokens - 1.0 } else { tokens };
        buckets.insert(addr, (left, now));
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_limited_per_address_and_refills() {
        let limiter = RateLimiter::new(60, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at(a, t0)));
        assert!(!limiter.allow_at(a, t0));
        assert!(limiter.allow_at(b, t0));
        assert!(limiter.allow_at(a, t0 + Duration::from_secs(1)));
        assert!(!limiter.allow_at(a, t0 + Duration::from_secs(1)));
    }
}
