//! The disk queue behind `use_buffering`: segment files, a cursor, checksummed records.
//!
//! # Layout (Heka's, `pipeline/queue_buffer.go`)
//!
//! A queue is a directory, `<base_dir>/output_queue/<plugin name with non-word characters as
//! "_">`, holding segment files `0.log`, `1.log`, … and `checkpoint.txt`. Each record is one
//! Heka stream frame (`0x1E`, header length, header protobuf, `0x1F`, message protobuf), so
//! Heka's tools and `heka-cat` read the files. Our header carries, besides `message_length`, a
//! CRC-32 (IEEE) of the message bytes in protobuf field 15 as a `fixed32` ([`CRC_FIELD_KEY`]);
//! Heka's header decoder skips fields it does not know, and a record without the field (one
//! Heka wrote) is read unchecked.
//!
//! `checkpoint.txt` holds the cursor, `"<file id> <offset>"` (no newline): reading resumes
//! there. It is written to `checkpoint.txt.tmp` and renamed over the old one, so a crash never
//! leaves a torn cursor.
//!
//! # Writing
//!
//! The writer appends to the newest segment; every start of hekad opens a new one (as Heka).
//! [`QueueWriter::append`] frames a message into a buffer, [`QueueWriter::flush`] writes the
//! buffer with one `write(2)` (the pipeline calls it once per delivery, before it lets go of
//! the delivery and so of the input's acknowledgement). A segment is rolled when the next
//! record would take it past `max_file_size`; the finished segment is `fsync`ed then. Nothing
//! else is `fsync`ed: what was written survives a crash of hekad (SIGKILL included), not a
//! power loss.
//!
//! `max_buffer_size` bounds the sum of the segment sizes. Space comes back when segments are
//! deleted: when the cursor moves into a later segment, every earlier one goes. When the queue
//! is full and the reader has consumed everything, the writer rolls to a new segment at once
//! and deletes the old one (Heka waited for a later segment that a full queue never got).
//!
//! # Reading
//!
//! The reader reads records from the cursor on, up to what the writer has flushed. A record
//! whose checksum does not match, bytes between records, and a torn record at the end of a
//! finished segment are reported (logged with file and offset, counted) and skipped; reading
//! goes on at the next valid record. [`next_item`] is the one parser, shared by the reader,
//! `heka-cat` and the fuzz target.
//!
//! The pipeline commits the cursor ([`QueueReader::commit`]) once the plugin has processed the
//! records (an output: once its flush reports them written); it is saved every
//! `cursor_update_count` records, whenever it enters a later segment, and at shutdown.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use heka_message::framing;
use parking_lot::{Condvar, Mutex};

/// Name of the cursor file in a queue directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.txt";

/// Protobuf key of the checksum in a record's header: field 15, wire type 5 (`fixed32`).
pub const CRC_FIELD_KEY: u8 = (15 << 3) | 5;

/// Protobuf key of the message's injection loop count in a record's header (only when not 0):
/// field 14, wire type 0 (varint), so that `max_message_loops` still holds for messages that
/// went through a buffered filter.
pub const LOOPS_FIELD_KEY: u8 = 14 << 3;

/// How much the reader reads at a time.
const READ_CHUNK: usize = 256 * 1024;

/// The queue directory of plugin `name` under `base_dir`, as Heka names it.
pub fn queue_dir(base_dir: &Path, name: &str) -> PathBuf {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    base_dir.join("output_queue").join(clean)
}

/// A place in the queue: a segment id and a byte offset in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Segment id (`<id>.log`).
    pub file: u32,
    /// Byte offset in the segment.
    pub offset: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.file, self.offset)
    }
}

impl Position {
    /// Parses Heka's checkpoint text, `"<file id> <offset>"`.
    pub fn parse(text: &str) -> Result<Position, String> {
        let text = text.trim_end_matches(['\n', '\r']);
        let Some((id, offset)) = text.split_once(' ') else {
            return Err(format!("invalid checkpoint format: {text:?}"));
        };
        let file = id
            .parse::<u32>()
            .map_err(|e| format!("invalid checkpoint id {id:?}: {e}"))?;
        let offset = offset
            .parse::<u64>()
            .map_err(|e| format!("invalid checkpoint offset {offset:?}: {e}"))?;
        Ok(Position { file, offset })
    }
}

/// Limits of a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueOptions {
    /// A segment is rolled before it would grow past this.
    pub max_file_size: u64,
    /// Cap on the sum of the segment sizes; `None` = unlimited.
    pub max_buffer_size: Option<u64>,
    /// Records committed between two saves of the cursor (at least 1).
    pub cursor_update_count: u64,
    /// Largest message accepted (hekad's `max_message_size`).
    pub max_message_size: u32,
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// `max_buffer_size` is reached.
    #[error("Queue is full")]
    Full,
    /// The message is larger than `max_message_size`.
    #[error("message too big: {len} bytes (max {max})")]
    TooBig {
        /// Its length.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// Writing failed.
    #[error("can't write to queue: {0}")]
    Io(String),
}

/// What the writer and the reader share.
struct State {
    /// Size of every segment on disk, by id.
    files: BTreeMap<u32, u64>,
    /// Sum of `files`.
    total: u64,
    /// The segment being written.
    write_id: u32,
    /// The committed cursor.
    cursor: Position,
    /// The writer is gone: its last segment will not grow.
    writer_closed: bool,
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// Signalled when segments are deleted or the cursor moves (room for a full queue).
    room: Condvar,
}

impl Shared {
    fn segment(&self, id: u32) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    /// Deletes segment `id` and forgets it.
    fn delete(&self, st: &mut State, id: u32) {
        if let Some(size) = st.files.remove(&id) {
            st.total = st.total.saturating_sub(size);
        }
        match fs::remove_file(self.segment(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(queue = %self.dir.display(), "can't delete {id}.log: {e}")
            }
        }
    }
}

/// Opens (creating it if needed) the queue in `dir`: the writer starts a new segment, the
/// reader starts at the saved cursor (or at the oldest segment when there is none).
pub fn open(dir: &Path, options: QueueOptions) -> Result<(QueueWriter, QueueReader), String> {
    let min = framing::max_record_size(options.max_message_size) as u64;
    if options.max_file_size < min {
        return Err(format!(
            "`max_file_size` must be greater than maximum record size of {min}"
        ));
    }
    fs::create_dir_all(dir).map_err(|e| format!("can't create {}: {e}", dir.display()))?;
    let mut files = BTreeMap::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("can't read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("can't read {}: {e}", dir.display()))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        let Ok(id) = stem.parse::<u32>() else {
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.insert(id, size);
    }
    let write_id = match files.last_key_value() {
        Some((&last, _)) => last
            .checked_add(1)
            .ok_or_else(|| format!("{}: segment ids exhausted", dir.display()))?,
        None => 0,
    };
    let first = files.first_key_value().map_or(write_id, |(&id, _)| id);
    let saved = match fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
        Ok(text) => match Position::parse(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(queue = %dir.display(), "{CHECKPOINT_FILE}: {e}: reading from the oldest segment");
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("can't read {CHECKPOINT_FILE}: {e}")),
    };
    let mut cursor = saved.unwrap_or(Position {
        file: first,
        offset: 0,
    });
    // A cursor in a segment that is gone (or past its end) moves to the next one.
    match files.get(&cursor.file) {
        Some(&size) if cursor.offset <= size => {}
        Some(_) => {
            tracing::error!(queue = %dir.display(), "checkpoint {cursor} is past the end of its segment: reading from the next one");
            let next = files.range(cursor.file.saturating_add(1)..).next();
            cursor = Position {
                file: next.map_or(write_id, |(&id, _)| id),
                offset: 0,
            };
        }
        None => {
            let next = files.range(cursor.file..).next();
            cursor = Position {
                file: next.map_or(write_id, |(&id, _)| id),
                offset: 0,
            };
        }
    }
    // Segments before the cursor are consumed.
    let stale: Vec<u32> = files.range(..cursor.file).map(|(&id, _)| id).collect();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{write_id}.log")))
        .map_err(|e| format!("can't create {write_id}.log: {e}"))?;
    let written = file.metadata().map(|m| m.len()).unwrap_or(0);
    files.insert(write_id, written);
    let total = files.values().sum();
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        state: Mutex::new(State {
            files,
            total,
            write_id,
            cursor,
            writer_closed: false,
        }),
        room: Condvar::new(),
    });
    {
        let mut st = shared.state.lock();
        for id in stale {
            shared.delete(&mut st, id);
        }
    }
    let (notify, wake) = crossbeam_channel::bounded(1);
    let writer = QueueWriter {
        shared: shared.clone(),
        file,
        id: write_id,
        size: written,
        buf: Vec::new(),
        options,
        notify,
    };
    let reader = QueueReader {
        shared,
        options,
        wake,
        file: None,
        pos: cursor,
        buf: BytesMut::new(),
        unsaved: 0,
        saved: saved.unwrap_or_default(),
        corrupt: 0,
    };
    Ok((writer, reader))
}

/// Reads a queue's size (see [`QueueWriter::size_handle`]).
#[derive(Clone)]
pub struct QueueSize {
    shared: Arc<Shared>,
    max: Option<u64>,
}

impl std::fmt::Debug for QueueSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSize")
            .field("dir", &self.shared.dir)
            .field("max", &self.max)
            .finish()
    }
}

impl QueueSize {
    /// Sum of the segment sizes (what counts against `max_buffer_size`).
    pub fn bytes(&self) -> u64 {
        self.shared.state.lock().total
    }

    /// Bytes of the records after the committed cursor (not yet delivered).
    pub fn pending(&self) -> u64 {
        let st = self.shared.state.lock();
        let from_cursor: u64 = st.files.range(st.cursor.file..).map(|(_, &n)| n).sum();
        if st.files.contains_key(&st.cursor.file) {
            from_cursor.saturating_sub(st.cursor.offset)
        } else {
            from_cursor
        }
    }

    /// Heka's `BackPressured`: the queue holds at least 90 % of `max_buffer_size` (never
    /// without one) in records not yet delivered. (Heka counted every byte on disk, so a
    /// queue read to its end but not yet rolled could stay "back-pressured".)
    pub fn back_pressured(&self) -> bool {
        let Some(max) = self.max else {
            return false;
        };
        let capacity = max / 10 * 9 + max % 10 * 9 / 10;
        capacity > 0 && self.pending() >= capacity
    }
}

/// The writing end of a queue.
pub struct QueueWriter {
    shared: Arc<Shared>,
    file: File,
    id: u32,
    /// Bytes of the current segment on disk.
    size: u64,
    /// Framed records not yet written.
    buf: Vec<u8>,
    options: QueueOptions,
    notify: Sender<()>,
}

impl QueueWriter {
    /// Frames `message` (with its checksum) for the next [`QueueWriter::flush`]. Rolls the
    /// segment first when the record would not fit.
    /// `loops` is the message's injection loop count, kept in the record.
    pub fn append(&mut self, message: &[u8], loops: u32) -> Result<(), QueueError> {
        self.append_with(message, loops, true)
    }

    /// [`QueueWriter::append`] without the `max_buffer_size` check (for what must never wait
    /// on the queue's reader).
    pub fn append_over_limit(&mut self, message: &[u8], loops: u32) -> Result<(), QueueError> {
        self.append_with(message, loops, false)
    }

    fn append_with(&mut self, message: &[u8], loops: u32, limited: bool) -> Result<(), QueueError> {
        if message.len() > self.options.max_message_size as usize {
            return Err(QueueError::TooBig {
                len: message.len(),
                max: self.options.max_message_size,
            });
        }
        let len = record_len(message.len(), loops) as u64;
        if let Some(max) = self.options.max_buffer_size.filter(|_| limited) {
            let (total, consumed) = {
                let st = self.shared.state.lock();
                let at_end = Position {
                    file: self.id,
                    offset: self.size,
                };
                (st.total, st.cursor == at_end && st.files.len() == 1)
            };
            if total + self.buf.len() as u64 + len > max {
                if !(consumed && self.buf.is_empty() && self.size > 0) {
                    return Err(QueueError::Full);
                }
                // Everything written was consumed: start afresh.
                self.roll()?;
                let total = self.shared.state.lock().total;
                if total + len > max {
                    return Err(QueueError::Full);
                }
            }
        }
        let pending = self.size + self.buf.len() as u64;
        if pending > 0 && pending + len > self.options.max_file_size {
            self.flush()?;
            self.roll()?;
        }
        encode_record_with_loops(message, loops, &mut self.buf);
        Ok(())
    }

    /// Writes what [`QueueWriter::append`] framed with one `write(2)` and wakes the reader.
    /// On error the segment is cut back to its last whole record.
    pub fn flush(&mut self) -> Result<(), QueueError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.buf.clear();
            if let Err(t) = self.file.set_len(self.size) {
                return Err(QueueError::Io(format!(
                    "{e}; Queue is corrupt: can't cut {}.log back: {t}",
                    self.id
                )));
            }
            return Err(QueueError::Io(e.to_string()));
        }
        self.size += self.buf.len() as u64;
        {
            let mut st = self.shared.state.lock();
            st.total += self.buf.len() as u64;
            st.files.insert(self.id, self.size);
        }
        self.buf.clear();
        self.wake();
        Ok(())
    }

    /// Waits up to `timeout` for the reader to commit (which may make room in a full queue).
    pub fn wait_for_room(&self, timeout: std::time::Duration) {
        let mut st = self.shared.state.lock();
        self.shared.room.wait_for(&mut st, timeout);
    }

    /// Sum of the segment sizes (what counts against `max_buffer_size`).
    pub fn queue_size(&self) -> u64 {
        self.shared.state.lock().total
    }

    /// A handle that reads the queue's size from other threads (the report, the start delay).
    pub fn size_handle(&self) -> QueueSize {
        QueueSize {
            shared: self.shared.clone(),
            max: self.options.max_buffer_size,
        }
    }

    fn wake(&self) {
        match self.notify.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }

    /// Starts a new segment (the current one is flushed and synced). A segment the reader has
    /// consumed entirely is deleted.
    fn roll(&mut self) -> Result<(), QueueError> {
        self.flush()?;
        if let Err(e) = self.file.sync_data() {
            tracing::warn!(queue = %self.shared.dir.display(), "can't sync {}.log: {e}", self.id);
        }
        let next = self
            .id
            .checked_add(1)
            .ok_or_else(|| QueueError::Io("segment ids exhausted".into()))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.shared.segment(next))
            .map_err(|e| QueueError::Io(format!("can't create {next}.log: {e}")))?;
        let old = Position {
            file: self.id,
            offset: self.size,
        };
        self.file = file;
        self.id = next;
        self.size = 0;
        let mut st = self.shared.state.lock();
        st.files.insert(next, 0);
        st.write_id = next;
        if st.cursor == old {
            self.shared.delete(&mut st, old.file);
        }
        drop(st);
        self.wake();
        Ok(())
    }
}

impl Drop for QueueWriter {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(queue = %self.shared.dir.display(), "{e}");
        }
        if let Err(e) = self.file.sync_data() {
            tracing::warn!(queue = %self.shared.dir.display(), "can't sync {}.log: {e}", self.id);
        }
        self.shared.state.lock().writer_closed = true;
    }
}

fn varint_len(v: u64) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// Length of the framed record of an `n`-byte message with `loops`.
fn record_len(n: usize, loops: u32) -> usize {
    let loops = if loops > 0 {
        1 + varint_len(u64::from(loops))
    } else {
        0
    };
    framing::FRAMING_OVERHEAD + 1 + varint_len(n as u64) + loops + 5 + n
}

/// Appends one queue record: a Heka frame whose header carries the message's CRC-32.
pub fn encode_record(message: &[u8], out: &mut Vec<u8>) {
    encode_record_with_loops(message, 0, out);
}

/// [`encode_record`] for a message with an injection loop count.
pub fn encode_record_with_loops(message: &[u8], loops: u32, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(framing::RECORD_SEPARATOR);
    out.push(0);
    let header = framing::Header {
        message_length: message.len() as u32,
        ..Default::default()
    };
    header.encode(out);
    if loops > 0 {
        out.push(LOOPS_FIELD_KEY);
        let mut v = u64::from(loops);
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    out.push(CRC_FIELD_KEY);
    out.extend_from_slice(&crc32fast::hash(message).to_le_bytes());
    // At most 1 + 5 + 6 + 5 bytes: always fits the length byte.
    out[start + 1] = (out.len() - start - 2) as u8;
    out.push(framing::UNIT_SEPARATOR);
    out.extend_from_slice(message);
}

/// The checksum field of a header, if it has one.
pub fn header_checksum(header: &[u8]) -> Option<u32> {
    header_field(header, CRC_FIELD_KEY).map(|v| v as u32)
}

/// The injection loop count in a record's header (0 when absent).
pub fn header_loops(header: &[u8]) -> u32 {
    header_field(header, LOOPS_FIELD_KEY).map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// The value of the varint or `fixed32` field with protobuf key `want` in a header.
fn header_field(header: &[u8], want: u8) -> Option<u64> {
    let mut pos = 0;
    while pos < header.len() {
        let key = read_varint(header, &mut pos)?;
        match key & 7 {
            0 => {
                let v = read_varint(header, &mut pos)?;
                if key == u64::from(want) {
                    return Some(v);
                }
            }
            1 => pos += 8,
            2 => {
                let len = read_varint(header, &mut pos)?;
                pos = pos.checked_add(usize::try_from(len).ok()?)?;
            }
            5 => {
                let b = header.get(pos..pos + 4)?;
                if key == u64::from(want) {
                    return Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
                }
                pos += 4;
            }
            _ => return None,
        }
    }
    None
}

/// Whether a record's message matches the checksum in its header (true when it has none, as
/// in records Heka wrote).
pub fn checksum_matches(header: &[u8], message: &[u8]) -> bool {
    header_checksum(header).is_none_or(|c| c == crc32fast::hash(message))
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// What [`next_item`] found at the start of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A valid record: its whole extent and its message bytes.
    Record {
        /// The whole record (from the `0x1E`).
        range: Range<usize>,
        /// The message bytes.
        message: Range<usize>,
        /// Whether the header carried a checksum (which matched).
        checked: bool,
        /// The message's injection loop count.
        loops: u32,
    },
    /// Bytes to skip: garbage, a record with a bad checksum, a torn record.
    Corrupt {
        /// The bytes skipped (always from 0).
        range: Range<usize>,
        /// What was wrong.
        why: String,
    },
}

/// The next thing in `buf`: a record, or corrupt bytes to skip. `None` when `buf` holds only
/// the start of a record (more bytes may come) or nothing. With `eof` set, no more bytes come:
/// an incomplete record is corrupt (a torn write).
pub fn next_item(buf: &[u8], eof: bool, max_message_size: u32) -> Option<Item> {
    let mut from = 0;
    let mut why: Option<String> = None;
    loop {
        let s = framing::scan(&buf[from..], max_message_size);
        if let Some(e) = &s.error {
            why.get_or_insert_with(|| e.to_string());
        }
        if let Some(f) = s.frame {
            let start = from + f.record.start;
            let message = from + f.message.start..from + f.message.end;
            let header = &buf[from + f.header_bytes.start..from + f.header_bytes.end];
            let crc = header_checksum(header);
            if crc.is_some_and(|c| c != crc32fast::hash(&buf[message.clone()])) {
                why.get_or_insert_with(|| "checksum mismatch".into());
                from = start + 1;
                continue;
            }
            if start > 0 {
                return Some(Item::Corrupt {
                    range: 0..start,
                    why: why.unwrap_or_else(|| "bytes between records".into()),
                });
            }
            return Some(Item::Record {
                range: 0..from + f.record.end,
                message,
                checked: crc.is_some(),
                loops: header_loops(header),
            });
        }
        let stop = from + s.consumed;
        if eof && stop < buf.len() {
            // An incomplete record that will never complete: skip its separator, look further.
            why.get_or_insert_with(|| "incomplete record (torn write)".into());
            from = stop + 1;
            continue;
        }
        let end = if eof { buf.len() } else { stop };
        return (end > 0).then(|| Item::Corrupt {
            range: 0..end,
            why: why.unwrap_or_else(|| "bytes between records".into()),
        });
    }
}

/// One record read from the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The message bytes.
    pub message: Bytes,
    /// Where the record ends (the cursor after it).
    pub end: Position,
    /// Its checksum was there and matched (it was written by this queue from a validated
    /// message).
    pub checked: bool,
    /// The message's injection loop count.
    pub loops: u32,
}

/// The reading end of a queue.
pub struct QueueReader {
    shared: Arc<Shared>,
    options: QueueOptions,
    wake: Receiver<()>,
    /// The segment being read.
    file: Option<File>,
    /// Where `buf[start..]` begins.
    pos: Position,
    /// Bytes read from the segment and not yet consumed; records are split off it without a
    /// copy.
    buf: BytesMut,
    /// Records committed since the cursor was last saved.
    unsaved: u64,
    saved: Position,
    corrupt: u64,
}

impl QueueReader {
    /// Ready when the writer has flushed something new, or is gone (then disconnected).
    pub fn wake(&self) -> &Receiver<()> {
        &self.wake
    }

    /// The queue directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Stretches of corrupt bytes skipped so far.
    pub fn corrupt(&self) -> u64 {
        self.corrupt
    }

    /// Whether the writer is gone and everything it wrote has been read.
    pub fn finished(&self) -> bool {
        let st = self.shared.state.lock();
        st.writer_closed
            && self.buf.is_empty()
            && self.pos.file == st.write_id
            && st
                .files
                .get(&st.write_id)
                .is_none_or(|&s| self.pos.offset >= s)
    }

    /// Reads up to `max` records into `out` (fewer when the queue has no more for now).
    pub fn read(&mut self, max: usize, out: &mut Vec<Record>) -> Result<(), String> {
        while out.len() < max {
            if self.file.is_none() && !self.open_segment()? {
                return Ok(());
            }
            let (limit, done) = {
                let st = self.shared.state.lock();
                if self.pos.file == st.write_id {
                    (
                        st.files.get(&self.pos.file).copied().unwrap_or(0),
                        st.writer_closed,
                    )
                } else {
                    (u64::MAX, true)
                }
            };
            let buffered_to = self.pos.offset + self.buf.len() as u64;
            let mut eof = false;
            if let Some(item) = next_item(&self.buf, false, self.max_message()) {
                self.take(item, out);
                continue;
            }
            if buffered_to < limit {
                let got = self.fill(limit - buffered_to)?;
                if got > 0 {
                    continue;
                }
                eof = done;
            } else if done {
                eof = true;
            }
            if !eof {
                return Ok(());
            }
            if let Some(item) = next_item(&self.buf, true, self.max_message()) {
                self.take(item, out);
                continue;
            }
            // The end of a finished segment.
            let next = {
                let st = self.shared.state.lock();
                st.files
                    .range(self.pos.file.saturating_add(1)..)
                    .next()
                    .map(|(&id, _)| id)
            };
            let Some(next) = next else {
                return Ok(());
            };
            self.file = None;
            self.buf.clear();
            self.pos = Position {
                file: next,
                offset: 0,
            };
        }
        Ok(())
    }

    fn max_message(&self) -> u32 {
        self.options.max_message_size
    }

    fn take(&mut self, item: Item, out: &mut Vec<Record>) {
        match item {
            Item::Record {
                range,
                message,
                checked,
                loops,
            } => {
                let record = self.buf.split_to(range.end).freeze();
                self.pos.offset += range.end as u64;
                out.push(Record {
                    message: record.slice(message),
                    end: self.pos,
                    checked,
                    loops,
                });
            }
            Item::Corrupt { range, why } => {
                self.corrupt += 1;
                tracing::error!(
                    queue = %self.shared.dir.display(),
                    "corrupt queue data in {}.log at offset {}: {} bytes skipped ({why})",
                    self.pos.file,
                    self.pos.offset,
                    range.end
                );
                self.buf.advance(range.end);
                self.pos.offset += range.end as u64;
            }
        }
    }

    /// Reads up to `room` more bytes of the current segment; 0 at its end.
    fn fill(&mut self, room: u64) -> Result<usize, String> {
        let want = READ_CHUNK.min(usize::try_from(room).unwrap_or(READ_CHUNK));
        // Reuses the buffer's allocation once the records split off it are dropped.
        self.buf.reserve(want);
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let Some(file) = self.file.as_mut() else {
            self.buf.truncate(old);
            return Ok(0);
        };
        let res = file.read(&mut self.buf[old..]);
        match res {
            Ok(n) => {
                self.buf.truncate(old + n);
                Ok(n)
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(format!(
                    "{}: can't read {}.log: {e}",
                    self.shared.dir.display(),
                    self.pos.file
                ))
            }
        }
    }

    /// Opens the segment at `pos` (or the next one there is). False when there is none yet.
    fn open_segment(&mut self) -> Result<bool, String> {
        let id = {
            let st = self.shared.state.lock();
            match st.files.range(self.pos.file..).next() {
                Some((&id, _)) => id,
                None => return Ok(false),
            }
        };
        if id != self.pos.file {
            self.pos = Position {
                file: id,
                offset: 0,
            };
        }
        let path = self.shared.segment(id);
        let mut file =
            File::open(&path).map_err(|e| format!("can't open {}: {e}", path.display()))?;
        file.seek(SeekFrom::Start(self.pos.offset))
            .map_err(|e| format!("can't seek in {}: {e}", path.display()))?;
        self.file = Some(file);
        self.buf.clear();
        Ok(true)
    }

    /// The plugin is done with everything up to `end` (`records` records since the last
    /// commit): moves the cursor, deletes segments before it, saves it when due.
    pub fn commit(&mut self, end: Position, records: u64) {
        let save = {
            let mut st = self.shared.state.lock();
            if end <= st.cursor {
                return;
            }
            let old = st.cursor;
            st.cursor = end;
            self.shared.room.notify_all();
            if end.file > old.file {
                let gone: Vec<u32> = st.files.range(..end.file).map(|(&id, _)| id).collect();
                for id in gone {
                    self.shared.delete(&mut st, id);
                }
                true
            } else {
                self.unsaved += records;
                self.unsaved >= self.options.cursor_update_count
            }
        };
        if save {
            self.save();
        }
    }

    /// Writes the committed cursor to `checkpoint.txt` (if it moved since the last save).
    pub fn save(&mut self) {
        let cursor = self.shared.state.lock().cursor;
        self.unsaved = 0;
        if cursor == self.saved {
            return;
        }
        let tmp = self.shared.dir.join("checkpoint.txt.tmp");
        let res = fs::write(&tmp, cursor.to_string())
            .and_then(|()| fs::rename(&tmp, self.shared.dir.join(CHECKPOINT_FILE)));
        match res {
            Ok(()) => self.saved = cursor,
            Err(e) => {
                tracing::error!(queue = %self.shared.dir.display(), "can't save the cursor: {e}")
            }
        }
    }

    /// Reads again from the committed cursor: what was read past it is read once more.
    pub fn rewind(&mut self) {
        self.file = None;
        self.buf.clear();
        self.pos = self.cursor();
    }

    /// The committed cursor.
    pub fn cursor(&self) -> Position {
        self.shared.state.lock().cursor
    }
}

impl Drop for QueueReader {
    fn drop(&mut self) {
        self.save();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> QueueOptions {
        QueueOptions {
            max_file_size: framing::max_record_size(1024) as u64,
            max_buffer_size: None,
            cursor_update_count: 1,
            max_message_size: 1024,
        }
    }

    fn msg(i: usize) -> Vec<u8> {
        format!("message number {i:05} ").repeat(10).into_bytes()
    }

    fn read_all(r: &mut QueueReader) -> Vec<Record> {
        let mut out = Vec::new();
        r.read(usize::MAX, &mut out).unwrap();
        out
    }

    fn segments(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".log"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn back_pressure_starts_at_ninety_percent_of_max_buffer_size() {
        let dir = tempfile::tempdir().unwrap();
        let one = record_len(msg(0).len(), 0) as u64;
        let options = QueueOptions {
            max_file_size: 100 * one,
            max_buffer_size: Some(10 * one),
            ..opts()
        };
        let (mut w, mut r) = open(dir.path(), options).unwrap();
        let size = w.size_handle();
        for i in 0..8 {
            w.append(&msg(i), 0).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(size.bytes(), 8 * one);
        assert!(!size.back_pressured());
        w.append(&msg(8), 0).unwrap();
        w.flush().unwrap();
        assert!(size.back_pressured(), "9 of 10 records");
        // Reading alone changes nothing; once delivered, the records no longer count, though
        // they stay on disk until their segment goes.
        let got = read_all(&mut r);
        assert!(size.back_pressured());
        r.commit(got[4].end, 5);
        assert_eq!(size.pending(), 4 * one);
        assert!(!size.back_pressured());
        assert_eq!(size.bytes(), 9 * one);
        // Without a max_buffer_size there is never back-pressure.
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _r) = open(dir.path(), opts()).unwrap();
        w.append(&msg(0), 0).unwrap();
        w.flush().unwrap();
        assert!(!w.size_handle().back_pressured());
    }

    #[test]
    fn records_are_heka_frames_with_a_checksum() {
        let mut out = Vec::new();
        encode_record(b"hello", &mut out);
        assert_eq!(out.len(), record_len(5, 0));
        let (header, body) = framing::unframe(&out, 1024).unwrap();
        assert_eq!(header.message_length, 5);
        assert_eq!(body, b"hello");
        let hb = &out[2..2 + out[1] as usize];
        assert_eq!(header_checksum(hb), Some(crc32fast::hash(b"hello")));
        let mut big = Vec::new();
        encode_record(&[7u8; 300], &mut big);
        assert_eq!(big.len(), record_len(300, 0));
        assert_eq!(header_checksum(&[0x08, 0x05]), None);
        let mut looped = Vec::new();
        encode_record_with_loops(b"again", 300, &mut looped);
        assert_eq!(looped.len(), record_len(5, 300));
        match next_item(&looped, true, 1024) {
            Some(Item::Record { loops, checked, .. }) => assert_eq!((loops, checked), (300, true)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn written_records_are_read_back_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let (mut w, mut r) = open(&q, opts()).unwrap();
        for i in 0..40 {
            w.append(&msg(i), 0).unwrap();
            if i % 3 == 0 {
                w.flush().unwrap();
            }
        }
        w.flush().unwrap();
        assert!(r.wake().try_recv().is_ok());
        let got = read_all(&mut r);
        assert_eq!(got.len(), 40);
        for (i, rec) in got.iter().enumerate() {
            assert_eq!(rec.message, msg(i));
        }
        // 40 records of ~235 bytes do not fit one 1282-byte segment.
        assert!(segments(&q).len() > 5, "{:?}", segments(&q));
        assert!(w.queue_size() > 0);
        // Committing the last record deletes every earlier segment.
        r.commit(got[39].end, 40);
        assert_eq!(segments(&q), [format!("{}.log", got[39].end.file)]);
        assert_eq!(
            fs::read_to_string(q.join(CHECKPOINT_FILE)).unwrap(),
            got[39].end.to_string()
        );
        assert!(read_all(&mut r).is_empty());
    }

    #[test]
    fn a_restart_resumes_at_the_cursor_in_a_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        {
            let (mut w, mut r) = open(&q, opts()).unwrap();
            for i in 0..10 {
                w.append(&msg(i), 0).unwrap();
            }
            w.flush().unwrap();
            let got = read_all(&mut r);
            assert_eq!(got.len(), 10);
            r.commit(got[3].end, 4);
        }
        let (mut w, mut r) = open(&q, opts()).unwrap();
        w.append(&msg(10), 0).unwrap();
        w.flush().unwrap();
        let got: Vec<_> = read_all(&mut r).into_iter().map(|r| r.message).collect();
        let want: Vec<_> = (4..11).map(msg).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_cursor_is_saved_every_cursor_update_count_records() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let o = QueueOptions {
            cursor_update_count: 3,
            max_file_size: 1 << 20,
            ..opts()
        };
        let (mut w, mut r) = open(&q, o).unwrap();
        for i in 0..5 {
            w.append(&msg(i), 0).unwrap();
        }
        w.flush().unwrap();
        let got = read_all(&mut r);
        r.commit(got[0].end, 1);
        r.commit(got[1].end, 1);
        assert!(!q.join(CHECKPOINT_FILE).exists());
        r.commit(got[2].end, 1);
        assert_eq!(
            fs::read_to_string(q.join(CHECKPOINT_FILE)).unwrap(),
            got[2].end.to_string()
        );
        r.commit(got[3].end, 1);
        drop(r);
        assert_eq!(
            fs::read_to_string(q.join(CHECKPOINT_FILE)).unwrap(),
            got[3].end.to_string()
        );
    }

    #[test]
    fn a_full_queue_refuses_until_space_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let o = QueueOptions {
            max_buffer_size: Some(2000),
            max_file_size: 1 << 20,
            ..opts()
        };
        let (mut w, mut r) = open(&q, o).unwrap();
        let mut n = 0;
        loop {
            match w.append(&msg(n), 0) {
                Ok(()) => n += 1,
                Err(QueueError::Full) => break,
                Err(e) => panic!("{e}"),
            }
            w.flush().unwrap();
        }
        assert_eq!(n, 9);
        assert!(w.queue_size() <= 2000);
        let got = read_all(&mut r);
        assert_eq!(got.len(), 9);
        assert_eq!(w.append(&msg(n), 0), Err(QueueError::Full));
        // Everything consumed: the writer starts a new segment and deletes the old one.
        r.commit(got[8].end, 9);
        w.append(&msg(n), 0).unwrap();
        w.flush().unwrap();
        assert_eq!(segments(&q), ["1.log"]);
        let got = read_all(&mut r);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message, msg(9));
        assert_eq!(
            w.append(&[0u8; 1025], 0),
            Err(QueueError::TooBig {
                len: 1025,
                max: 1024
            })
        );
    }

    #[test]
    fn a_torn_tail_and_a_flipped_byte_are_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let o = QueueOptions {
            max_file_size: 1 << 20,
            ..opts()
        };
        let ends = {
            let (mut w, mut r) = open(&q, o).unwrap();
            for i in 0..6 {
                w.append(&msg(i), 0).unwrap();
            }
            w.flush().unwrap();
            let ends: Vec<_> = read_all(&mut r).iter().map(|r| r.end).collect();
            // Nothing committed: the next start reads everything again.
            drop((w, r));
            ends
        };
        let seg = q.join("0.log");
        let mut bytes = fs::read(&seg).unwrap();
        // Flip a byte inside the message of record 2, and tear record 5 in half.
        let flip = ends[1].offset as usize + 30;
        bytes[flip] ^= 0x40;
        let torn = ends[4].offset as usize + 60;
        bytes.truncate(torn);
        fs::write(&seg, &bytes).unwrap();
        let (_w, mut r) = open(&q, o).unwrap();
        let got: Vec<_> = read_all(&mut r).into_iter().map(|r| r.message).collect();
        assert_eq!(got, [msg(0), msg(1), msg(3), msg(4)]);
        assert_eq!(r.corrupt(), 2);
    }

    #[test]
    fn next_item_resynchronises_after_a_damaged_length() {
        let mut buf = Vec::new();
        encode_record(b"first record", &mut buf);
        let second = buf.len();
        encode_record(b"second record", &mut buf);
        encode_record(b"third record", &mut buf);
        // A length byte damaged to claim more than the file holds.
        buf[second + 3] = 0x7f;
        let mut seen = Vec::new();
        let mut rest = &buf[..];
        while let Some(item) = next_item(rest, true, 1024) {
            match item {
                Item::Record { range, message, .. } => {
                    seen.push(String::from_utf8(rest[message].to_vec()).unwrap());
                    rest = &rest[range.end..];
                }
                Item::Corrupt { range, why } => {
                    seen.push(format!("corrupt {} ({why})", range.end));
                    rest = &rest[range.end..];
                }
            }
        }
        assert_eq!(seen[0], "first record");
        assert!(seen[1].starts_with("corrupt 23 "), "{seen:?}");
        assert_eq!(seen[2], "third record");
        assert_eq!(seen.len(), 3);
        // Without eof an incomplete record waits.
        assert_eq!(next_item(&buf[..5], false, 1024), None);
    }

    #[test]
    fn checkpoints_parse_like_heka_and_bad_ones_do_not_stop_the_queue() {
        assert_eq!(
            Position::parse("3 1024"),
            Ok(Position {
                file: 3,
                offset: 1024
            })
        );
        assert!(Position::parse("3").unwrap_err().contains("format"));
        assert!(Position::parse("x 1").unwrap_err().contains("id"));
        assert!(Position::parse("1 -2").unwrap_err().contains("offset"));
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        {
            let (mut w, _r) = open(&q, opts()).unwrap();
            w.append(&msg(0), 0).unwrap();
        }
        fs::write(q.join(CHECKPOINT_FILE), "garbage").unwrap();
        let (_w, mut r) = open(&q, opts()).unwrap();
        assert_eq!(read_all(&mut r).len(), 1);
        assert_eq!(
            queue_dir(Path::new("/b"), "tcp:5565-out"),
            Path::new("/b/output_queue/tcp_5565_out")
        );
        assert!(
            open(
                &dir.path().join("small"),
                QueueOptions {
                    max_file_size: 100,
                    ..opts()
                }
            )
            .is_err()
        );
    }
}
