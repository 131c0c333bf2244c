//! Heka's pipeline runtime.
//!
//! * [`config`] loads Heka's TOML (globals, plugin sections, common options).
//! * [`plugin`] defines the six plugin kinds as small traits; plugins never see channels.
//! * [`pack`] defines [`pack::Pack`] (a message plus its encoding and signer) and
//!   [`pack::Batch`], the unit the router fans out as `Arc<Batch>`.
//! * [`router`] fans batches out to the filter and output runners.
//! * [`runner`] runs each plugin on its own thread and does the shared work: splitting, decoding,
//!   matching, retries, tickers, injection, encoding and delivery acknowledgement.
//! * [`registry`] is the table of plugin specs the builder draws from; the plugins crate fills it.
//!
//! Invariant: this crate knows plugin kinds, never plugin names.

pub mod config;
pub mod pack;
pub mod plugin;
pub mod registry;
pub mod router;
pub mod runner;
pub mod stats;
