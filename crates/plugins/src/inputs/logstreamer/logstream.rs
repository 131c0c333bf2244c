//! One logstream being read: its files in order, the open file, the position, and the journal
//! that follows what the outputs have acknowledged.
//!
//! Reading goes through a pipeline [`Stream`] (one splitter and decoder per logstream). After
//! each read the stream has routed every complete record, so the position of the first byte
//! not yet consumed is known at once; it is kept as a checkpoint beside the number of batches
//! routed so far, and becomes the journal's position once every one of those batches is
//! acknowledged. A kill -9 therefore never skips a line; it may repeat the lines after the
//! last save.
//!
//! A file is followed through rotation by its identity (device and inode) rather than Heka's
//! size comparison: at the end of the data, when the journalled path names another file than
//! the open one, the open file has been renamed (or deleted), so the rest of it is read, then
//! reading goes on with the file after it in the logstream's order (or with the new file at
//! the old path). A file that shrank in place was truncated (copytruncate): reading goes on in
//! the copy whose bytes before the position hash as ours, then at the start of the truncated
//! file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use heka_pipeline::plugin::Stream;

use super::files::{FileSet, Logfile};
use super::journal::{self, HASH_WINDOW, Position};

/// How often at most a journal is rewritten while data flows.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Device and inode of a file.
type FileId = (u64, u64);

enum Reader {
    Plain(File),
    Gzip(Box<MultiGzDecoder<BufReader<File>>>),
}

/// An open log file, plain or gzip-compressed (told by its first two bytes, 1F 8B).
struct Source {
    path: PathBuf,
    id: FileId,
    gzip: bool,
    reader: Reader,
}

impl Source {
    fn open(path: &Path) -> std::io::Result<Source> {
        let mut f = File::open(path)?;
        let meta = f.metadata()?;
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match f.read(&mut magic[got..])? {
                0 => break,
                n => got += n,
            }
        }
        f.seek(SeekFrom::Start(0))?;
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        let reader = if gzip {
            Reader::Gzip(Box::new(MultiGzDecoder::new(BufReader::new(f))))
        } else {
            Reader::Plain(f)
        };
        Ok(Source {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
            gzip,
            reader,
        })
    }

    /// Opens `path` positioned at `seek`, returning the (up to [`HASH_WINDOW`]) bytes before
    /// it; `None` when the file holds fewer than `seek` bytes.
    fn open_at(path: &Path, seek: u64) -> std::io::Result<Option<(Source, Vec<u8>)>> {
        let mut src = Source::open(path)?;
        let start = seek.saturating_sub(HASH_WINDOW as u64);
        match &mut src.reader {
            Reader::Plain(f) => {
                if f.metadata()?.len() < seek {
                    return Ok(None);
                }
                f.seek(SeekFrom::Start(start))?;
            }
            Reader::Gzip(z) => {
                let skipped = std::io::copy(&mut z.by_ref().take(start), &mut std::io::sink())?;
                if skipped < start {
                    return Ok(None);
                }
            }
        }
        let mut window = Vec::with_capacity((seek - start) as usize);
        src.by_ref().take(seek - start).read_to_end(&mut window)?;
        if (window.len() as u64) < seek - start {
            return Ok(None);
        }
        Ok(Some((src, window)))
    }

    /// Opens `path` at its end (`initial_tail`), returning the offset and the bytes before it.
    fn open_at_end(path: &Path) -> std::io::Result<(Source, u64, Vec<u8>)> {
        let mut src = Source::open(path)?;
        let mut window = Vec::new();
        let end = match &mut src.reader {
            Reader::Plain(f) => {
                let len = f.metadata()?.len();
                let start = len.saturating_sub(HASH_WINDOW as u64);
                f.seek(SeekFrom::Start(start))?;
                f.by_ref().take(len - start).read_to_end(&mut window)?;
                start + window.len() as u64
            }
            Reader::Gzip(z) => {
                let mut total = 0u64;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = z.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    window.extend_from_slice(&buf[..n]);
                    let excess = window.len().saturating_sub(HASH_WINDOW);
                    window.drain(..excess);
                }
                total
            }
        };
        Ok((src, end, window))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.reader {
            Reader::Plain(f) => f.read(buf),
            Reader::Gzip(z) => z.read(buf),
        }
    }
}

/// Finds where a journalled position is now (Heka's `LocatePriorLocation`): in the journalled
/// file when its bytes before `seek` still hash the same, else in the newest file of the
/// logstream whose bytes do (a file renamed by rotation while hekad was down). `None`: not
/// found. Failing to open the journalled file, to stat a candidate, or permission to open one
/// is an error (the position is kept and tried again later).
fn locate(files: &[Logfile], pos: &Position) -> std::io::Result<Option<(Source, Vec<u8>)>> {
    if pos.file_name.is_empty() {
        return Ok(None);
    }
    let journalled = Path::new(&pos.file_name);
    if files.iter().any(|f| f.path == journalled)
        && let Some((src, window)) = Source::open_at(journalled, pos.seek)?
        && (pos.seek == 0 || journal::hash_before(&window) == pos.last_hash)
    {
        return Ok(Some((src, window)));
    }
    for f in files.iter().rev() {
        std::fs::metadata(&f.path)?;
        match Source::open_at(&f.path, pos.seek) {
            Ok(Some((src, window))) => {
                if pos.seek == 0 || journal::hash_before(&window) == pos.last_hash {
                    return Ok(Some((src, window)));
                }
            }
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(e),
            Err(_) => {}
        }
    }
    Ok(None)
}

/// Settings every logstream of one input shares.
pub(super) struct Settings {
    pub(super) initial_tail: bool,
    pub(super) input: String,
}

/// One logstream. See the module docs.
pub(super) struct Logstream {
    name: String,
    files: Vec<Logfile>,
    stream: Stream,
    source: Option<Source>,
    /// Bytes read from the open file (decompressed bytes for gzip).
    offset: u64,
    /// The last bytes read: at least the [`HASH_WINDOW`] before the stream's incomplete record,
    /// and that record's bytes.
    history: Vec<u8>,
    /// After draining a truncated file's copy, go on at the start of this file.
    then: Option<PathBuf>,
    /// Positions after each read, with the number of batches routed up to them.
    checkpoints: VecDeque<(u64, Position)>,
    /// The newest position whose batches are all acknowledged.
    acked: Position,
    /// What the journal file holds.
    saved: Position,
    last_save: Instant,
    journal: PathBuf,
    /// The journalled position, until it has been located.
    prior: Option<Position>,
    /// Reopen here after a read error.
    reopen: Option<(PathBuf, u64)>,
    /// The last turn ended at the end of the data.
    idle: bool,
}

impl Logstream {
    pub(super) fn new(name: String, mut stream: Stream, journal: PathBuf, prior: Position) -> Self {
        stream.enable_ack();
        stream.set_nonblocking(true);
        Logstream {
            name,
            files: Vec::new(),
            stream,
            source: None,
            offset: 0,
            history: Vec::new(),
            then: None,
            checkpoints: VecDeque::new(),
            acked: prior.clone(),
            saved: prior.clone(),
            last_save: Instant::now(),
            journal,
            prior: Some(prior),
            reopen: None,
            idle: false,
        }
    }

    /// The logstream's name (its Logger and journal file name).
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the file list (Heka keeps the old list when a scan finds no file).
    pub(super) fn set_files(&mut self, files: Vec<Logfile>) {
        if !files.is_empty() {
            self.files = files;
        }
    }

    /// Whether deliveries wait for room in a destination.
    pub(super) fn is_blocked(&self) -> bool {
        self.stream.is_blocked()
    }

    /// Tries again to route what waits for room in a destination, reading nothing.
    pub(super) fn retry(&mut self) {
        if self.stream.is_blocked() {
            self.stream.retry();
        }
    }

    /// Waits up to `timeout` for room for what the logstream holds (see
    /// [`heka_pipeline::runner::stream::Stream::wait_for_room`]).
    pub(super) fn wait_for_room(&mut self, timeout: std::time::Duration) {
        self.stream.wait_for_room(timeout);
    }

    /// Batches routed and not yet acknowledged.
    pub(super) fn outstanding(&mut self) -> u64 {
        self.stream.acks().map_or(0, |a| a.outstanding())
    }

    /// The file being read and the offset reached.
    pub(super) fn reading(&self) -> Option<(&Path, u64)> {
        self.source
            .as_ref()
            .map(|s| (s.path.as_path(), self.offset))
    }

    /// Reads up to `max_reads` chunks; returns whether anything happened (data read, a file
    /// switched), so that the caller polls again at once.
    pub(super) fn turn(
        &mut self,
        set: &FileSet,
        settings: &Settings,
        scratch: &mut [u8],
        max_reads: usize,
    ) -> bool {
        if self.stream.is_blocked() && !self.stream.retry() {
            return false;
        }
        if self.source.is_none() && !self.open_first(settings) {
            return false;
        }
        if self.idle && self.rewritten() {
            // Truncated and written past our offset since the last poll (copytruncate).
            let Some(src) = self.source.as_ref() else {
                return false;
            };
            let (path, id) = (src.path.clone(), src.id);
            let (next, start) = self.after_truncation(set, &path, id);
            self.switch(&next, start);
        }
        self.idle = false;
        for _ in 0..max_reads {
            let Some(src) = self.source.as_mut() else {
                return true;
            };
            match src.read(scratch) {
                Ok(0) => return self.at_eof(set, scratch),
                Ok(n) => {
                    self.push(&scratch[..n]);
                    if self.stream.is_blocked() {
                        return true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.read_failed(e);
                    return true;
                }
            }
        }
        true
    }

    /// Routes freshly read bytes and records the position after them.
    fn push(&mut self, data: &[u8]) {
        self.stream.push_bytes(data);
        self.offset += data.len() as u64;
        let keep = HASH_WINDOW + self.stream.buffered();
        if data.len() >= keep {
            self.history.clear();
            self.history.extend_from_slice(&data[data.len() - keep..]);
        } else {
            self.history.extend_from_slice(data);
            let excess = self.history.len().saturating_sub(keep);
            self.history.drain(..excess);
        }
        self.checkpoint();
    }

    /// The offset of the first byte the stream has not consumed (its incomplete record) and
    /// the hash of the bytes before it.
    fn consumed(&self) -> (u64, String) {
        let buffered = self.stream.buffered().min(self.history.len());
        let done = &self.history[..self.history.len() - buffered];
        (self.offset - buffered as u64, journal::hash_before(done))
    }

    /// Notes the current position as reached once what was routed so far is acknowledged.
    fn checkpoint(&mut self) {
        let Some(src) = &self.source else { return };
        let (seek, last_hash) = self.consumed();
        let pos = Position {
            seek,
            file_name: src.path.to_string_lossy().into_owned(),
            last_hash,
        };
        let issued = self.stream.acks().map_or(0, |a| a.issued());
        match self.checkpoints.back_mut() {
            Some((seq, p)) if *seq == issued => *p = pos,
            _ => self.checkpoints.push_back((issued, pos)),
        }
    }

    /// Opens the file to start with: where the journal says, else the oldest file (or the end
    /// of the newest with `initial_tail`).
    fn open_first(&mut self, settings: &Settings) -> bool {
        if let Some((path, offset)) = self.reopen.clone() {
            match Source::open_at(&path, offset) {
                Ok(Some((src, window))) => {
                    self.reopen = None;
                    self.start(src, offset, window);
                    return true;
                }
                Ok(None) => self.reopen = None,
                Err(e) => {
                    tracing::error!(input = %settings.input, logstream = %self.name, "reopening {}: {e}", path.display());
                    return false;
                }
            }
        }
        if self.files.is_empty() {
            return false;
        }
        if let Some(prior) = self.prior.take() {
            match locate(&self.files, &prior) {
                Ok(Some((src, window))) => {
                    self.start(src, prior.seek, window);
                    return true;
                }
                Ok(None) if prior.is_empty() && settings.initial_tail => {
                    let newest = &self.files[self.files.len() - 1].path;
                    match Source::open_at_end(newest) {
                        Ok((src, end, window)) => {
                            self.start(src, end, window);
                            return true;
                        }
                        Err(e) => {
                            tracing::error!(input = %settings.input, logstream = %self.name, "opening {}: {e}", newest.display());
                            return false;
                        }
                    }
                }
                Ok(None) => {
                    if !prior.is_empty() {
                        tracing::info!(input = %settings.input, logstream = %self.name,
                            "journalled position {}:{} not found; starting at the oldest file", prior.file_name, prior.seek);
                    }
                }
                Err(e) => {
                    tracing::error!(input = %settings.input, logstream = %self.name, "locating the journalled position: {e}");
                    self.prior = Some(prior);
                    return false;
                }
            }
        }
        let oldest = self.files[0].path.clone();
        match Source::open(&oldest) {
            Ok(src) => {
                self.start(src, 0, Vec::new());
                true
            }
            Err(e) => {
                tracing::error!(input = %settings.input, logstream = %self.name, "opening {}: {e}", oldest.display());
                false
            }
        }
    }

    fn start(&mut self, src: Source, offset: u64, window: Vec<u8>) {
        self.source = Some(src);
        self.offset = offset;
        self.history = window;
        self.checkpoint();
    }

    /// End of the data for now: deliver the incomplete tail when configured, then look for a
    /// newer file.
    fn at_eof(&mut self, set: &FileSet, scratch: &mut [u8]) -> bool {
        if self.stream.buffered() > 0 && self.stream.delivers_incomplete_final() {
            // Unlike Heka, the delivered bytes count as consumed in the journal.
            self.stream.finish_source();
            self.checkpoint();
        }
        let Some((next, start)) = self.next_file(set) else {
            self.idle = true;
            return false;
        };
        // Data written to the old file after the last read is read before moving on.
        if let Some(src) = self.source.as_mut()
            && let Ok(n) = src.read(scratch)
            && n > 0
        {
            self.push(&scratch[..n]);
            return true;
        }
        self.switch(&next, start);
        true
    }

    /// The file to go on with, and where in it, once the open file is read to its end.
    fn next_file(&mut self, set: &FileSet) -> Option<(PathBuf, u64)> {
        let src = self.source.as_ref()?;
        let (path, id, gzip) = (src.path.clone(), src.id, src.gzip);
        let at_path = std::fs::metadata(&path).ok();
        if at_path.as_ref().map(|m| (m.dev(), m.ino())) != Some(id) {
            // Rotated: the open file is elsewhere now, or gone.
            let before = self.files.clone();
            self.rescan(set);
            if let Some(i) = self.files.iter().position(|f| f.id == id) {
                let moved_to = self.files[i].path.clone();
                if let Some(src) = self.source.as_mut() {
                    src.path = moved_to;
                }
                return self.files.get(i + 1).map(|f| (f.path.clone(), 0));
            }
            // Gone from the list (deleted, or renamed to a name the input does not match): go
            // on with the first file that followed it and is still there.
            if let Some(j) = before.iter().position(|f| f.id == id) {
                for old in &before[j + 1..] {
                    if let Some(f) = self.files.iter().find(|f| f.id == old.id) {
                        return Some((f.path.clone(), 0));
                    }
                }
            }
            // Else the new file at the old path, once there is one.
            return (at_path.is_some() && self.files.iter().any(|f| f.path == path))
                .then_some((path, 0));
        }
        if let Some(then) = self.then.take() {
            return Some((then, 0));
        }
        if !gzip && at_path.is_some_and(|m| m.len() < self.offset) {
            return Some(self.after_truncation(set, &path, id));
        }
        let i = self
            .files
            .iter()
            .position(|f| f.id == id || f.path == path)?;
        self.files.get(i + 1).map(|f| (f.path.clone(), 0))
    }

    /// Whether the open plain file grew while its bytes before our offset changed: it was
    /// truncated and written again past the offset between two polls.
    fn rewritten(&self) -> bool {
        use std::os::unix::fs::FileExt;
        let Some(Source {
            reader: Reader::Plain(f),
            ..
        }) = &self.source
        else {
            return false;
        };
        let Ok(len) = f.metadata().map(|m| m.len()) else {
            return false;
        };
        if len <= self.offset || self.offset == 0 {
            return false;
        }
        let n = self.history.len().min(HASH_WINDOW) as u64;
        let mut now = vec![0u8; n as usize];
        match f.read_exact_at(&mut now, self.offset - n) {
            Ok(()) => now[..] != self.history[self.history.len() - n as usize..],
            Err(_) => false,
        }
    }

    /// The open file shrank: continue in its copy (copytruncate) if one holds our bytes, then
    /// at the start of the truncated file; else at its start at once.
    fn after_truncation(&mut self, set: &FileSet, path: &Path, id: FileId) -> (PathBuf, u64) {
        self.rescan(set);
        let (consumed, want) = self.consumed();
        for f in self.files.iter().rev() {
            if f.id == id {
                continue;
            }
            if let Ok(Some((_, window))) = Source::open_at(&f.path, consumed)
                && journal::hash_before(&window) == want
            {
                self.then = Some(path.to_path_buf());
                return (f.path.clone(), self.offset);
            }
        }
        (path.to_path_buf(), 0)
    }

    fn rescan(&mut self, set: &FileSet) {
        let mut scan = set.scan();
        if let Some(files) = scan.streams.remove(&self.name) {
            self.set_files(files);
        }
    }

    /// Goes on with `path` at `start`. The old file's incomplete last record is delivered on
    /// its own (Heka joined it to the new file's first bytes).
    fn switch(&mut self, path: &Path, start: u64) {
        if self.stream.buffered() > 0 && start == 0 {
            self.stream.finish_source();
            self.checkpoint();
        }
        match Source::open_at(path, start) {
            Ok(Some((src, window))) => {
                tracing::debug!(logstream = %self.name, "reading {} from {start}", path.display());
                if start == 0 {
                    self.history.clear();
                    self.start(src, 0, window);
                } else {
                    // Draining a copy: the bytes read so far stay as they are.
                    self.source = Some(src);
                    self.checkpoint();
                }
            }
            Ok(None) => {
                tracing::error!(logstream = %self.name, "{} is shorter than {start}", path.display())
            }
            Err(e) => tracing::error!(logstream = %self.name, "opening {}: {e}", path.display()),
        }
    }

    /// A read failed (a corrupt gzip member, an I/O error): go on with the next file when
    /// there is one, else try the same place again at the next poll.
    fn read_failed(&mut self, e: std::io::Error) {
        let Some(src) = self.source.take() else {
            return;
        };
        tracing::error!(logstream = %self.name, "reading {}: {e}", src.path.display());
        let next = self
            .files
            .iter()
            .position(|f| f.path == src.path)
            .and_then(|i| self.files.get(i + 1))
            .map(|f| f.path.clone());
        match next {
            Some(next) => {
                self.source = Some(src);
                self.switch(&next, 0);
            }
            None => self.reopen = Some((src.path, self.offset)),
        }
    }

    /// Takes in acknowledgements and saves the journal when its position moved: at once when
    /// `now` or when the logstream waits for data, else at most every [`SAVE_EVERY`].
    pub(super) fn save_acked(&mut self, now: bool) {
        let done = self.stream.acks().map_or(0, |a| a.poll());
        while let Some((seq, _)) = self.checkpoints.front() {
            if *seq > done {
                break;
            }
            if let Some((_, pos)) = self.checkpoints.pop_front() {
                self.acked = pos;
            }
        }
        if self.acked == self.saved || (!now && !self.idle && self.last_save.elapsed() < SAVE_EVERY)
        {
            return;
        }
        match journal::save(&self.journal, &self.acked) {
            Ok(()) => {
                self.saved = self.acked.clone();
                self.last_save = Instant::now();
            }
            Err(e) => {
                tracing::error!(logstream = %self.name, "saving journal {}: {e}", self.journal.display())
            }
        }
    }
}
