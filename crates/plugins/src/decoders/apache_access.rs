//! ApacheAccessDecoder: decodes Apache access log lines (the Payload) into messages whose
//! fields are the values the `LogFormat` names — natively, giving exactly the messages of our
//! Lua decoder `lua_decoders/apache_access.lua` (Heka 0.10's decoder of the same name).
//!
//! ```toml
//! [AccessLogDecoder]
//! type = "ApacheAccessDecoder"
//!
//! [AccessLogDecoder.config]
//! type = "apache.access"
//! user_agent_transform = true
//! log_format = '%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"'
//! ```
//!
//! The options are those of NginxAccessDecoder, read from the `config` table; `log_format` is
//! Apache's `LogFormat` as apache2.conf writes it (with `\"` escapes). Directives are mapped
//! onto nginx's variable names (`%h` → `remote_addr`, `%>s` → `status`, `%{Referer}i` →
//! `http_referer`, …); `%t`, `%{sec}t`, `%{msec}t` and `%{usec}t` become the Timestamp,
//! `%{msec_frac}t` / `%{usec_frac}t` the field `sec_frac`. An unknown directive is a config
//! error with the Lua module's text.
//!
//! Differences from the Lua decoder: those of NginxAccessDecoder, and `%{<strftime>}t` is a
//! config error (the Lua decoder reads it).

use heka_pipeline::registry::DecoderSpec;

use crate::support::access_log::{AccessLogDecoder, Server};

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "ApacheAccessDecoder",
    summary: "Decodes Apache access log lines natively, as lua_decoders/apache_access.lua does.",
    build: |ctx| AccessLogDecoder::build(ctx, Server::Apache),
};
