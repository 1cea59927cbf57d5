//! Serving the studio's router on the hardened server the survey uses ([`crate::http::serve`]:
//! header-read timeout, connection limit, shutdown deadline, the client's address on each
//! request).

use std::future::Future;
use std::time::Duration;

use axum::Router;

use super::StudioError;
use crate::http::ServeLimits;

/// Serves `router` on `listener` until `shutdown` completes, then gives the requests in flight
/// the server's shutdown deadline. `job_timeout` is the longest a cartoonize request may take
/// (`--timeout`); the server's own request limit is set just above it, so the studio's
/// answer (a clear 504 from its router) comes first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    job_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StudioError> {
    let bind = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let limits = ServeLimits {
        request_timeout: job_timeout + Duration::from_secs(10),
        ..ServeLimits::default()
    };
    crate::http::serve(listener, router, limits, shutdown)
        .await
        .map_err(|source| StudioError::Serve { bind, source })
}
