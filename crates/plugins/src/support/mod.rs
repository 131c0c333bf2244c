//! Code shared by several plugins: TLS and socket helpers, Go time layouts.

pub(crate) mod gotime;
pub(crate) mod net;
pub(crate) mod tls;
