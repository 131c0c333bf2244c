//! What each command-line program is: its name, a one-line summary, its synopsis, a description
//! and its flags.
//!
//! The programs parse their arguments with these flag tables and print their usage from them,
//! and the man pages are written from the same tables ([`manpage`], run by
//! `cargo run -p hekad --example manpages -- DIR`), so a man page never disagrees with the flags a
//! program accepts.

use crate::cli::FlagSpec;

/// One program shipped with hekad.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The program's file name, e.g. `heka-cat`.
    pub name: &'static str,
    /// One line: what the program is (the man page's NAME section).
    pub summary: &'static str,
    /// How it is called (the man page's SYNOPSIS).
    pub synopsis: &'static str,
    /// Paragraphs of the man page's DESCRIPTION.
    pub description: &'static [&'static str],
    /// The flags it accepts.
    pub flags: &'static [FlagSpec],
    /// What its exit status means (EXIT STATUS), one line per value.
    pub exit_status: &'static [&'static str],
}

/// `hekad`, the daemon.
pub const HEKAD: Tool = Tool {
    name: "hekad",
    summary: "Heka's data collection and processing daemon",
    synopsis: "hekad [-config PATH] [-test [-q]] [-version]",
    description: &[
        "hekad reads data from its inputs, splits and decodes it into Heka messages, routes every \
         message to the filters and outputs whose message_matcher it satisfies, and encodes and \
         writes what the outputs receive. The plugins and their options come from a TOML config \
         in Heka's format.",
        "-config names a TOML file, or a directory whose *.toml files are read in alphabetical \
         order. Without -config, hekad runs a built-in config: a TcpInput on 127.0.0.1:5565 \
         decoding Heka protobuf, a CounterFilter and a LogOutput printing its counts. The \
         Debian package's service reads /etc/heka/conf.d/ when that directory exists (Heka's \
         package layout) and /etc/hekad.toml otherwise.",
        "Signals: SIGINT and SIGTERM stop hekad after the pipeline has drained (a second one \
         stops it at once); SIGHUP asks outputs to reopen their files; SIGUSR1 prints the \
         report of every plugin to standard error.",
    ],
    flags: &[
        FlagSpec {
            name: "config",
            takes_value: true,
            help: "config file or directory (default: the built-in config)",
        },
        FlagSpec {
            name: "version",
            takes_value: false,
            help: "print the version and exit",
        },
        FlagSpec {
            name: "test",
            takes_value: false,
            help: "check the config, list the plugins it would run, and exit (0 valid, 1 invalid)",
        },
        FlagSpec {
            name: "q",
            takes_value: false,
            help: "with -test: print only the errors (no plugin list, no warnings)",
        },
    ],
    exit_status: &[
        "0: stopped by a signal after a clean shutdown, or -test found the config valid.",
        "1: the config could not be loaded or built, or -test found it invalid.",
        "2: a flag was wrong.",
    ],
};

/// `heka-cat`, the reader of framed message files.
pub const HEKA_CAT: Tool = Tool {
    name: "heka-cat",
    summary: "count, view, filter and extract the messages of a Heka stream file",
    synopsis: "heka-cat [-match EXPR] [-format txt|json|heka|count] [-output FILE] [-offset N] \
               [-tail] [-max-message-size N] FILE",
    description: &[
        "heka-cat reads a file of Heka-framed records, such as one written by a FileOutput with \
         the ProtobufEncoder, and writes the messages that satisfy -match to -output (standard \
         output by default) in the chosen format. Bytes that do not belong to a record are \
         skipped and reported as corruption. It ends with the line \
         'Processed: N, matched: M messages'.",
        "FILE may also be the directory of a disk queue (<base_dir>/output_queue/<name>, written \
         by a plugin with use_buffering): heka-cat then reads its segments N.log in order, checks \
         each record's checksum, reports records that fail it and a torn record at the end of a \
         segment as corruption, and prints the queue's cursor (checkpoint.txt).",
    ],
    flags: &[
        FlagSpec {
            name: "match",
            takes_value: true,
            help: "message_matcher filter expression (default \"TRUE\")",
        },
        FlagSpec {
            name: "format",
            takes_value: true,
            help: "output format [txt|json|heka|count] (default \"txt\")",
        },
        FlagSpec {
            name: "output",
            takes_value: true,
            help: "output filename, defaults to stdout",
        },
        FlagSpec {
            name: "tail",
            takes_value: false,
            help: "don't exit on EOF",
        },
        FlagSpec {
            name: "offset",
            takes_value: true,
            help: "starting offset for the input file in bytes (default 0)",
        },
        FlagSpec {
            name: "max-message-size",
            takes_value: true,
            help: "maximum message size in bytes (default 4194304)",
        },
    ],
    exit_status: &[
        "0: the file was read.",
        "1: wrong usage.",
        "2: a bad flag or -match expression.",
        "3: the input file could not be read.",
        "4: the output file could not be written.",
        "5: a bad -offset.",
        "8: -max-message-size too large.",
    ],
};

/// `heka-flood`, the load generator.
pub const HEKA_FLOOD: Tool = Tool {
    name: "heka-flood",
    summary: "send framed Heka messages to hekad as fast as possible",
    synopsis: "heka-flood [-config FILE] [-test SECTION]",
    description: &[
        "heka-flood reads a TOML file with one table per test and runs the one named by -test: \
         it sends fixed or variable-size messages over TCP, UDP or Unix sockets, some of them \
         signed, corrupt or oversized in the proportions the test asks for, and prints how many \
         it sent.",
    ],
    flags: &[
        FlagSpec {
            name: "config",
            takes_value: true,
            help: "Heka Flood configuration file (default \"flood.toml\")",
        },
        FlagSpec {
            name: "test",
            takes_value: true,
            help: "Test section to load (default \"default\")",
        },
    ],
    exit_status: &[
        "0: the test ran, or the config or test section could not be read (Heka's exit status; \
         the error is printed).",
        "1: the sender could not connect or stopped on an error.",
        "2: a flag was wrong.",
    ],
};

/// `heka-inject`, which sends one message.
pub const HEKA_INJECT: Tool = Tool {
    name: "heka-inject",
    summary: "send one message to hekad over TCP",
    synopsis: "heka-inject [-heka HOST:PORT] [-type TYPE] [-logger NAME] [-severity N] \
               [-payload TEXT] [-pid N] [-hostname NAME]",
    description: &[
        "heka-inject builds one message with the given type, logger, severity, payload, pid and \
         host name, the current time and a random UUID, and sends it unsigned in Heka's stream \
         framing. Run with no flag at all, it prints the flag defaults and exits.",
    ],
    flags: &[
        FlagSpec {
            name: "heka",
            takes_value: true,
            help: "Heka instance to inject message (default \"127.0.0.1:5565\")",
        },
        FlagSpec {
            name: "type",
            takes_value: true,
            help: "Type of message (default \"inject.message\")",
        },
        FlagSpec {
            name: "logger",
            takes_value: true,
            help: "Data source (default \"Inject Client\")",
        },
        FlagSpec {
            name: "severity",
            takes_value: true,
            help: "Syslog severity level (default 7)",
        },
        FlagSpec {
            name: "payload",
            takes_value: true,
            help: "Textual data",
        },
        FlagSpec {
            name: "pid",
            takes_value: true,
            help: "Process ID generating message (default: this process)",
        },
        FlagSpec {
            name: "hostname",
            takes_value: true,
            help: "Hostname generating message (default: this host)",
        },
    ],
    exit_status: &[
        "0: the message was sent or could not be (as in Heka, errors are printed and the status \
         is 0), or the defaults were printed.",
        "2: a flag or value was wrong.",
    ],
};

/// `heka-logstreamer`, which shows what a LogstreamerInput would read.
pub const HEKA_LOGSTREAMER: Tool = Tool {
    name: "heka-logstreamer",
    summary: "show the files each LogstreamerInput of a config reads, in order",
    synopsis: "heka-logstreamer -config PATH",
    description: &[
        "heka-logstreamer loads a hekad config (a file or a directory, as hekad does) and, for \
         each LogstreamerInput in it, prints the logstreams it finds and their files from the \
         oldest to the newest, in the order hekad will read them. Run with no flag at all, it \
         prints the flag defaults and exits.",
    ],
    flags: &[FlagSpec {
        name: "config",
        takes_value: true,
        help: "Heka Logstreamer configuration file (default \"logstreamer.toml\")",
    }],
    exit_status: &[
        "0: every LogstreamerInput was listed.",
        "1: the config could not be read, or a section's options were wrong.",
    ],
};

/// `heka-sbmgr`, which loads and unloads one filter of a SandboxManagerFilter.
pub const HEKA_SBMGR: Tool = Tool {
    name: "heka-sbmgr",
    summary: "load or unload a sandbox filter of a running hekad's SandboxManagerFilter",
    synopsis: "heka-sbmgr [-config FILE] [-action load|unload] [-script FILE] \
               [-scriptconfig FILE] [-filtername NAME]",
    description: &[
        "heka-sbmgr sends one signed heka.control.sandbox message to the TcpInput at ip_address \
         of its config. With -action load, the message carries the Lua script of -script as its \
         payload and the TOML text of -scriptconfig (one SandboxFilter section) as its config \
         field; the SandboxManagerFilter that accepts it starts the filter as \
         <manager>-<section>. With -action unload, it names the section -filtername, and the \
         manager stops that filter.",
        "The config file holds ip_address = \"host:port\" and a [signer] table with name, \
         hmac_hash (md5 or sha1), hmac_key and version, which must match a signer section \
         <name>_<version> of the input and the manager's message_signer. Errors are printed; \
         nothing is printed on success.",
    ],
    flags: &[
        FlagSpec {
            name: "config",
            takes_value: true,
            help: "Sandbox manager configuration file (default \"sbmgr.toml\")",
        },
        FlagSpec {
            name: "action",
            takes_value: true,
            help: "Sandbox manager action (default \"load\")",
        },
        FlagSpec {
            name: "script",
            takes_value: true,
            help: "Sandbox script file (default \"xyz.lua\")",
        },
        FlagSpec {
            name: "scriptconfig",
            takes_value: true,
            help: "Sandbox script configuration file (default \"xyz.toml\")",
        },
        FlagSpec {
            name: "filtername",
            takes_value: true,
            help: "Sandbox filter name (used on unload) (default \"filter\")",
        },
    ],
    exit_status: &[
        "0: the message was sent, or the config, script or script config could not be read \
         (Heka's exit status; the error is printed).",
        "1: the sender could not connect.",
        "2: a flag was wrong.",
    ],
};

/// `heka-sbmgrload`, which loads or unloads many counting filters (a load test).
pub const HEKA_SBMGRLOAD: Tool = Tool {
    name: "heka-sbmgrload",
    summary: "load or unload many counting sandbox filters through a SandboxManagerFilter",
    synopsis: "heka-sbmgrload [-config FILE] [-action load|unload] [-num N]",
    description: &[
        "heka-sbmgrload is a load test for the SandboxManagerFilter. With -action load it sends \
         -num signed control messages, each loading a built-in Lua script as the SandboxFilter \
         CounterSandbox<i> (i from 0): it counts messages of Type hekabench and, every second \
         in which some arrived, injects a txt payload named rate ('Got <count> messages. \
         <rate> msg/sec'), and every ten such reports one named summary with the minimum, \
         maximum and mean rate. With -action unload it unloads CounterSandbox0 to \
         CounterSandbox<num-1>.",
        "The config file is heka-sbmgr's: ip_address and a [signer] table.",
    ],
    flags: &[
        FlagSpec {
            name: "config",
            takes_value: true,
            help: "Sandbox manager load configuration file (default \"sbmgrload.toml\")",
        },
        FlagSpec {
            name: "action",
            takes_value: true,
            help: "load/unload (default \"load\")",
        },
        FlagSpec {
            name: "num",
            takes_value: true,
            help: "Number of sandboxes to load/unload (default 1)",
        },
    ],
    exit_status: &[
        "0: the messages were sent, or the config could not be read or the action is unknown \
         (Heka's exit status; the error is printed).",
        "1: the sender could not connect.",
        "2: a flag was wrong.",
    ],
};

/// Every program, in the order the man pages list them under SEE ALSO.
pub const ALL: &[&Tool] = &[
    &HEKAD,
    &HEKA_CAT,
    &HEKA_FLOOD,
    &HEKA_INJECT,
    &HEKA_LOGSTREAMER,
    &HEKA_SBMGR,
    &HEKA_SBMGRLOAD,
];

/// Escapes text for a roff line: backslashes, and a leading `.` or `'` that roff would read as
/// a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The man page (section 1, roff `man` macros) of `tool`, for the given version and date
/// (`YYYY-MM-DD`).
pub fn manpage(tool: &Tool, version: &str, date: &str) -> String {
    let mut out = String::new();
    let upper = tool.name.to_uppercase();
    out.push_str(&format!(
        ".TH {} 1 \"{}\" \"hekad {}\" \"Heka\"\n",
        roff(&upper),
        date,
        roff(version)
    ));
    out.push_str(".SH NAME\n");
    out.push_str(&format!("{} \\- {}\n", roff(tool.name), roff(tool.summary)));
    out.push_str(".SH SYNOPSIS\n.nf\n");
    out.push_str(&roff(tool.synopsis));
    out.push_str("\n.fi\n.SH DESCRIPTION\n");
    for (i, para) in tool.description.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        out.push_str(&roff(para));
        out.push('\n');
    }
    out.push_str(".SH OPTIONS\n");
    out.push_str(
        "Flags follow Go's flag package: \\-name or \\-\\-name, a value as \\-name=value or \
         \\-name value.\n",
    );
    for flag in tool.flags {
        out.push_str(".TP\n");
        if flag.takes_value {
            out.push_str(&format!("\\fB\\-{}\\fR \\fIvalue\\fR\n", roff(flag.name)));
        } else {
            out.push_str(&format!("\\fB\\-{}\\fR\n", roff(flag.name)));
        }
        out.push_str(&roff(flag.help));
        out.push('\n');
    }
    if !tool.exit_status.is_empty() {
        out.push_str(".SH EXIT STATUS\n");
        for (i, line) in tool.exit_status.iter().enumerate() {
            if i > 0 {
                out.push_str(".br\n");
            }
            out.push_str(&roff(line));
            out.push('\n');
        }
    }
    out.push_str(".SH SEE ALSO\n");
    let others: Vec<String> = ALL
        .iter()
        .filter(|t| t.name != tool.name)
        .map(|t| format!("\\fB{}\\fR(1)", roff(t.name)))
        .collect();
    out.push_str(&others.join(", "));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_of_every_tool_is_in_its_manpage() {
        for tool in ALL {
            let page = manpage(tool, "0.11.0", "2026-12-03");
            assert!(page.starts_with(&format!(".TH {} 1 ", roff(&tool.name.to_uppercase()))));
            for flag in tool.flags {
                assert!(
                    page.contains(&format!("\\fB\\-{}\\fR", roff(flag.name))),
                    "{}: -{} missing",
                    tool.name,
                    flag.name
                );
                assert!(
                    page.contains(&roff(flag.help)),
                    "{}: help of -{}",
                    tool.name,
                    flag.name
                );
            }
        }
    }

    #[test]
    fn roff_requests_and_backslashes_are_escaped() {
        assert_eq!(roff(".config"), "\\&.config");
        assert_eq!(roff("'x"), "\\&'x");
        assert_eq!(roff("a\\b"), "a\\eb");
        assert_eq!(roff("-q"), "\\-q");
        let page = manpage(&HEKAD, "0.11.0", "2026-12-03");
        // No line of text may start with a dot unless it is one of our macros.
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix('.') {
                let word = rest.split(' ').next().unwrap_or("");
                assert!(
                    ["TH", "SH", "PP", "TP", "nf", "fi", "br"].contains(&word),
                    "{line}"
                );
            }
        }
    }
}
