//! Code shared by several plugins: TLS and socket helpers, Go time layouts,
//! Heka's message template, polling inputs' ticker.

pub(crate) mod gotime;
pub(crate) mod net;
pub(crate) mod reactor;
pub(crate) mod template;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod ticker;
pub(crate) mod tls;
