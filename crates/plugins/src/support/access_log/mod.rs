//! Web server access logs decoded natively, giving the messages our Lua decoders
//! `lua_decoders/nginx_access.lua` and `lua_decoders/apache_access.lua` give (NginxAccessDecoder,
//! ApacheAccessDecoder).
//!
//! The server's log format is compiled (`format`) into a list of items: white space, literal
//! bytes, and fields of a known kind (`values::Kind`). A line is read in one pass, item by item,
//! each kind by a hand-written scanner that follows the LPeg pattern of
//! `share/heka/lua_modules/common_log_format.lua` for it (PEG semantics: nothing is ever
//! retried), so a line matches, and gives the same values, exactly when the Lua grammar does.
//! Fields are kept in slots, one per distinct name (a later field of the same name replaces an
//! earlier one, as in the Lua table), and become the message's fields in format order.
//!
//! The message is the one the sandbox makes of the Lua decoder's `inject_message` table: a new
//! Uuid; Timestamp from the time field (the current whole second without one); Type from the
//! `type` option, else the incoming message's; Logger, Hostname, Severity and Pid of the
//! incoming message; Payload only with `payload_keep`; text fields as STRING without a value
//! type, numbers as DOUBLE, units as representations, upstream lists as arrays.

mod format;
mod time;
mod user_agent;
mod values;

use bytes::Bytes;
use heka_message::{Field, Message, ValueType};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::BuildContext;
use serde::Deserialize;

use crate::support::gotime::Zone;
use crate::support::sandbox::{config_tz, rezone};
use format::{Item, TIME};
use values::{Kind, Val, is_space};

/// Which server's format language `log_format` is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// nginx's `log_format`.
    Nginx,
    /// Apache's `LogFormat`.
    Apache,
}

/// The decoders' own options: only the `config` table, as the Lua decoders read it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AccessLogOptions {
    /// `log_format`, `type`, `user_agent_*`, `payload_keep`, `tz`.
    config: toml::Table,
}

/// A compiled format item, its field names replaced by slots.
#[derive(Debug)]
enum Step {
    Space,
    Literal(Vec<u8>),
    Field { slot: usize, kind: Kind },
}

/// A decoder of access log lines (NginxAccessDecoder, ApacheAccessDecoder).
#[derive(Debug)]
pub(crate) struct AccessLogDecoder {
    steps: Vec<Step>,
    /// Field names by slot.
    names: Vec<Bytes>,
    /// The values of the line being decoded, by slot.
    vals: Vec<Option<Val>>,
    time: Option<usize>,
    user_agent: Option<usize>,
    browser: usize,
    version: usize,
    os: usize,
    msg_type: Option<Bytes>,
    ua_transform: bool,
    ua_keep: bool,
    ua_conditional: bool,
    payload_keep: bool,
    tz: Option<Zone>,
}

/// Lua's truth: anything but `false` (or absence) is true, as `read_config` values are tested.
fn truthy(config: &toml::Table, key: &str) -> bool {
    !matches!(config.get(key), None | Some(toml::Value::Boolean(false)))
}

impl AccessLogDecoder {
    /// Builds the decoder from a section's `config` table.
    pub(crate) fn build(
        ctx: &BuildContext<'_>,
        server: Server,
    ) -> Result<Box<dyn Decoder>, ConfigError> {
        let options: AccessLogOptions = ctx.options.parse()?;
        let config = options.config;
        let required = || ctx.error(Some("config"), "log_format: a non-empty format is required");
        let format = config
            .get("log_format")
            .and_then(toml::Value::as_str)
            .ok_or_else(required)?;
        let items = match server {
            Server::Nginx => format::nginx(format),
            Server::Apache => format::apache(format).map_err(|e| ctx.error(Some("config"), e))?,
        }
        .ok_or_else(required)?;
        let msg_type = match config.get("type") {
            None => None,
            Some(toml::Value::String(s)) => Some(heka_message::intern(s.as_bytes())),
            Some(_) => return Err(ctx.error(Some("config"), "type must be a string")),
        };
        let tz = config_tz(ctx, &config)?;
        let mut d = AccessLogDecoder::new(items);
        d.msg_type = msg_type;
        d.ua_transform = truthy(&config, "user_agent_transform");
        d.ua_keep = truthy(&config, "user_agent_keep");
        d.ua_conditional = truthy(&config, "user_agent_conditional");
        d.payload_keep = truthy(&config, "payload_keep");
        d.tz = tz;
        Ok(Box::new(d))
    }

    /// A decoder of `items` with every option off.
    fn new(items: Vec<Item>) -> AccessLogDecoder {
        let mut names: Vec<String> = Vec::new();
        let slot = |name: &str, names: &mut Vec<String>| match names.iter().position(|n| n == name)
        {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        let steps: Vec<Step> = items
            .into_iter()
            .map(|item| match item {
                Item::Space => Step::Space,
                Item::Literal(l) => Step::Literal(l),
                Item::Field { name, kind } => Step::Field {
                    slot: slot(&name, &mut names),
                    kind,
                },
            })
            .collect();
        let find = |names: &Vec<String>, n: &str| names.iter().position(|x| x == n);
        let time = find(&names, TIME);
        let user_agent = find(&names, "http_user_agent");
        let browser = slot("user_agent_browser", &mut names);
        let version = slot("user_agent_version", &mut names);
        let os = slot("user_agent_os", &mut names);
        AccessLogDecoder {
            steps,
            vals: vec![None; names.len()],
            names: names
                .iter()
                .map(|n| heka_message::intern(n.as_bytes()))
                .collect(),
            time,
            user_agent,
            browser,
            version,
            os,
            msg_type: None,
            ua_transform: false,
            ua_keep: false,
            ua_conditional: false,
            payload_keep: false,
            tz: None,
        }
    }

    /// Reads `line` into the slots; false if it does not match the format.
    fn read(&mut self, line: &[u8]) -> bool {
        self.vals.iter_mut().for_each(|v| *v = None);
        let mut pos = 0;
        for step in &self.steps {
            match step {
                Step::Space => {
                    let n = line[pos..].iter().take_while(|b| is_space(**b)).count();
                    if n == 0 {
                        return false;
                    }
                    pos += n;
                }
                Step::Literal(l) => {
                    if !line[pos..].starts_with(l) {
                        return false;
                    }
                    pos += l.len();
                }
                Step::Field { slot, kind } => match values::read(kind, line, pos) {
                    Some((end, v)) => {
                        self.vals[*slot] = Some(v);
                        pos = end;
                    }
                    None => return false,
                },
            }
        }
        true
    }

    /// Replaces `http_user_agent` by what it names (`user_agent_transform`).
    fn transform_user_agent(&mut self, line: &[u8]) {
        let Some(ua_slot) = self.user_agent else {
            return;
        };
        let Some(Val::Str(r)) = &self.vals[ua_slot] else {
            return;
        };
        let agent = user_agent::normalize(&line[r.clone()]);
        let keep = self.ua_keep || (self.ua_conditional && agent.browser.is_none());
        self.vals[self.browser] = agent.browser.map(Val::Static);
        self.vals[self.version] = agent.version.map(Val::Num);
        self.vals[self.os] = agent.os.map(Val::Static);
        if !keep {
            self.vals[ua_slot] = None;
        }
    }

    /// The message's Timestamp: the time field as the sandbox reads a table's `Timestamp`.
    fn timestamp(&self, line: &[u8]) -> i64 {
        let n = match self.time.and_then(|s| self.vals[s].as_ref()) {
            Some(Val::Num(n)) => Some(*n),
            // nginx's `$time` is free text: Lua's tonumber reads it.
            Some(Val::Str(r)) => lua_tonumber(&line[r.clone()]),
            _ => None,
        };
        let ts = match n {
            // Heka compat: cast to uint64 and written as a varint: the same bits as an i64.
            Some(n) => n as i64,
            // Heka compat: a table without a Timestamp gets time(NULL) * 1e9.
            None => heka_message::now_ns() / 1_000_000_000 * 1_000_000_000,
        };
        match &self.tz {
            Some(tz) => rezone(ts, tz),
            None => ts,
        }
    }

    /// The decoded message's fields, in slot order.
    fn fields(&self, payload: &Bytes) -> Vec<Field> {
        let mut out = Vec::with_capacity(self.vals.len());
        for (slot, v) in self.vals.iter().enumerate() {
            let Some(v) = v else { continue };
            if Some(slot) == self.time {
                continue;
            }
            let mut f = Field {
                name: self.names[slot].clone(),
                ..Field::default()
            };
            let double = Some(ValueType::Double as i32);
            match v {
                Val::Str(r) => f.value_string.push(payload.slice(r.clone())),
                Val::StrUnit(r, u) => {
                    f.value_string.push(payload.slice(r.clone()));
                    f.representation = Some(Bytes::from_static(u.as_bytes()));
                }
                Val::Static(s) => f.value_string.push(Bytes::from_static(s.as_bytes())),
                Val::Strs(rs) => f
                    .value_string
                    .extend(rs.iter().map(|r| payload.slice(r.clone()))),
                Val::Num(n) => {
                    f.value_type = double;
                    f.value_double.push(*n);
                }
                Val::NumUnit(n, u) => {
                    f.value_type = double;
                    f.value_double.push(*n);
                    f.representation = Some(Bytes::from_static(u.as_bytes()));
                }
                Val::Nums(ns) => {
                    f.value_type = double;
                    f.value_double.extend_from_slice(ns);
                }
                Val::NumsUnit(ns, u) => {
                    f.value_type = double;
                    f.value_double.extend_from_slice(ns);
                    f.representation = Some(Bytes::from_static(u.as_bytes()));
                }
            }
            out.push(f);
        }
        out
    }
}

/// Lua 5.1's `tonumber` of a string: a decimal (or `0x` hexadecimal) number with optional
/// surrounding white space.
fn lua_tonumber(text: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(text)
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    t.parse().ok()
}

impl Decoder for AccessLogDecoder {
    /// Each line is decoded on its own (the decoder's buffers are scratch space).
    fn parallel_safe(&self) -> bool {
        true
    }

    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        let original = pack.message();
        let payload = original.payload.clone().unwrap_or_default();
        if !self.read(&payload) {
            // Heka compat: SandboxDecoder's text for a script returning -1 without a message.
            return Err(CodecError::new(format!(
                "Failed parsing:  payload: {}",
                String::from_utf8_lossy(&payload)
            )));
        }
        if self.ua_transform {
            self.transform_user_agent(&payload);
        }
        let message = Message {
            uuid: heka_message::new_uuid(),
            timestamp: self.timestamp(&payload),
            r#type: self.msg_type.clone().or_else(|| original.r#type.clone()),
            logger: original.logger.clone(),
            severity: original.severity,
            payload: if self.payload_keep {
                original.payload.clone()
            } else {
                None
            },
            env_version: None,
            pid: original.pid,
            hostname: original.hostname.clone(),
            fields: self.fields(&payload),
        };
        pack.set_message(message);
        Ok(Decoded::Keep)
    }
}

#[cfg(test)]
mod tests;
