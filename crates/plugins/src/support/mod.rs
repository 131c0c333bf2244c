//! Code shared by several plugins: TLS and socket helpers, Go time layouts.

pub(crate) mod gotime;
pub(crate) mod net;
pub(crate) mod reactor;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod tls;
