//! Fuzzes the disk queue's record reader (`heka_pipeline::runner::queue::next_item`), which
//! reads segment files that a crash may have torn or a disk damaged.
//!
//! Input layout: one control byte (bit 0: the segment is finished, i.e. `eof`), then the
//! segment's bytes.
//!
//! The input is walked item by item as the reader walks a segment. Invariants: every item
//! starts at the front and consumes at least one byte and no more than is there; a record's
//! message lies inside the record and matches its checksum; without `eof`, `None` means the
//! rest is the start of one record that more bytes could complete; with `eof`, `None` comes
//! only at the end, and what is left without it is skipped entirely once `eof` is set.

#![no_main]

use heka_pipeline::runner::queue::{Item, next_item};
use libfuzzer_sys::fuzz_target;

const MAX: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&control, segment)) = data.split_first() else {
        return;
    };
    let eof = control & 1 == 1;
    let mut rest = segment;
    while let Some(item) = next_item(rest, eof, MAX) {
        let end = match item {
            Item::Record { range, message, .. } => {
                assert_eq!(range.start, 0);
                assert!(message.start >= 3 && message.end == range.end);
                let header_len = usize::from(rest[1]);
                let header = &rest[2..2 + header_len];
                assert!(heka_pipeline::runner::queue::checksum_matches(
                    header,
                    &rest[message.clone()]
                ));
                range.end
            }
            Item::Corrupt { range, .. } => {
                assert_eq!(range.start, 0);
                range.end
            }
        };
        assert!(
            end > 0 && end <= rest.len(),
            "no progress or overrun: {end}"
        );
        rest = &rest[end..];
    }
    if eof {
        assert!(rest.is_empty(), "eof left {} bytes", rest.len());
        return;
    }
    // What is left is at most the start of one record; at eof it is skipped entirely.
    if let Some(&first) = rest.first() {
        assert_eq!(first, 0x1e, "leftover does not start a record");
    }
    let mut at = rest;
    while let Some(item) = next_item(at, true, MAX) {
        let end = match item {
            Item::Record { range, .. } | Item::Corrupt { range, .. } => range.end,
        };
        assert!(end > 0 && end <= at.len());
        at = &at[end..];
    }
    assert!(at.is_empty());
});
