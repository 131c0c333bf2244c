//! The whisper file format, written exactly as Graphite's Python `whisper` module (1.1.10)
//! writes it: for the same archives and the same `whisper.update` calls in the same order, the
//! files are byte-identical.
//!
//! Layout, all numbers big-endian:
//! - metadata, 16 bytes: aggregation type (u32), maximum retention in seconds (u32),
//!   xFilesFactor (f32), number of archives (u32);
//! - one archive info per archive, 12 bytes: offset of the archive from the start of the file
//!   (u32), seconds per point (u32), number of points (u32);
//! - the archives, one after the other: `points` slots of 12 bytes, a timestamp (u32) and a
//!   value (f64). A new file is all zeros after the header.
//!
//! Each archive is a ring. The first point ever written to it goes into its first slot and is
//! its *base*; the point for interval `t` goes into slot `floor((t - base) / step) mod points`.
//! A slot whose timestamp is not the interval looked for holds no value for it.
//!
//! [`Whisper::update`] is Python's `whisper.update(path, value, timestamp)` (`file_update`),
//! which is also what Heka's Go library (`Whisper.Update`) did, point by point:
//! 1. `diff = now - timestamp` must be in `0 .. max_retention` (else the point is refused);
//! 2. the point goes, with its timestamp rounded down to the step, into the first archive in
//!    header order whose retention is at least `diff`;
//! 3. it is propagated to each following archive in turn: the slots of the higher archive that
//!    make up the lower archive's interval are read, and if the share of them holding a value
//!    for their time is at least xFilesFactor, their aggregate is written to the lower archive;
//!    otherwise (or when none holds a value) propagation stops there.
//!
//! Python's `update_many` (several points per call) gives different files and is not used:
//! Heka wrote each point on its own. Where Heka's Go library differed from Python, we follow
//! Python (`docs/differences.md`): Go computed every slot from the first 12 bytes of the file
//! (the header) instead of the archive's first slot, chose the archive with `retention > diff`
//! and compared the known share with xFilesFactor in 32-bit floats. The one place where we
//! read Go's layout is an archive Go wrote whose first slot is still empty ([`Whisper::base`]),
//! a state Python's files never are in.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes of the metadata block.
pub(crate) const METADATA_SIZE: u64 = 16;
/// Bytes of one archive info.
pub(crate) const ARCHIVE_INFO_SIZE: u64 = 12;
/// Bytes of one point.
pub(crate) const POINT_SIZE: u64 = 12;

/// How a lower-precision archive's value is made from the higher archive's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregation {
    /// 1: mean of the known values.
    Average = 1,
    /// 2: sum of the known values.
    Sum = 2,
    /// 3: the last known value.
    Last = 3,
    /// 4: the largest known value.
    Max = 4,
    /// 5: the smallest known value.
    Min = 5,
    /// 6: mean over all slots, unknown ones counting as 0 (Python whisper only).
    AvgZero = 6,
    /// 7: the known value of largest magnitude (Python whisper only).
    AbsMax = 7,
    /// 8: the known value of smallest magnitude (Python whisper only).
    AbsMin = 8,
}

impl Aggregation {
    /// The method stored as `code` in a header, if whisper knows it.
    pub(crate) fn from_code(code: u32) -> Option<Aggregation> {
        Some(match code {
            1 => Aggregation::Average,
            2 => Aggregation::Sum,
            3 => Aggregation::Last,
            4 => Aggregation::Max,
            5 => Aggregation::Min,
            6 => Aggregation::AvgZero,
            7 => Aggregation::AbsMax,
            8 => Aggregation::AbsMin,
            _ => return None,
        })
    }

    /// The code stored in a header.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// Python whisper's name for it (`whisper-create --aggregationMethod`).
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::Sum => "sum",
            Aggregation::Last => "last",
            Aggregation::Max => "max",
            Aggregation::Min => "min",
            Aggregation::AvgZero => "avg_zero",
            Aggregation::AbsMax => "absmax",
            Aggregation::AbsMin => "absmin",
        }
    }

    /// Python whisper's `aggregate`. `known` is never empty; `neighbors` holds every slot of
    /// the interval, `None` where no value is known.
    fn apply(self, known: &[f64], neighbors: &[Option<f64>]) -> f64 {
        // Python's sum(): left to right from 0 (Python 3.12 and later compensate rounding
        // errors; whisper files made there may differ in the last bit of sums and averages).
        let sum = |vs: &mut dyn Iterator<Item = f64>| vs.fold(0.0, |acc, v| acc + v);
        // Python's max()/min(): the first value unless a later one compares greater/less, so
        // a NaN in first place stays and NaNs later are skipped.
        let pick = |better: fn(f64, f64) -> bool| {
            let mut best = known[0];
            for &v in &known[1..] {
                if better(v, best) {
                    best = v;
                }
            }
            best
        };
        match self {
            Aggregation::Average => sum(&mut known.iter().copied()) / known.len() as f64,
            Aggregation::Sum => sum(&mut known.iter().copied()),
            Aggregation::Last => known[known.len() - 1],
            Aggregation::Max => pick(|v, best| v > best),
            Aggregation::Min => pick(|v, best| v < best),
            Aggregation::AvgZero => {
                // `x or 0`: unknown slots and zeros count as 0.
                let mut values = neighbors.iter().map(|v| v.unwrap_or(0.0));
                sum(&mut values) / neighbors.len() as f64
            }
            Aggregation::AbsMax => pick(|v, best| v.abs() > best.abs()),
            Aggregation::AbsMin => pick(|v, best| v.abs() < best.abs()),
        }
    }
}

/// One archive of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArchiveInfo {
    /// Byte offset of its first slot in the file.
    pub(crate) offset: u32,
    /// Seconds covered by one point.
    pub(crate) seconds_per_point: u32,
    /// Number of points.
    pub(crate) points: u32,
}

impl ArchiveInfo {
    /// Seconds covered by the whole archive.
    pub(crate) fn retention(&self) -> i64 {
        i64::from(self.seconds_per_point) * i64::from(self.points)
    }

    fn step(&self) -> i64 {
        i64::from(self.seconds_per_point)
    }

    fn start(&self) -> i64 {
        i64::from(self.offset)
    }

    /// Bytes of the archive.
    fn size(&self) -> i64 {
        i64::from(self.points) * POINT_SIZE as i64
    }

    fn end(&self) -> i64 {
        self.start() + self.size()
    }

    /// Where the point for `interval` goes, given the archive's base interval (`0`: nothing
    /// written yet, so the first slot).
    fn slot(&self, base: i64, interval: i64) -> i64 {
        if base == 0 {
            return self.start();
        }
        let points = (interval - base).div_euclid(self.step());
        self.start() + (points * POINT_SIZE as i64).rem_euclid(self.size())
    }
}

/// A file's header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    /// How values are propagated.
    pub(crate) aggregation: Aggregation,
    /// Oldest age, in seconds, a point may have.
    pub(crate) max_retention: u32,
    /// Share of known values needed to propagate.
    pub(crate) x_files_factor: f32,
    /// The archives, in file order (the order in which updates look for an archive).
    pub(crate) archives: Vec<ArchiveInfo>,
}

impl Header {
    /// The header `whisper.create` writes for these `(seconds per point, points)` archives, in
    /// this order: archives laid out one after the other, the maximum retention the largest
    /// of theirs. Fails when a number does not fit the format's 32 bits.
    pub(crate) fn new(
        archives: &[(u32, u32)],
        x_files_factor: f32,
        aggregation: Aggregation,
    ) -> Result<Header, String> {
        let mut offset =
            METADATA_SIZE + ARCHIVE_INFO_SIZE * u64::try_from(archives.len()).unwrap_or(u64::MAX);
        let mut infos = Vec::with_capacity(archives.len());
        let mut max_retention = 0u64;
        for &(seconds_per_point, points) in archives {
            let retention = u64::from(seconds_per_point) * u64::from(points);
            if retention > u64::from(u32::MAX) {
                return Err(format!(
                    "an archive of {points} points of {seconds_per_point} s covers more than \
                     2^32 seconds"
                ));
            }
            max_retention = max_retention.max(retention);
            infos.push(ArchiveInfo {
                offset: u32::try_from(offset)
                    .map_err(|_| "the archives make a file larger than 4 GiB".to_string())?,
                seconds_per_point,
                points,
            });
            offset += u64::from(points) * POINT_SIZE;
        }
        u32::try_from(offset).map_err(|_| "the archives make a file larger than 4 GiB")?;
        Ok(Header {
            aggregation,
            max_retention: max_retention as u32,
            x_files_factor,
            archives: infos,
        })
    }

    /// Size of the header in bytes.
    fn size(&self) -> u64 {
        METADATA_SIZE + ARCHIVE_INFO_SIZE * self.archives.len() as u64
    }

    /// Size of the whole file in bytes.
    pub(crate) fn file_size(&self) -> u64 {
        self.archives
            .last()
            .map_or(self.size(), |a| u64::from(a.offset) + a.size() as u64)
    }

    /// The header's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size() as usize);
        out.extend_from_slice(&self.aggregation.code().to_be_bytes());
        out.extend_from_slice(&self.max_retention.to_be_bytes());
        out.extend_from_slice(&self.x_files_factor.to_be_bytes());
        out.extend_from_slice(&(self.archives.len() as u32).to_be_bytes());
        for a in &self.archives {
            out.extend_from_slice(&a.offset.to_be_bytes());
            out.extend_from_slice(&a.seconds_per_point.to_be_bytes());
            out.extend_from_slice(&a.points.to_be_bytes());
        }
        out
    }

    /// Reads and checks the header of a file of `len` bytes. Python refuses an unknown
    /// aggregation type and an xFilesFactor outside 0..=1; we also refuse what would make an
    /// update divide by zero or leave the file (no archive, an archive without points or
    /// seconds, an archive past the end of the file).
    fn read(storage: &impl Storage) -> Result<Header, WhisperError> {
        let len = storage.len()?;
        let mut meta = [0u8; METADATA_SIZE as usize];
        read_or(storage, &mut meta, 0, "unable to read header")?;
        let word = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let code = word(&meta, 0);
        let aggregation = Aggregation::from_code(code)
            .ok_or_else(|| WhisperError::Corrupt(format!("unknown aggregation type {code}")))?;
        let max_retention = word(&meta, 4);
        let x_files_factor = f32::from_bits(word(&meta, 8));
        if !(0.0..=1.0).contains(&x_files_factor) {
            return Err(WhisperError::Corrupt(format!(
                "xFilesFactor {x_files_factor} is not between 0 and 1"
            )));
        }
        let count = word(&meta, 12);
        if count == 0 {
            return Err(WhisperError::Corrupt("no archives".into()));
        }
        let infos_len = u64::from(count) * ARCHIVE_INFO_SIZE;
        if METADATA_SIZE + infos_len > len {
            return Err(WhisperError::Corrupt(format!(
                "{count} archives do not fit in {len} bytes"
            )));
        }
        let mut raw = vec![0u8; infos_len as usize];
        read_or(
            storage,
            &mut raw,
            METADATA_SIZE,
            "unable to read archive metadata",
        )?;
        let mut archives = Vec::with_capacity(count as usize);
        for (i, b) in raw.chunks_exact(ARCHIVE_INFO_SIZE as usize).enumerate() {
            let a = ArchiveInfo {
                offset: word(b, 0),
                seconds_per_point: word(b, 4),
                points: word(b, 8),
            };
            if a.seconds_per_point == 0 || a.points == 0 {
                return Err(WhisperError::Corrupt(format!(
                    "archive {i} has {} points of {} seconds",
                    a.points, a.seconds_per_point
                )));
            }
            if a.end() as u64 > len {
                return Err(WhisperError::Corrupt(format!(
                    "archive {i} ends at byte {}, past the end of the file ({len} bytes)",
                    a.end()
                )));
            }
            archives.push(a);
        }
        Ok(Header {
            aggregation,
            max_retention,
            x_files_factor,
            archives,
        })
    }
}

/// Why an update (or opening a file) failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WhisperError {
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file is not a whisper file we can update.
    #[error("corrupt whisper file: {0}")]
    Corrupt(String),
    /// Heka compat: the Go library's text for a point at least `max_retention` old.
    #[error("point is older than the maximum retention period")]
    TooOld,
    /// A point with a timestamp after now (Heka's Go library said "older than the maximum
    /// retention period" here too: its age wrapped around in unsigned arithmetic).
    #[error("point is in the future")]
    Future,
}

/// Positioned reads and writes: a file, or a buffer in tests.
pub(crate) trait Storage {
    /// Fills `buf` from `offset`; fails with `UnexpectedEof` past the end.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Current length in bytes.
    fn len(&self) -> io::Result<u64>;
}

impl Storage for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }

    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

#[cfg(test)]
impl Storage for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = self
            .get(start..)
            .and_then(|s| s.get(..buf.len()))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let start = offset as usize;
        if self.len() < start + buf.len() {
            self.resize(start + buf.len(), 0);
        }
        self[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }
}

/// Reads `buf` at `offset`; a short file is a corrupt one (Python's `struct.error`).
fn read_or(
    storage: &impl Storage,
    buf: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<(), WhisperError> {
    storage.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            WhisperError::Corrupt(what.to_string())
        } else {
            WhisperError::Io(e)
        }
    })
}

fn pack_point(interval: i64, value: f64) -> [u8; POINT_SIZE as usize] {
    let mut b = [0u8; POINT_SIZE as usize];
    // Intervals are rounded-down 32-bit timestamps: they fit.
    b[..4].copy_from_slice(&(interval as u32).to_be_bytes());
    b[4..].copy_from_slice(&value.to_be_bytes());
    b
}

fn unpack_point(b: &[u8]) -> (i64, f64) {
    let t = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[4..12]);
    (i64::from(t), f64::from_be_bytes(v))
}

/// An open whisper file.
#[derive(Debug)]
pub(crate) struct Whisper<S> {
    header: Header,
    storage: S,
    /// Per archive, once looked for: the base implied by points Heka's Go library wrote into
    /// an archive whose first slot it left empty (see [`Whisper::base`]).
    heka_bases: Vec<Option<Option<i64>>>,
}

impl<S: Storage> Whisper<S> {
    /// Writes a new file into empty `storage`: the header, then zeros for every archive
    /// (Python writes them in 16 KiB chunks; the bytes are the same).
    pub(crate) fn create(mut storage: S, header: Header) -> io::Result<Whisper<S>> {
        let head = header.encode();
        storage.write_all_at(&head, 0)?;
        let zeros = [0u8; 16384];
        let mut at = head.len() as u64;
        let end = header.file_size();
        while at < end {
            let n = (end - at).min(zeros.len() as u64);
            storage.write_all_at(&zeros[..n as usize], at)?;
            at += n;
        }
        Ok(Whisper::new(header, storage))
    }

    /// Reads the header of an existing file.
    pub(crate) fn open(storage: S) -> Result<Whisper<S>, WhisperError> {
        let header = Header::read(&storage)?;
        Ok(Whisper::new(header, storage))
    }

    fn new(header: Header, storage: S) -> Whisper<S> {
        Whisper {
            heka_bases: vec![None; header.archives.len()],
            header,
            storage,
        }
    }

    /// The file's header.
    #[cfg(test)]
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    /// The storage (tests read the bytes back).
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> S {
        self.storage
    }

    fn read_point(&self, offset: i64) -> Result<(i64, f64), WhisperError> {
        let mut b = [0u8; POINT_SIZE as usize];
        read_or(
            &self.storage,
            &mut b,
            offset as u64,
            "unable to read base datapoint",
        )?;
        Ok(unpack_point(&b))
    }

    /// The base interval of archive `index`: the timestamp in its first slot, 0 when that is
    /// empty (the next point written goes there).
    ///
    /// Heka compat: Heka's Go library placed points relative to the file's first bytes, so an
    /// archive it wrote can hold points with its first slot still empty. Python (and Graphite)
    /// would put the next point into that slot and misplace every later one; here the base is
    /// taken from where Heka put its points, so such files go on as Heka laid them out (and
    /// read right in Graphite once the first slot is filled). An archive whose first slot is
    /// empty is looked at once: Python's files never have points in other slots then.
    fn base(&mut self, index: usize) -> Result<i64, WhisperError> {
        let archive = self.header.archives[index];
        let (base, _) = self.read_point(archive.start())?;
        if base != 0 {
            return Ok(base);
        }
        if let Some(found) = self.heka_bases[index] {
            return Ok(found.unwrap_or(0));
        }
        let mut ring = vec![0u8; archive.size() as usize];
        read_or(
            &self.storage,
            &mut ring,
            archive.offset.into(),
            "unable to read datapoints",
        )?;
        let found = ring
            .chunks_exact(POINT_SIZE as usize)
            .enumerate()
            .map(|(slot, p)| (slot as i64, unpack_point(p).0))
            .find(|&(_, t)| t != 0)
            .map(|(slot, t)| t - slot * archive.step())
            .filter(|&b| b > 0);
        self.heka_bases[index] = Some(found);
        Ok(found.unwrap_or(0))
    }

    fn write_point(&mut self, offset: i64, interval: i64, value: f64) -> io::Result<()> {
        self.storage
            .write_all_at(&pack_point(interval, value), offset as u64)
    }

    /// Python's `whisper.update(path, value, timestamp, now)`: stores `value` for `timestamp`
    /// and propagates it to the lower-precision archives.
    pub(crate) fn update(
        &mut self,
        value: f64,
        timestamp: u32,
        now: i64,
    ) -> Result<(), WhisperError> {
        let timestamp = i64::from(timestamp);
        let diff = now - timestamp;
        if diff < 0 {
            return Err(WhisperError::Future);
        }
        if diff >= i64::from(self.header.max_retention) {
            return Err(WhisperError::TooOld);
        }
        let Some(index) = self
            .header
            .archives
            .iter()
            .position(|a| a.retention() >= diff)
        else {
            // Only a header whose max retention exceeds every archive's gets here (Python
            // failed with a NameError).
            return Err(WhisperError::TooOld);
        };
        let archive = self.header.archives[index];
        let interval = timestamp - timestamp % archive.step();
        let base = self.base(index)?;
        self.write_point(archive.slot(base, interval), interval, value)?;

        for lower in index + 1..self.header.archives.len() {
            if !self.propagate(interval, lower - 1, lower)? {
                break;
            }
        }
        Ok(())
    }

    /// Python's `__propagate`: aggregates the slots of archive `higher_index` that make up the
    /// interval of archive `lower_index` holding `timestamp` into the latter, if enough of them
    /// are known. Returns whether it wrote.
    fn propagate(
        &mut self,
        timestamp: i64,
        higher_index: usize,
        lower_index: usize,
    ) -> Result<bool, WhisperError> {
        let (higher, lower) = (
            self.header.archives[higher_index],
            self.header.archives[lower_index],
        );
        let lower_interval_start = timestamp - timestamp % lower.step();
        let higher_base = self.base(higher_index)?;
        let first = higher.slot(higher_base, lower_interval_start);
        // The higher slots of one lower interval (none when `lower` is the more precise: then,
        // as in Python, the read below takes the whole ring).
        let span = lower.step() / higher.step() * POINT_SIZE as i64;
        let last = higher.start() + (first - higher.start() + span) % higher.size();
        let mut series = Vec::new();
        if first < last {
            series.resize((last - first) as usize, 0);
            read_or(
                &self.storage,
                &mut series,
                first as u64,
                "unable to read datapoints",
            )?;
        } else {
            // The interval wraps around the end of the ring.
            let tail = (higher.end() - first) as usize;
            series.resize(tail + (last - higher.start()) as usize, 0);
            let (a, b) = series.split_at_mut(tail);
            read_or(&self.storage, a, first as u64, "unable to read datapoints")?;
            read_or(
                &self.storage,
                b,
                higher.start() as u64,
                "unable to read datapoints",
            )?;
        }

        let mut neighbors = Vec::with_capacity(series.len() / POINT_SIZE as usize);
        let mut expected = lower_interval_start;
        for p in series.chunks_exact(POINT_SIZE as usize) {
            let (t, v) = unpack_point(p);
            neighbors.push((t == expected).then_some(v));
            expected += higher.step();
        }
        let known: Vec<f64> = neighbors.iter().flatten().copied().collect();
        if known.is_empty() {
            return Ok(false);
        }
        let known_share = known.len() as f64 / neighbors.len() as f64;
        if known_share < f64::from(self.header.x_files_factor) {
            return Ok(false);
        }
        let value = self.header.aggregation.apply(&known, &neighbors);
        let lower_base = self.base(lower_index)?;
        self.write_point(
            lower.slot(lower_base, lower_interval_start),
            lower_interval_start,
            value,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(archives: &[(u32, u32)], xff: f32, aggregation: Aggregation) -> Header {
        Header::new(archives, xff, aggregation).unwrap()
    }

    fn new_db(archives: &[(u32, u32)], xff: f32, aggregation: Aggregation) -> Whisper<Vec<u8>> {
        Whisper::create(Vec::new(), header(archives, xff, aggregation)).unwrap()
    }

    /// The point stored in `slot` of archive `archive`.
    fn point(db: &Whisper<Vec<u8>>, archive: usize, slot: i64) -> (i64, f64) {
        let a = db.header.archives[archive];
        db.read_point(a.start() + slot * POINT_SIZE as i64).unwrap()
    }

    #[test]
    fn header_bytes_of_hekas_default_archives() {
        let h = header(
            &[(60, 1440), (900, 8), (3600, 168), (43200, 1456)],
            0.1,
            Aggregation::Average,
        );
        let bytes = h.encode();
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|w| u32::from_be_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(
            words,
            [
                1,
                62_899_200,
                0x3dcc_cccd,
                4, // metadata: xFilesFactor 0.1 as f32
                64,
                60,
                1440, // 64 = 16 + 4 × 12
                17_344,
                900,
                8, // 64 + 1440 × 12
                17_440,
                3600,
                168, //
                19_456,
                43200,
                1456,
            ]
        );
        assert_eq!(h.file_size(), 36_928);
        let db = Whisper::create(Vec::new(), h.clone()).unwrap();
        let bytes = db.into_inner();
        assert_eq!(bytes.len(), 36_928);
        assert!(bytes[64..].iter().all(|&b| b == 0));
        let back = Whisper::open(bytes).unwrap();
        assert_eq!(back.header(), &h);
    }

    #[test]
    fn header_limits() {
        assert!(Header::new(&[(1 << 16, 1 << 16)], 0.5, Aggregation::Sum).is_err());
        assert!(Header::new(&[(1, 400_000_000)], 0.5, Aggregation::Sum).is_err());
        assert!(Header::new(&[(1, 300_000_000)], 0.5, Aggregation::Sum).is_ok());
    }

    #[test]
    fn corrupt_headers_are_refused() {
        let good = new_db(&[(10, 6), (60, 10)], 0.5, Aggregation::Max).into_inner();
        let with = |at: usize, word: u32| {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&word.to_be_bytes());
            b
        };
        let corrupt = |b: Vec<u8>| match Whisper::open(b) {
            Err(WhisperError::Corrupt(e)) => e,
            other => panic!("expected a corrupt file, got {other:?}"),
        };
        assert_eq!(corrupt(good[..10].to_vec()), "unable to read header");
        assert_eq!(corrupt(with(0, 0)), "unknown aggregation type 0");
        assert_eq!(corrupt(with(0, 9)), "unknown aggregation type 9");
        assert!(corrupt(with(8, 1.5f32.to_bits())).contains("xFilesFactor 1.5"));
        assert!(corrupt(with(8, f32::NAN.to_bits())).contains("xFilesFactor NaN"));
        assert_eq!(corrupt(with(12, 0)), "no archives");
        assert!(corrupt(with(12, 1000)).contains("1000 archives do not fit"));
        assert!(corrupt(with(16 + 4, 0)).contains("archive 0 has 6 points of 0 seconds"));
        assert!(corrupt(with(28 + 8, 0)).contains("archive 1 has 0 points"));
        assert!(corrupt(with(28 + 8, 11)).contains("archive 1 ends at byte"));
        assert!(corrupt(good[..good.len() - 1].to_vec()).contains("past the end"));
        // Every aggregation type Python knows is accepted.
        for code in 1..=8 {
            assert!(Whisper::open(with(0, code)).is_ok());
        }
    }

    #[test]
    fn first_point_is_the_base_and_others_wrap_around_it() {
        let mut db = new_db(&[(10, 6)], 0.5, Aggregation::Average);
        let now = 1_000_000;
        db.update(1.0, 999_985, now).unwrap(); // interval 999_980 → slot 0, the base
        assert_eq!(point(&db, 0, 0), (999_980, 1.0));
        db.update(2.0, 999_999, now).unwrap(); // 999_990: one step after the base
        assert_eq!(point(&db, 0, 1), (999_990, 2.0));
        db.update(3.0, 999_950, now).unwrap(); // three steps before the base: slot -3 mod 6
        assert_eq!(point(&db, 0, 3), (999_950, 3.0));
        db.update(4.0, 999_989, now).unwrap(); // same interval as the base: overwritten
        assert_eq!(point(&db, 0, 0), (999_980, 4.0));
    }

    #[test]
    fn retention_limits_and_archive_choice() {
        let mut db = new_db(&[(10, 6), (60, 10)], 0.0, Aggregation::Last);
        let now = 1_000_000;
        assert!(matches!(
            db.update(1.0, 1_000_001, now),
            Err(WhisperError::Future)
        ));
        assert!(matches!(
            db.update(1.0, 999_400, now),
            Err(WhisperError::TooOld)
        ));
        // diff == 60 == the first archive's retention: it still takes the point.
        db.update(5.0, 999_940, now).unwrap();
        assert_eq!(point(&db, 0, 0), (999_940, 5.0));
        // diff 61: the second archive, nothing in the first.
        db.update(6.0, 999_939, now).unwrap();
        assert_eq!(point(&db, 0, 1), (0, 0.0));
        // 999_939 → interval 999_900 of the 60 s archive; the first propagation wrote its
        // base there already (999_940 → 999_900), so it is overwritten in place.
        assert_eq!(point(&db, 1, 0), (999_900, 6.0));
        // diff 0 is accepted.
        db.update(7.0, 1_000_000, now).unwrap();
    }

    #[test]
    fn propagation_needs_the_known_share() {
        // 6 slots of 10 s make a 60 s point.
        let mut db = new_db(&[(10, 12), (60, 10)], 0.5, Aggregation::Sum);
        let now = 1_000_000;
        for (i, t) in [999_900, 999_910].iter().enumerate() {
            db.update(i as f64 + 1.0, *t, now).unwrap();
        }
        // 2 of 6 known: < 0.5, nothing propagated.
        assert_eq!(point(&db, 1, 0), (0, 0.0));
        db.update(10.0, 999_920, now).unwrap();
        // 3 of 6: exactly 0.5, propagated.
        assert_eq!(point(&db, 1, 0), (999_900, 13.0));
        // A slot of another interval is not a known value for this one.
        db.update(100.0, 999_960, now).unwrap(); // interval 999_960 of the next minute
        assert_eq!(point(&db, 1, 0), (999_900, 13.0));
    }

    #[test]
    fn x_files_factor_compares_in_double_precision() {
        // 1 of 10 known: 0.1 (double) < 0.1f32 widened (0.10000000149…), so Python does not
        // propagate; Heka's Go library, comparing in float32, did.
        let mut db = new_db(&[(1, 20), (10, 10)], 0.1, Aggregation::Average);
        db.update(1.0, 999_990, 1_000_000).unwrap();
        assert_eq!(point(&db, 1, 0), (0, 0.0));
        db.update(2.0, 999_991, 1_000_000).unwrap();
        assert_eq!(point(&db, 1, 0), (999_990, 1.5));
    }

    #[test]
    fn aggregation_methods_follow_python() {
        let known = [3.0, -7.0, 5.0, -1.0];
        let neighbors = [Some(3.0), None, Some(-7.0), Some(5.0), Some(-1.0), None];
        let cases = [
            (Aggregation::Average, 0.0),
            (Aggregation::Sum, 0.0),
            (Aggregation::Last, -1.0),
            (Aggregation::Max, 5.0),
            (Aggregation::Min, -7.0),
            (Aggregation::AvgZero, 0.0),
            (Aggregation::AbsMax, -7.0),
            (Aggregation::AbsMin, -1.0),
        ];
        for (m, want) in cases {
            assert_eq!(m.apply(&known, &neighbors), want, "{}", m.name());
        }
        // Left-to-right sums, as Python up to 3.11 (and Go) add.
        let known = [0.1, 0.2, 0.3];
        assert_eq!(Aggregation::Sum.apply(&known, &[]), 0.600_000_000_000_000_1);
        assert_eq!(
            Aggregation::Average.apply(&known, &[]),
            0.600_000_000_000_000_1 / 3.0
        );
        // max()/min() keep a leading NaN and skip later ones.
        let nan_first = [f64::NAN, 1.0, 2.0];
        assert!(Aggregation::Max.apply(&nan_first, &[]).is_nan());
        assert_eq!(Aggregation::Max.apply(&[1.0, f64::NAN, 2.0], &[]), 2.0);
        assert_eq!(Aggregation::Min.apply(&[1.0, f64::NAN, 0.5], &[]), 0.5);
        // Ties keep the first value.
        assert_eq!(
            Aggregation::AbsMax.apply(&[-2.0, 2.0], &[]).to_bits(),
            (-2.0f64).to_bits()
        );
        // A NaN counts in avg_zero (`nan or 0` is NaN), a zero is 0.
        assert!(
            Aggregation::AvgZero
                .apply(&[f64::NAN], &[Some(f64::NAN), None])
                .is_nan()
        );
        for code in 1..=8 {
            assert_eq!(
                Aggregation::from_code(code).map(Aggregation::code),
                Some(code)
            );
        }
        assert_eq!(Aggregation::from_code(0), None);
        assert_eq!(Aggregation::from_code(9), None);
    }

    #[test]
    fn files_heka_wrote_go_on_in_hekas_layout() {
        // Heka's Go library put interval t of a 60 s archive of 10 points into slot
        // floor((t - 1) / 60) mod 10 (1: the aggregation code it read as a base), leaving slot 0
        // empty until an interval landed there.
        let header = header(&[(60, 10), (300, 12)], 0.5, Aggregation::Average);
        let mut bytes = Whisper::create(Vec::new(), header.clone())
            .unwrap()
            .into_inner();
        let go_slot = |t: i64| ((t - 1) / 60).rem_euclid(10);
        let start = i64::from(header.archives[0].offset);
        let now = 1_000_200;
        // 999_900 … 1_000_080: the 300 s interval 999_900 (5 minutes), slots 4…7.
        for (t, v) in [(999_900, 1.0), (999_960, 2.0), (1_000_020, 3.0)] {
            let at = start + go_slot(t) * 12;
            bytes.write_all_at(&pack_point(t, v), at as u64).unwrap();
        }
        let mut db = Whisper::open(bytes).unwrap();
        db.update(6.0, 1_000_085, now).unwrap(); // interval 1_000_080
        assert_eq!(point(&db, 0, go_slot(1_000_080)), (1_000_080, 6.0));
        assert_eq!(point(&db, 0, 0), (0, 0.0), "the first slot stays empty");
        // Heka's points counted: 4 of 5 known, average 3; the empty 300 s archive starts at
        // its first slot, as Python starts one.
        assert_eq!(point(&db, 1, 0), (999_900, 3.0));
        // A file reopened finds the same layout.
        let mut db = Whisper::open(db.into_inner()).unwrap();
        // 1_000_260: slot 0 in Heka's layout.
        db.update(7.0, 1_000_260, now + 120).unwrap();
        assert_eq!(go_slot(1_000_260), 0);
        assert_eq!(point(&db, 0, 0), (1_000_260, 7.0));
        assert_eq!(point(&db, 0, go_slot(1_000_080)), (1_000_080, 6.0));
    }

    /// Files are outside bytes: whatever a header says (archives out of order, overlapping,
    /// inside the header, one point long), opening and updating never panics and never writes
    /// outside the file.
    #[test]
    fn any_header_is_safe_to_update() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut opened = 0;
        for _ in 0..3000 {
            let count = rng.u32(1..5);
            let len = rng.u64(16 + 12 * u64::from(count)..600);
            let mut bytes = vec![0u8; len as usize];
            rng.fill(&mut bytes);
            let mut head = Vec::new();
            head.extend_from_slice(&rng.u32(1..=8).to_be_bytes());
            head.extend_from_slice(&rng.u32(..2000).to_be_bytes());
            head.extend_from_slice(&(rng.f32()).to_be_bytes());
            head.extend_from_slice(&count.to_be_bytes());
            for _ in 0..count {
                head.extend_from_slice(&rng.u32(..len as u32).to_be_bytes());
                head.extend_from_slice(&rng.u32(1..100).to_be_bytes());
                head.extend_from_slice(&rng.u32(1..20).to_be_bytes());
            }
            bytes[..head.len()].copy_from_slice(&head);
            let Ok(mut db) = Whisper::open(bytes) else {
                continue;
            };
            opened += 1;
            let now = 1_000_000 + rng.i64(..100);
            for _ in 0..20 {
                let t = 1_000_000 - rng.u32(..2100) + 50;
                let _ = db.update(rng.f64() * 100.0, t, now);
            }
            assert_eq!(db.into_inner().len() as u64, len);
        }
        assert!(opened > 500, "only {opened} headers were usable");
    }

    /// One case of `testdata/whisper/cases.txt`.
    struct Case {
        name: String,
        archives: Vec<(u32, u32)>,
        aggregation: Aggregation,
        x_files_factor: f32,
        /// `(now, timestamp, value text, refused)`.
        updates: Vec<(i64, u32, String, bool)>,
    }

    fn testdata() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/whisper")
    }

    fn cases() -> Vec<Case> {
        let text = std::fs::read_to_string(testdata().join("cases.txt")).unwrap();
        let mut cases = Vec::new();
        let mut now = 0;
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [c, ..] if c.starts_with('#') => {}
                ["case", name] => cases.push(Case {
                    name: name.to_string(),
                    archives: Vec::new(),
                    aggregation: Aggregation::Average,
                    x_files_factor: 0.5,
                    updates: Vec::new(),
                }),
                ["archives", list @ ..] => {
                    let case = cases.last_mut().unwrap();
                    case.archives = list
                        .iter()
                        .map(|a| {
                            let (s, p) = a.split_once(':').unwrap();
                            (s.parse().unwrap(), p.parse().unwrap())
                        })
                        .collect();
                }
                ["aggregation", name] => {
                    let m = (1..=8)
                        .filter_map(Aggregation::from_code)
                        .find(|m| m.name() == *name)
                        .unwrap();
                    cases.last_mut().unwrap().aggregation = m;
                }
                ["xff", v] => cases.last_mut().unwrap().x_files_factor = v.parse().unwrap(),
                ["now", v] => now = v.parse().unwrap(),
                ["update", t, v, rest @ ..] => cases.last_mut().unwrap().updates.push((
                    now,
                    t.parse().unwrap(),
                    v.to_string(),
                    rest == ["refused"],
                )),
                _ => panic!("bad line in cases.txt: {line}"),
            }
        }
        cases
    }

    /// Every case of `testdata/whisper/cases.txt` gives the file Python's whisper made for it
    /// (`scripts/whisper-testdata.py`), byte for byte, and refuses the same updates.
    #[test]
    fn files_are_byte_identical_to_pythons() {
        let cases = cases();
        assert!(cases.len() >= 8, "{} cases", cases.len());
        for case in cases {
            let h = Header::new(&case.archives, case.x_files_factor, case.aggregation).unwrap();
            let mut db = Whisper::create(Vec::new(), h).unwrap();
            for (now, t, v, refused) in &case.updates {
                let value: f64 = v.parse().unwrap();
                let r = db.update(value, *t, *now);
                assert_eq!(
                    r.is_err(),
                    *refused,
                    "{}: update {t} {v} at {now}: {r:?}",
                    case.name
                );
            }
            let want = std::fs::read(testdata().join(format!("{}.wsp", case.name))).unwrap();
            let got = db.into_inner();
            assert_eq!(got.len(), want.len(), "{}", case.name);
            if let Some(at) = got.iter().zip(&want).position(|(a, b)| a != b) {
                panic!(
                    "{}: first difference at byte {at}: {:02x?} vs Python's {:02x?}",
                    case.name,
                    &got[at..(at + 12).min(got.len())],
                    &want[at..(at + 12).min(want.len())]
                );
            }
        }
    }
}
