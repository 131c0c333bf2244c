//! Code shared by several plugins: TLS and socket helpers, Go time layouts,
//! Heka's message template, polling inputs' ticker, the sandbox plugins' shared options, Go's
//! number parsing (carbon lines, statsd values), statsd stats and their sink.

pub(crate) mod access_log;
pub(crate) mod captures;
pub(crate) mod gonum;
pub(crate) mod gotime;
#[cfg(test)]
pub(crate) mod mmdb_writer;
pub(crate) mod net;
pub(crate) mod reactor;
pub(crate) mod sandbox;
pub(crate) mod stats;
pub(crate) mod template;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod ticker;
pub(crate) mod tls;
