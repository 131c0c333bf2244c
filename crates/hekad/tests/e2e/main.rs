//! End-to-end tests: each starts the real `hekad` binary with a TOML config written to a
//! tempdir, feeds it real traffic and reads back what its outputs wrote.

#![allow(clippy::unwrap_used)]

#[path = "../common/net.rs"]
mod net;
mod support;

mod aggregator;
mod buffering;
mod config;
mod corpus;
mod data_loss;
mod decode_threads;
mod decoders;
mod logstreamer;
mod lua_decoders;
mod lua_encoders;
mod lua_filters;
mod lua_library;
mod metrics;
mod native_access;
mod process;
mod producers;
mod reliability;
mod rotation;
mod sandbox;
mod sandbox_hostile;
mod sandbox_manager;
mod sandbox_report;
mod signals;
mod tcp;
mod tls;
mod traffic;
mod udp;
mod whisper;
