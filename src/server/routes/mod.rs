//! Route tables: one file per capability.

mod analysis;
mod assign;
mod forecast;
mod meta;
mod page;
mod sql;
mod stats;

use super::ApiRouter;
pub(crate) use forecast::ForecastCache;

/// Cheap routes anyone may call.
pub(super) fn open_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(meta::routes())
        .merge(assign::read_routes())
        .merge(stats::read_routes())
        .merge(page::routes())
        .merge(forecast::open_routes())
}

/// Expensive reads: open, or behind a read token when the service has read tokens.
pub(super) fn guarded_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(assign::guarded_routes())
        .merge(analysis::guarded_routes())
        .merge(sql::guarded_routes())
        .merge(forecast::guarded_routes())
}

/// Routes that change stored state; the caller adds the bearer-token check.
pub(super) fn write_routes() -> ApiRouter {
    ApiRouter::new().merge(assign::write_routes()).merge(forecast::write_routes())
}
