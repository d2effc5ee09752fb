//! Per-principal rate limiting: one token bucket (GCRA, crate `governor`) per tenant and
//! credential (or token subject), so a client that exceeds its budget gets 429 with
//! `Retry-After` while every other client keeps its own. Charged once per authenticated
//! request, after authentication (an unauthenticated request has no bucket to charge).

use crate::auth::Principal;
use crate::error::ApiError;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bucket size and refill rate. `per_second = 0` turns limiting off.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Sustained requests per second per credential.
    pub per_second: u32,
    /// Requests a credential may send at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    /// Generous: far above what a conformance suite or an LMS sends, low enough that one
    /// runaway client cannot take the whole API.
    fn default() -> Self {
        RateLimitConfig {
            per_second: 2_000,
            burst: 4_000,
        }
    }
}

/// Forget idle buckets every this many checks (bounded memory with many principals).
const SWEEP_EVERY: u64 = 8_192;

pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        let limiter = NonZeroU32::new(config.per_second).map(|rate| {
            let burst = NonZeroU32::new(config.burst.max(config.per_second)).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        RateLimiter {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one token from the principal's bucket, or says how long to wait.
    pub fn check(&self, principal: &Principal) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            principal.tenant, principal.method, principal.key
        );
        match limiter.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                metrics::counter!("lrs_rate_limited_total").increment(1);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
                })
            }
        }
    }
}
