//! Shared code of the `hekad` binary and Heka's command-line tools.

pub mod cli;
pub mod logging;
pub mod sbmgr;
pub mod tools;
