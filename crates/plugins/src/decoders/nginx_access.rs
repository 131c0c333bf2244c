//! NginxAccessDecoder: decodes nginx access log lines (the Payload) into messages whose fields
//! are the values the `log_format` names — natively, giving exactly the messages of our Lua
//! decoder `lua_decoders/nginx_access.lua` (Heka 0.10's decoder of the same name).
//!
//! ```toml
//! [AccessLogDecoder]
//! type = "NginxAccessDecoder"
//!
//! [AccessLogDecoder.config]
//! type = "nginx.access"
//! user_agent_transform = true
//! log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
//! ```
//!
//! The options are read from the `config` table, as the Lua decoder reads them, so a
//! SandboxDecoder section switches to the native decoder by changing its `type` and dropping
//! `filename` (the message type option is itself called `type`, which at the top level names
//! the plugin):
//! - `log_format` (required): nginx's `log_format` directive. `$time_local`, `$time_iso8601`
//!   or `$msec` become the Timestamp (without one: the current whole second).
//! - `type`: the message Type; when unset the incoming message's Type is kept.
//! - `user_agent_transform`: replaces `http_user_agent` with `user_agent_browser`,
//!   `user_agent_version` and `user_agent_os`; `user_agent_keep` keeps it as well,
//!   `user_agent_conditional` keeps it when no browser was recognised.
//! - `payload_keep`: keeps the line as the Payload.
//! - `tz`: the zone the Timestamp is a wall-clock time of (as SandboxDecoder's `config.tz`).
//!
//! Flags are true unless unset or `false` (Lua's truth, as the Lua decoder tests them).
//! A line that does not match fails to decode (`Failed parsing:  payload: <line>`).
//!
//! Differences from the Lua decoder: the fields come in format order (Lua's in its table's
//! hash order); `type` must be a string; a line whose message exceeds the sandbox's
//! `output_limit` does not terminate the decoder. See `support::access_log`.

use heka_pipeline::registry::DecoderSpec;

use crate::support::access_log::{AccessLogDecoder, Server};

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "NginxAccessDecoder",
    summary: "Decodes nginx access log lines natively, as lua_decoders/nginx_access.lua does.",
    build: |ctx| AccessLogDecoder::build(ctx, Server::Nginx),
};
