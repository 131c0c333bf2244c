//! Splitters: find record boundaries in byte streams.

mod heka_framing;
mod null;
mod pattern_grouping;
mod regex;
mod token;

use heka_pipeline::registry::SplitterSpec;

/// Every built-in splitter (keep sorted).
pub(crate) fn all() -> Vec<SplitterSpec> {
    vec![
        heka_framing::SPEC,
        null::SPEC,
        pattern_grouping::SPEC,
        regex::SPEC,
        token::SPEC,
    ]
}
