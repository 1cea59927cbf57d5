//! Serving the studio's router. Kept apart from the router so a hardened serve function
//! (header-read and request timeouts, connection limit, shutdown deadline) can replace this
//! one in a single place.

use std::future::Future;

use axum::Router;

use super::StudioError;

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (graceful shutdown), as the survey server does.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StudioError> {
    let bind = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| StudioError::Serve { bind, source })
}
