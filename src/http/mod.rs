//! Hardened HTTP serving shared by toongan's web apps (the survey now, a studio later): an
//! accept loop with a connection limit, header-read and request timeouts and a shutdown
//! deadline, and a per-client-address rate limiter. It knows nothing of any one app.

mod rate_limit;
mod serve;

pub use rate_limit::RateLimiter;
pub use serve::{ServeLimits, serve};
