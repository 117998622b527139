//! Wire format of the "connect" group protocol type, byte-identical to Kafka's `ConnectProtocol` (V0, "default") and
//! `IncrementalCooperativeConnectProtocol` (V1 "compatible", V2 "sessioned"): JoinGroup member metadata and SyncGroup
//! assignments, so that Rust and Java workers can share a group.
//! Decoding reads bytes from other processes: it must never panic nor allocate on the word of a length field; any
//! malformed input is a `ProtocolError`.
//!
//! # Layout notes
//!
//! All integers are big-endian. `STRING` is an int16 length plus UTF-8, `NULLABLE_BYTES` an int32 length (-1 for null)
//! plus bytes, `ARRAY` an int32 count (-1 for null where nullable) plus the elements.
//!
//! Decisions where Java leaves freedom (documented at each place):
//! - connector entries are written sorted by connector name, and inside an entry the connector instance (-1) comes
//!   first, then task ids ascending. Java iterates a `HashSet`/`LinkedHashMap`, so its order is unspecified; readers
//!   (Java's and ours) do not depend on it;
//! - an empty assignment or revoked list is written as an empty array (count 0), never as null, exactly as Java's
//!   `ExtendedAssignment.toStruct` does. Null only appears for the whole allocation inside member metadata, when the
//!   worker has never received an assignment (Java's `ExtendedAssignment.empty()`).

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::worker::status::TaskId;

/// The group protocol type Connect workers join with (`WorkerCoordinator.protocolType()`).
pub const PROTOCOL_TYPE: &str = "connect";

/// The task id that stands for the connector instance itself inside a connector entry (`CONNECTOR_TASK`).
pub const CONNECTOR_TASK: i32 = -1;

/// The sub-protocols of the "connect" protocol type (Java's `ConnectProtocolCompatibility`).
///
/// Each value is both a `connect.protocol` config mode and the protocol a group may select; see
/// [`ConnectProtocol::advertised`] for how one maps to the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectProtocol {
    /// Protocol "default", version 0: stop everything and get a full assignment on every rebalance.
    Eager,
    /// Protocol "compatible", version 1: incremental cooperative rebalancing (KIP-415).
    Compatible,
    /// Protocol "sessioned", version 2: as V1, plus internal REST request signing (KIP-507).
    Sessioned,
}

impl ConnectProtocol {
    /// Every protocol, most capable first.
    pub const ALL: [ConnectProtocol; 3] =
        [ConnectProtocol::Sessioned, ConnectProtocol::Compatible, ConnectProtocol::Eager];

    /// The protocol name used in JoinGroup: "default", "compatible" or "sessioned".
    pub const fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The protocol whose JoinGroup name is `name` (the coordinator's pick), ignoring case as Java's
    /// `ConnectProtocolCompatibility.fromProtocol` does.
    pub fn from_name(name: &str) -> Result<Self, ProtocolError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ProtocolError::UnknownProtocolName(name.to_owned()))
    }

    /// The version number written at the head of metadata and assignments: 0, 1 or 2.
    pub const fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// The protocol of version `version`, if it is one of 0, 1, 2.
    pub const fn from_version(version: i16) -> Option<Self> {
        match version {
            0 => Some(ConnectProtocol::Eager),
            1 => Some(ConnectProtocol::Compatible),
            2 => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The `connect.protocol` config value selecting this mode: "eager", "compatible" or "sessioned".
    pub const fn config_value(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "eager",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// Parses a `connect.protocol` config value, ignoring case and surrounding blanks (Java: `compatibility`).
    pub fn from_config(value: &str) -> Result<Self, ProtocolError> {
        let trimmed = value.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.config_value().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| ProtocolError::UnknownCompatibilityMode(value.to_owned()))
    }

    /// The protocols a worker configured with this mode advertises in JoinGroup, in order of preference
    /// (`metadataRequest`): sessioned -> `[sessioned, compatible, default]`, compatible -> `[compatible, default]`,
    /// eager -> `[default]`. The coordinator picks one every member supports, so one eager worker downgrades the group.
    pub const fn advertised(self) -> &'static [ConnectProtocol] {
        match self {
            ConnectProtocol::Sessioned => {
                &[ConnectProtocol::Sessioned, ConnectProtocol::Compatible, ConnectProtocol::Eager]
            }
            ConnectProtocol::Compatible => &[ConnectProtocol::Compatible, ConnectProtocol::Eager],
            ConnectProtocol::Eager => &[ConnectProtocol::Eager],
        }
    }

    /// Whether this protocol rebalances incrementally (V1 and V2).
    pub const fn is_incremental(self) -> bool {
        !matches!(self, ConnectProtocol::Eager)
    }
}

impl fmt::Display for ConnectProtocol {
    /// Shows the config value, like Java's `ConnectProtocolCompatibility.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_value())
    }
}

impl FromStr for ConnectProtocol {
    type Err = ProtocolError;

    /// Parses a `connect.protocol` config value; see [`ConnectProtocol::from_config`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_config(s)
    }
}

/// Why bytes could not be decoded or a value could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A JoinGroup protocol name that is none of "default", "compatible", "sessioned".
    UnknownProtocolName(String),
    /// A `connect.protocol` value that is none of "eager", "compatible", "sessioned".
    UnknownCompatibilityMode(String),
    /// The input ended inside `field`.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A negative protocol version; Java rejects these too ("Unsupported subscription version").
    NegativeVersion(i16),
    /// A negative length where null is not allowed (a `STRING`, or the task array of a connector entry).
    NegativeLength {
        /// The field being read.
        field: &'static str,
        /// The length read.
        length: i32,
    },
    /// A task id below -1 in a connector entry. Java would build a task with that negative number; `TaskId` cannot
    /// hold one, so it is refused.
    InvalidTaskId {
        /// The connector of the entry.
        connector: String,
        /// The task id read.
        task: i32,
    },
    /// A value too large for its wire field (a string over 32767 bytes, a task number over `i32::MAX`, more than
    /// `i32::MAX` elements).
    TooLarge {
        /// The field being written.
        field: &'static str,
        /// Its size.
        size: u64,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnknownProtocolName(name) => write!(
                f,
                "unknown Connect group protocol '{name}': expected one of 'default', 'compatible', 'sessioned'"
            ),
            ProtocolError::UnknownCompatibilityMode(value) => write!(
                f,
                "invalid value '{value}' for connect.protocol: expected one of 'eager', 'compatible', 'sessioned' \
                 (case-insensitive)"
            ),
            ProtocolError::Truncated { field, needed, remaining } => {
                write!(f, "truncated input reading '{field}': {needed} bytes needed, only {remaining} left")
            }
            ProtocolError::NegativeVersion(v) => write!(f, "unsupported Connect protocol version {v}"),
            ProtocolError::NegativeLength { field, length } => {
                write!(f, "'{field}' has length {length}, which cannot be negative")
            }
            ProtocolError::InvalidTaskId { connector, task } => {
                write!(f, "invalid task id {task} for connector '{connector}'")
            }
            ProtocolError::TooLarge { field, size } => write!(f, "'{field}' is too large to encode ({size})"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The error code of an assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignmentError {
    /// 0: the assignment is valid.
    NoError,
    /// 1: the leader's config was behind a member's; everyone reads the config topic to the end and rejoins.
    ConfigMismatch,
    /// Any other code, kept as read so that it round-trips and can be logged.
    Unknown(i16),
}

impl AssignmentError {
    /// The wire code.
    pub const fn code(self) -> i16 {
        match self {
            AssignmentError::NoError => 0,
            AssignmentError::ConfigMismatch => 1,
            AssignmentError::Unknown(code) => code,
        }
    }

    /// The error for wire code `code`.
    pub const fn from_code(code: i16) -> Self {
        match code {
            0 => AssignmentError::NoError,
            1 => AssignmentError::ConfigMismatch,
            other => AssignmentError::Unknown(other),
        }
    }
}

/// A SyncGroup assignment (Java's `ConnectProtocol.Assignment` / `ExtendedAssignment`).
///
/// With V0 the lists are the member's whole assignment and the revoked lists and delay are not on the wire. With V1/V2
/// `connectors`/`tasks` are only what is newly assigned to the member, `revoked_*` what it must stop, and `delay_ms`
/// when it must rejoin. Inside member metadata (the allocation) the lists are the member's whole current assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The protocol version at the head of the encoding: 0 selects the V0 layout, anything higher the V1 layout.
    pub version: i16,
    /// The error code.
    pub error: AssignmentError,
    /// The leader's member id.
    pub leader: String,
    /// The leader's advertised REST URL.
    pub leader_url: String,
    /// The config topic offset this assignment was computed at; members must have read up to it before starting work.
    pub config_offset: i64,
    /// Connector instances to run.
    pub connectors: Vec<String>,
    /// Tasks to run.
    pub tasks: Vec<TaskId>,
    /// Connector instances to stop (V1/V2 only).
    pub revoked_connectors: Vec<String>,
    /// Tasks to stop (V1/V2 only).
    pub revoked_tasks: Vec<TaskId>,
    /// Milliseconds after which the member must rejoin; 0 for none (V1/V2 only).
    pub delay_ms: i32,
}

impl Assignment {
    /// An assignment with no work and no error, of version `version`.
    pub fn empty(version: i16, leader: &str, leader_url: &str, config_offset: i64) -> Self {
        Assignment {
            version,
            error: AssignmentError::NoError,
            leader: leader.to_owned(),
            leader_url: leader_url.to_owned(),
            config_offset,
            connectors: Vec::new(),
            tasks: Vec::new(),
            revoked_connectors: Vec::new(),
            revoked_tasks: Vec::new(),
            delay_ms: 0,
        }
    }

    /// Whether the leader could not assign (error code other than 0).
    pub fn failed(&self) -> bool {
        self.error != AssignmentError::NoError
    }

    /// Encodes as SyncGroup `member_assignment` bytes: the V0 layout when `version` is 0 (revoked lists and delay are
    /// then dropped, as V0 has no place for them), the V1 layout with `version` at its head otherwise.
    pub fn encode(&self) -> Result<Bytes, ProtocolError> {
        if self.version < 0 {
            return Err(ProtocolError::NegativeVersion(self.version));
        }
        let mut buf = BytesMut::new();
        if self.version == 0 {
            buf.put_i16(0);
            self.encode_common(&mut buf)?;
        } else {
            self.encode_v1(self.version, &mut buf)?;
        }
        Ok(buf.freeze())
    }

    /// Decodes SyncGroup assignment bytes of any version >= 0, the way Java's worker does
    /// (`IncrementalCooperativeConnectProtocol.deserializeAssignment`): the V1 layout, where the assignment array, the
    /// revoked array and the delay may each be missing at the end of the input (V0 bytes thus decode with nothing
    /// revoked and no delay). A null or negative array count is an empty list. Bytes after the delay are ignored.
    pub fn decode(input: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(input);
        let version = r.i16("version")?;
        if version < 0 {
            return Err(ProtocolError::NegativeVersion(version));
        }
        let error = AssignmentError::from_code(r.i16("error")?);
        let leader = r.string("leader")?;
        let leader_url = r.string("leader-url")?;
        let config_offset = r.i64("config-offset")?;
        // Java reads the rest with TOLERATE_MISSING_FIELDS_WITH_DEFAULTS: a field is defaulted only when the input
        // is exhausted before it, never when it is partly there.
        let (connectors, tasks) = if r.is_empty() { Default::default() } else { r.connector_entries("assignment")? };
        let (revoked_connectors, revoked_tasks) =
            if r.is_empty() { Default::default() } else { r.connector_entries("revoked")? };
        let delay_ms = if r.is_empty() { 0 } else { r.i32("delay")? };
        Ok(Assignment {
            version,
            error,
            leader,
            leader_url,
            config_offset,
            connectors,
            tasks,
            revoked_connectors,
            revoked_tasks,
            delay_ms,
        })
    }

    /// error | leader | leader_url | config_offset | assignment array: the part shared by V0 and V1.
    fn encode_common(&self, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        buf.put_i16(self.error.code());
        put_string(buf, "leader", &self.leader)?;
        put_string(buf, "leader-url", &self.leader_url)?;
        buf.put_i64(self.config_offset);
        put_connector_entries(buf, "assignment", &self.connectors, &self.tasks)
    }

    /// The V1 layout headed by `version`; also used for the allocation inside metadata, whose header follows the
    /// metadata's version rather than the assignment's (Java passes the same `sessioned` flag to both).
    fn encode_v1(&self, version: i16, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        buf.put_i16(version);
        self.encode_common(buf)?;
        put_connector_entries(buf, "revoked", &self.revoked_connectors, &self.revoked_tasks)?;
        buf.put_i32(self.delay_ms);
        Ok(())
    }
}

/// JoinGroup member metadata: who the worker is, how far it has read the config topic and, from V1 on, what it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// The worker's advertised REST URL.
    pub url: String,
    /// The offset after the last config topic record the worker has read.
    pub config_offset: i64,
    /// The worker's current (complete) assignment; `None` before its first assignment. Only V1/V2 carry it.
    pub allocation: Option<Assignment>,
}

impl WorkerMetadata {
    /// Encodes the metadata for `protocol`: `version | url | config_offset`, plus for V1/V2 the allocation as nullable
    /// bytes holding a full V1-layout assignment. As in Java, the allocation's own header carries the metadata's
    /// version (2 when sessioned, else 1), whatever `allocation.version` says.
    pub fn encode(&self, protocol: ConnectProtocol) -> Result<Bytes, ProtocolError> {
        let version = protocol.version();
        let mut buf = BytesMut::new();
        buf.put_i16(version);
        put_string(&mut buf, "url", &self.url)?;
        buf.put_i64(self.config_offset);
        if protocol.is_incremental() {
            match &self.allocation {
                None => buf.put_i32(-1),
                Some(allocation) => {
                    let mut inner = BytesMut::new();
                    allocation.encode_v1(version, &mut inner)?;
                    buf.put_i32(checked_len("allocation", inner.len())?);
                    buf.put_slice(&inner);
                }
            }
        }
        Ok(buf.freeze())
    }

    /// The JoinGroup protocols a worker in mode `mode` advertises, in preference order, each with its metadata.
    pub fn join_protocols(&self, mode: ConnectProtocol) -> Result<Vec<(ConnectProtocol, Bytes)>, ProtocolError> {
        mode.advertised().iter().map(|&p| Ok((p, self.encode(p)?))).collect()
    }

    /// Decodes metadata of any version >= 0 the way Java's leader does for every protocol
    /// (`IncrementalCooperativeConnectProtocol.deserializeMetadata`, which the eager assignor also uses): url and
    /// offset are required; the allocation is read if any input is left, null (or a negative length) meaning none.
    /// Bytes after it are ignored, so higher versions that append fields still parse.
    pub fn decode(input: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(input);
        let version = r.i16("version")?;
        if version < 0 {
            return Err(ProtocolError::NegativeVersion(version));
        }
        let url = r.string("url")?;
        let config_offset = r.i64("config-offset")?;
        let allocation = if r.is_empty() {
            None
        } else {
            match r.nullable_bytes("allocation")? {
                None => None,
                Some(bytes) => Some(Assignment::decode(bytes)?),
            }
        };
        Ok(WorkerMetadata { url, config_offset, allocation })
    }
}

/// Converts a length to its int32 wire form.
fn checked_len(field: &'static str, len: usize) -> Result<i32, ProtocolError> {
    i32::try_from(len).map_err(|_| ProtocolError::TooLarge { field, size: len as u64 })
}

fn put_string(buf: &mut BytesMut, field: &'static str, s: &str) -> Result<(), ProtocolError> {
    let len = i16::try_from(s.len()).map_err(|_| ProtocolError::TooLarge { field, size: s.len() as u64 })?;
    buf.put_i16(len);
    buf.put_slice(s.as_bytes());
    Ok(())
}

/// Writes `ARRAY of {connector: STRING, tasks: ARRAY of int32}` grouping each connector instance (as -1) with its
/// tasks. Entries are sorted by connector name and ids ascending (so -1 first); see the module doc for why. Duplicate
/// connectors are written once, as Java does (`HashSet`/`distinct`); duplicate tasks are kept, as Java does.
fn put_connector_entries(
    buf: &mut BytesMut,
    field: &'static str,
    connectors: &[String],
    tasks: &[TaskId],
) -> Result<(), ProtocolError> {
    let mut entries: std::collections::BTreeMap<&str, Vec<i32>> = std::collections::BTreeMap::new();
    for connector in connectors {
        let ids = entries.entry(connector.as_str()).or_default();
        if !ids.contains(&CONNECTOR_TASK) {
            ids.push(CONNECTOR_TASK);
        }
    }
    for task in tasks {
        let id = i32::try_from(task.task).map_err(|_| ProtocolError::TooLarge { field, size: u64::from(task.task) })?;
        entries.entry(task.connector.as_str()).or_default().push(id);
    }
    buf.put_i32(checked_len(field, entries.len())?);
    for (connector, mut ids) in entries {
        ids.sort_unstable();
        put_string(buf, "connector", connector)?;
        buf.put_i32(checked_len("tasks", ids.len())?);
        for id in ids {
            buf.put_i32(id);
        }
    }
    Ok(())
}

/// A bounds-checked big-endian reader over untrusted input.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.input.len() < n {
            return Err(ProtocolError::Truncated { field, needed: n, remaining: self.input.len() });
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A non-nullable `STRING`. Invalid UTF-8 is replaced, not refused: Java decodes with `new String(bytes, UTF_8)`,
    /// which substitutes U+FFFD, and refusing here would make us reject a group Java accepts.
    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        let len = usize::try_from(len).map_err(|_| ProtocolError::NegativeLength { field, length: i32::from(len) })?;
        Ok(String::from_utf8_lossy(self.take(field, len)?).into_owned())
    }

    /// `NULLABLE_BYTES`: any negative length is null, as in Kafka's `Type.NULLABLE_BYTES`.
    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32(field)?;
        match usize::try_from(len) {
            Err(_) => Ok(None),
            Ok(len) => Ok(Some(self.take(field, len)?)),
        }
    }

    /// An array count, refusing counts that cannot fit in the input (each element takes at least `min_elem` bytes)
    /// before anything is allocated for them. `None` for a negative count, allowed only where `nullable`.
    fn count(&mut self, field: &'static str, nullable: bool, min_elem: usize) -> Result<Option<usize>, ProtocolError> {
        let count = self.i32(field)?;
        let Ok(n) = usize::try_from(count) else {
            // Kafka's ArrayOf.read treats any negative count of a nullable array as null.
            return if nullable { Ok(None) } else { Err(ProtocolError::NegativeLength { field, length: count }) };
        };
        let needed = n.saturating_mul(min_elem);
        if needed > self.input.len() {
            return Err(ProtocolError::Truncated { field, needed, remaining: self.input.len() });
        }
        Ok(Some(n))
    }

    /// A nullable `ARRAY of {connector, tasks[]}` split into connector instances (task -1) and tasks, in wire order.
    fn connector_entries(&mut self, field: &'static str) -> Result<(Vec<String>, Vec<TaskId>), ProtocolError> {
        let mut connectors = Vec::new();
        let mut tasks = Vec::new();
        // An entry is at least a 2-byte string length and a 4-byte task count.
        let Some(entries) = self.count(field, true, 6)? else {
            return Ok((connectors, tasks));
        };
        for _ in 0..entries {
            let connector = self.string("connector")?;
            let ids = self.count("tasks", false, 4)?.unwrap_or(0);
            for _ in 0..ids {
                match self.i32("tasks")? {
                    CONNECTOR_TASK => connectors.push(connector.clone()),
                    id => match u32::try_from(id) {
                        Ok(task) => tasks.push(TaskId { connector: connector.clone(), task }),
                        Err(_) => return Err(ProtocolError::InvalidTaskId { connector, task: id }),
                    },
                }
            }
        }
        Ok((connectors, tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Byte builders for expected encodings, written from the reference layout (kafka-connect.md section 3.2), not
    // from the encoder under test.
    fn i16b(v: i16) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }
    fn i32b(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }
    fn i64b(v: i64) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }
    fn strb(s: &str) -> Vec<u8> {
        let mut out = i16b(s.len() as i16);
        out.extend_from_slice(s.as_bytes());
        out
    }
    /// One `{connector, tasks[]}` entry.
    fn entry(connector: &str, ids: &[i32]) -> Vec<u8> {
        let mut out = strb(connector);
        out.extend(i32b(ids.len() as i32));
        for id in ids {
            out.extend(i32b(*id));
        }
        out
    }
    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }
    fn task(connector: &str, task: u32) -> TaskId {
        TaskId { connector: connector.to_owned(), task }
    }
    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn sample_assignment(version: i16) -> Assignment {
        Assignment {
            version,
            error: AssignmentError::NoError,
            leader: "leader-1".into(),
            leader_url: "http://l:8083/".into(),
            config_offset: 618,
            connectors: strings(&["sink", "source"]),
            tasks: vec![task("source", 1), task("source", 0), task("other", 3)],
            revoked_connectors: strings(&["gone"]),
            revoked_tasks: vec![task("gone", 0), task("sink", 2)],
            delay_ms: 300_000,
        }
    }

    /// The header-less V1 body of `sample_assignment`, entries sorted by connector, -1 first.
    fn sample_v1_body() -> Vec<u8> {
        cat(&[
            i16b(0),
            strb("leader-1"),
            strb("http://l:8083/"),
            i64b(618),
            i32b(3),
            entry("other", &[3]),
            entry("sink", &[-1]),
            entry("source", &[-1, 0, 1]),
            i32b(2),
            entry("gone", &[-1, 0]),
            entry("sink", &[2]),
            i32b(300_000),
        ])
    }

    #[test]
    fn protocol_names_versions_and_config_values() {
        assert_eq!(ConnectProtocol::from_name("default"), Ok(ConnectProtocol::Eager));
        assert_eq!(ConnectProtocol::from_name("Compatible"), Ok(ConnectProtocol::Compatible));
        assert_eq!(ConnectProtocol::from_name("SESSIONED"), Ok(ConnectProtocol::Sessioned));
        // "eager" is a config value, not a protocol name.
        assert!(matches!(ConnectProtocol::from_name("eager"), Err(ProtocolError::UnknownProtocolName(_))));
        for p in ConnectProtocol::ALL {
            assert_eq!(ConnectProtocol::from_name(p.name()), Ok(p));
            assert_eq!(ConnectProtocol::from_version(p.version()), Some(p));
            assert_eq!(p.config_value().parse::<ConnectProtocol>(), Ok(p));
        }
        assert_eq!(ConnectProtocol::Eager.version(), 0);
        assert_eq!(ConnectProtocol::Compatible.version(), 1);
        assert_eq!(ConnectProtocol::Sessioned.version(), 2);
        assert_eq!(ConnectProtocol::from_version(3), None);
        assert_eq!(ConnectProtocol::from_config(" EAGER "), Ok(ConnectProtocol::Eager));
        assert_eq!(ConnectProtocol::from_config("Sessioned"), Ok(ConnectProtocol::Sessioned));
        let err = ConnectProtocol::from_config("default").unwrap_err();
        assert_eq!(err, ProtocolError::UnknownCompatibilityMode("default".into()));
        let msg = err.to_string();
        assert!(msg.contains("connect.protocol") && msg.contains("'eager', 'compatible', 'sessioned'"), "{msg}");
        assert_eq!(ConnectProtocol::Compatible.to_string(), "compatible");
    }

    #[test]
    fn advertised_protocols_in_preference_order() {
        use ConnectProtocol::*;
        assert_eq!(Sessioned.advertised(), &[Sessioned, Compatible, Eager]);
        assert_eq!(Compatible.advertised(), &[Compatible, Eager]);
        assert_eq!(Eager.advertised(), &[Eager]);

        let md = WorkerMetadata { url: "u".into(), config_offset: 1, allocation: None };
        let protocols = md.join_protocols(Sessioned).unwrap();
        let names: Vec<&str> = protocols.iter().map(|(p, _)| p.name()).collect();
        assert_eq!(names, ["sessioned", "compatible", "default"]);
        let body = cat(&[strb("u"), i64b(1)]);
        assert_eq!(protocols[0].1.as_ref(), cat(&[i16b(2), body.clone(), i32b(-1)]));
        assert_eq!(protocols[1].1.as_ref(), cat(&[i16b(1), body.clone(), i32b(-1)]));
        assert_eq!(protocols[2].1.as_ref(), cat(&[i16b(0), body]));
    }

    #[test]
    fn metadata_v0_layout() {
        let expected = cat(&[i16b(0), strb("http://w1:8083"), i64b(42)]);
        // The allocation has no place in V0 and is dropped.
        let md =
            WorkerMetadata { url: "http://w1:8083".into(), config_offset: 42, allocation: Some(sample_assignment(1)) };
        assert_eq!(md.encode(ConnectProtocol::Eager).unwrap().as_ref(), expected);
        let decoded = WorkerMetadata::decode(&expected).unwrap();
        assert_eq!(decoded, WorkerMetadata { url: "http://w1:8083".into(), config_offset: 42, allocation: None });
    }

    #[test]
    fn metadata_v1_without_allocation_is_null_bytes() {
        let expected = cat(&[i16b(1), strb("http://w1:8083"), i64b(-1), i32b(-1)]);
        let md = WorkerMetadata { url: "http://w1:8083".into(), config_offset: -1, allocation: None };
        assert_eq!(md.encode(ConnectProtocol::Compatible).unwrap().as_ref(), expected);
        assert_eq!(WorkerMetadata::decode(&expected).unwrap(), md);
    }

    #[test]
    fn metadata_v1_and_v2_embed_a_full_assignment_headed_by_the_metadata_version() {
        for protocol in [ConnectProtocol::Compatible, ConnectProtocol::Sessioned] {
            let v = protocol.version();
            let allocation = cat(&[i16b(v), sample_v1_body()]);
            let expected = cat(&[i16b(v), strb("w"), i64b(7), i32b(allocation.len() as i32), allocation]);
            // The allocation says version 1, but the header follows the metadata (Java's `sessioned` flag).
            let md = WorkerMetadata { url: "w".into(), config_offset: 7, allocation: Some(sample_assignment(1)) };
            assert_eq!(md.encode(protocol).unwrap().as_ref(), expected, "{protocol}");

            let decoded = WorkerMetadata::decode(&expected).unwrap();
            let mut allocation = sample_assignment(v);
            // Decoding gives wire order: entries sorted by connector, -1 first.
            allocation.connectors = strings(&["sink", "source"]);
            allocation.tasks = vec![task("other", 3), task("source", 0), task("source", 1)];
            assert_eq!(decoded.allocation, Some(allocation));
            assert_eq!((decoded.url.as_str(), decoded.config_offset), ("w", 7));
        }
    }

    #[test]
    fn metadata_decoding_tolerates_missing_allocation_and_trailing_bytes() {
        // V1 metadata cut right after the offset: the allocation defaults to null (Java tolerates missing fields).
        let bytes = cat(&[i16b(1), strb("w"), i64b(3)]);
        assert_eq!(WorkerMetadata::decode(&bytes).unwrap().allocation, None);
        // A negative length other than -1 is also null.
        let bytes = cat(&[i16b(2), strb("w"), i64b(3), i32b(-7)]);
        assert_eq!(WorkerMetadata::decode(&bytes).unwrap().allocation, None);
        // Trailing bytes after the allocation are ignored.
        let bytes = cat(&[i16b(1), strb("w"), i64b(3), i32b(-1), vec![1, 2, 3]]);
        assert_eq!(WorkerMetadata::decode(&bytes).unwrap().config_offset, 3);
    }

    #[test]
    fn metadata_of_an_unknown_higher_version_is_parsed() {
        let allocation = cat(&[i16b(9), sample_v1_body(), vec![0xAB; 5]]);
        let bytes = cat(&[i16b(9), strb("w9"), i64b(99), i32b(allocation.len() as i32), allocation, vec![0xCD; 3]]);
        let md = WorkerMetadata::decode(&bytes).unwrap();
        assert_eq!(md.url, "w9");
        assert_eq!(md.config_offset, 99);
        let allocation = md.allocation.unwrap();
        assert_eq!(allocation.version, 9);
        assert_eq!(allocation.delay_ms, 300_000);
        assert_eq!(allocation.revoked_connectors, strings(&["gone"]));
    }

    #[test]
    fn assignment_v0_layout_groups_connector_and_tasks() {
        let a = Assignment {
            version: 0,
            error: AssignmentError::NoError,
            leader: "leader".into(),
            leader_url: "http://leader:8083".into(),
            config_offset: 10,
            connectors: strings(&["c2", "c1"]),
            tasks: vec![task("c1", 1), task("c3", 0), task("c1", 0)],
            // Not representable in V0: dropped.
            revoked_connectors: strings(&["x"]),
            revoked_tasks: vec![],
            delay_ms: 5,
        };
        let expected = cat(&[
            i16b(0),
            i16b(0),
            strb("leader"),
            strb("http://leader:8083"),
            i64b(10),
            i32b(3),
            entry("c1", &[-1, 0, 1]),
            entry("c2", &[-1]),
            entry("c3", &[0]),
        ]);
        assert_eq!(a.encode().unwrap().as_ref(), expected);

        let decoded = Assignment::decode(&expected).unwrap();
        assert_eq!(decoded.version, 0);
        assert_eq!(decoded.connectors, strings(&["c1", "c2"]));
        assert_eq!(decoded.tasks, vec![task("c1", 0), task("c1", 1), task("c3", 0)]);
        assert!(decoded.revoked_connectors.is_empty() && decoded.revoked_tasks.is_empty());
        assert_eq!(decoded.delay_ms, 0);
        assert!(!decoded.failed());
    }

    #[test]
    fn assignment_v1_and_v2_layout_with_revoked_and_delay() {
        for version in [1, 2] {
            let expected = cat(&[i16b(version), sample_v1_body()]);
            assert_eq!(sample_assignment(version).encode().unwrap().as_ref(), expected);
            let decoded = Assignment::decode(&expected).unwrap();
            assert_eq!(decoded.version, version);
            assert_eq!(decoded.connectors, strings(&["sink", "source"]));
            assert_eq!(decoded.tasks, vec![task("other", 3), task("source", 0), task("source", 1)]);
            assert_eq!(decoded.revoked_connectors, strings(&["gone"]));
            assert_eq!(decoded.revoked_tasks, vec![task("gone", 0), task("sink", 2)]);
            assert_eq!(decoded.delay_ms, 300_000);
        }
    }

    #[test]
    fn empty_lists_are_empty_arrays_not_null() {
        let a = Assignment::empty(1, "l", "u", 5);
        let expected = cat(&[i16b(1), i16b(0), strb("l"), strb("u"), i64b(5), i32b(0), i32b(0), i32b(0)]);
        assert_eq!(a.encode().unwrap().as_ref(), expected);
        assert_eq!(Assignment::decode(&expected).unwrap(), a);
    }

    #[test]
    fn config_mismatch_and_unknown_error_codes_round_trip() {
        let bytes = cat(&[i16b(1), i16b(1), strb("l"), strb("u"), i64b(77), i32b(0), i32b(0), i32b(0)]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!(a.error, AssignmentError::ConfigMismatch);
        assert!(a.failed());
        assert_eq!(a.config_offset, 77);
        assert_eq!(a.encode().unwrap().as_ref(), bytes);

        let bytes = cat(&[i16b(0), i16b(42), strb("l"), strb("u"), i64b(77), i32b(0)]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!(a.error, AssignmentError::Unknown(42));
        assert_eq!(a.error.code(), 42);
        assert_eq!(a.encode().unwrap().as_ref(), bytes);
    }

    #[test]
    fn v1_decoding_tolerates_missing_trailing_fields_and_null_arrays() {
        let head = cat(&[i16b(1), i16b(0), strb("l"), strb("u"), i64b(1)]);
        // Missing delay.
        let bytes = cat(&[head.clone(), i32b(1), entry("c", &[-1]), i32b(1), entry("d", &[0])]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!((a.connectors, a.revoked_tasks, a.delay_ms), (strings(&["c"]), vec![task("d", 0)], 0));
        // Missing revoked and delay.
        let a = Assignment::decode(&cat(&[head.clone(), i32b(1), entry("c", &[2])])).unwrap();
        assert_eq!((a.tasks, a.revoked_connectors.len()), (vec![task("c", 2)], 0));
        // Everything after the offset missing.
        let a = Assignment::decode(&head).unwrap();
        assert!(a.connectors.is_empty() && a.tasks.is_empty());
        // Null (-1) arrays, then a delay.
        let a = Assignment::decode(&cat(&[head.clone(), i32b(-1), i32b(-1), i32b(12)])).unwrap();
        assert!(a.connectors.is_empty() && a.revoked_connectors.is_empty());
        assert_eq!(a.delay_ms, 12);
        // A delay that is only partly there is an error, not a default.
        assert!(matches!(
            Assignment::decode(&cat(&[head, i32b(0), i32b(0), vec![0, 0]])),
            Err(ProtocolError::Truncated { field: "delay", .. })
        ));
    }

    #[test]
    fn entries_in_any_order_and_trailing_bytes_decode() {
        let bytes = cat(&[
            i16b(1),
            i16b(0),
            strb("l"),
            strb("u"),
            i64b(1),
            i32b(2),
            entry("z", &[3, -1]),
            entry("a", &[1]),
            i32b(0),
            i32b(0),
            vec![9, 9, 9, 9, 9],
        ]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!(a.connectors, strings(&["z"]));
        assert_eq!(a.tasks, vec![task("z", 3), task("a", 1)]);
    }

    #[test]
    fn unknown_higher_assignment_version_is_parsed_as_v1() {
        let bytes = cat(&[i16b(5), sample_v1_body(), vec![1, 2, 3, 4, 5, 6, 7]]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!(a.version, 5);
        assert_eq!(a.delay_ms, 300_000);
        assert_eq!(a.revoked_tasks.len(), 2);
    }

    #[test]
    fn truncated_input_is_an_error_at_every_length() {
        let assignment = cat(&[i16b(2), sample_v1_body()]);
        let md = cat(&[i16b(2), strb("url"), i64b(5), i32b(assignment.len() as i32), assignment.clone()]);
        // Cutting inside the fixed head, inside an entry, or inside the allocation must fail. Cuts exactly at a field
        // boundary after the offset are legal (missing trailing fields), so only check those that are not.
        let assignment_ok_cuts = {
            let head = 2 + 2 + 2 + 8 + 2 + 14 + 8;
            let assigned = head + 4 + (2 + 5 + 4 + 4) + (2 + 4 + 4 + 4) + (2 + 6 + 4 + 12);
            let revoked = assigned + 4 + (2 + 4 + 4 + 8) + (2 + 4 + 4 + 4);
            [head, assigned, revoked, revoked + 4]
        };
        for cut in 0..assignment.len() {
            let result = Assignment::decode(&assignment[..cut]);
            assert_eq!(result.is_ok(), assignment_ok_cuts.contains(&cut), "cut at {cut}: {result:?}");
        }
        let md_ok_cuts = [2 + 5 + 8, md.len()];
        for cut in 0..=md.len() {
            let result = WorkerMetadata::decode(&md[..cut]);
            assert_eq!(result.is_ok(), md_ok_cuts.contains(&cut), "cut at {cut}: {result:?}");
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        // Negative versions.
        assert_eq!(
            WorkerMetadata::decode(&cat(&[i16b(-1), strb("u"), i64b(0)])),
            Err(ProtocolError::NegativeVersion(-1))
        );
        assert_eq!(Assignment::decode(&i16b(-3)), Err(ProtocolError::NegativeVersion(-3)));
        // Negative string length.
        assert!(matches!(
            WorkerMetadata::decode(&cat(&[i16b(0), i16b(-1), i64b(0)])),
            Err(ProtocolError::NegativeLength { field: "url", .. })
        ));
        let head = cat(&[i16b(1), i16b(0), strb("l"), strb("u"), i64b(1)]);
        // Task id below -1.
        assert_eq!(
            Assignment::decode(&cat(&[head.clone(), i32b(1), entry("c", &[-2])])),
            Err(ProtocolError::InvalidTaskId { connector: "c".into(), task: -2 })
        );
        // Negative (non-nullable) task count.
        assert!(matches!(
            Assignment::decode(&cat(&[head.clone(), i32b(1), strb("c"), i32b(-1)])),
            Err(ProtocolError::NegativeLength { field: "tasks", .. })
        ));
        // Huge counts with little data fail before allocating.
        assert!(matches!(
            Assignment::decode(&cat(&[head.clone(), i32b(i32::MAX)])),
            Err(ProtocolError::Truncated { field: "assignment", .. })
        ));
        assert!(matches!(
            Assignment::decode(&cat(&[head.clone(), i32b(1), strb("c"), i32b(i32::MAX)])),
            Err(ProtocolError::Truncated { field: "tasks", .. })
        ));
        // An allocation that is itself garbage fails the metadata.
        let bytes = cat(&[i16b(1), strb("u"), i64b(0), i32b(3), vec![0, 1, 2]]);
        assert!(WorkerMetadata::decode(&bytes).is_err());
        // Invalid UTF-8 is replaced, as Java does.
        let bytes = cat(&[i16b(0), i16b(2), vec![0xFF, b'a'], i64b(0)]);
        assert_eq!(WorkerMetadata::decode(&bytes).unwrap().url, "\u{FFFD}a");
    }

    #[test]
    fn random_garbage_never_panics() {
        // A small deterministic generator keeps the test dependency-free and reproducible.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = cat(&[i16b(1), strb("url"), i64b(5), i32b(200), i16b(2), sample_v1_body()]);
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = WorkerMetadata::decode(&bytes);
            let _ = Assignment::decode(&bytes);
            // Also mutate valid input, which reaches deeper.
            bytes = valid.clone();
            for _ in 0..3 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            let _ = WorkerMetadata::decode(&bytes);
            let _ = Assignment::decode(&bytes[6..]);
        }
    }

    #[test]
    fn values_too_large_for_the_wire_are_encode_errors() {
        let mut a = Assignment::empty(1, "l", "u", 0);
        a.leader = "x".repeat(40_000);
        assert!(matches!(a.encode(), Err(ProtocolError::TooLarge { field: "leader", .. })));
        let mut a = Assignment::empty(0, "l", "u", 0);
        a.tasks = vec![task("c", u32::MAX)];
        assert!(matches!(a.encode(), Err(ProtocolError::TooLarge { .. })));
        let a = Assignment::empty(-1, "l", "u", 0);
        assert_eq!(a.encode(), Err(ProtocolError::NegativeVersion(-1)));
        let md = WorkerMetadata { url: "u".repeat(33_000), config_offset: 0, allocation: None };
        assert!(md.encode(ConnectProtocol::Eager).is_err());
    }

    #[test]
    fn duplicate_connectors_are_written_once_and_duplicate_tasks_kept() {
        let mut a = Assignment::empty(1, "l", "u", 0);
        a.connectors = strings(&["c", "c"]);
        a.tasks = vec![task("c", 0), task("c", 0)];
        let expected = cat(&[i16b(1), i16b(0), strb("l"), strb("u"), i64b(0), i32b(1), entry("c", &[-1, 0, 0])])
            .into_iter()
            .chain(cat(&[i32b(0), i32b(0)]))
            .collect::<Vec<u8>>();
        assert_eq!(a.encode().unwrap().as_ref(), expected);
    }
}
