//! Heka's built-in plugins.
//!
//! One folder per plugin kind, one file per plugin, named after its Heka type in snake case
//! without the kind suffix (`PayloadRegexDecoder` → `decoders/payload_regex.rs`). Each file ends
//! with a const spec; each kind's `mod.rs` lists them in `ALL`. [`builtin`] is the only list of
//! plugins hekad knows.

pub mod decoders;
pub mod encoders;
pub mod filters;
#[doc(hidden)]
pub mod fuzzing;
pub mod inputs;
pub mod outputs;
pub mod splitters;
pub(crate) mod support;

use heka_pipeline::registry::Registry;

/// Every plugin type built into hekad.
pub fn builtin() -> Registry {
    Registry {
        inputs: inputs::all(),
        splitters: splitters::all(),
        decoders: decoders::all(),
        filters: filters::all(),
        encoders: encoders::all(),
        outputs: outputs::all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_pipeline::config::PluginKind;

    #[test]
    fn registry_names_are_unique_and_match_their_kind() {
        let r = builtin();
        let names = r.type_names();
        let mut seen = std::collections::HashSet::new();
        for (kind, name) in &names {
            assert!(seen.insert(*name), "{name} registered twice");
            assert_eq!(PluginKind::from_type_name(name), Some(*kind), "{name}");
        }
        for want in [
            "TcpInput",
            "UdpInput",
            "LogstreamerInput",
            "FilePollingInput",
            "ProcessInput",
            "ProcessDirectoryInput",
            "StatsdInput",
            "StatAccumInput",
            "HekaFramingSplitter",
            "TokenSplitter",
            "RegexSplitter",
            "PatternGroupingSplitter",
            "NullSplitter",
            "ProtobufDecoder",
            "PayloadRegexDecoder",
            "MultiDecoder",
            "ScribbleDecoder",
            "StatsToFieldsDecoder",
            "CounterFilter",
            "ProtobufEncoder",
            "PayloadEncoder",
            "RstEncoder",
            "LogOutput",
            "FileOutput",
            "TcpOutput",
            "UdpOutput",
            "CarbonOutput",
        ] {
            assert!(seen.contains(want), "{want} missing from the registry");
        }
    }
}
