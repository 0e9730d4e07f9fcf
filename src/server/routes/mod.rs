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

/// Routes anyone may call.
pub(super) fn read_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(meta::routes())
        .merge(assign::read_routes())
        .merge(stats::read_routes())
        .merge(analysis::read_routes())
        .merge(sql::read_routes())
        .merge(forecast::read_routes())
        .merge(page::routes())
}

/// Routes that change stored state; the caller adds the bearer-token check.
pub(super) fn write_routes() -> ApiRouter {
    ApiRouter::new().merge(assign::write_routes()).merge(forecast::write_routes())
}
