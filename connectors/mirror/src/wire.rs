//! The records of MirrorMaker 2's internal topics, byte for byte as Java's mirror-client writes them.
//!
//! Java encodes them with its protocol `Struct`s: a STRING is a big-endian int16 length and UTF-8 bytes, integers
//! are big-endian. Offset syncs carry no version; checkpoint and heartbeat values start with an int16 version (0).

use std::fmt;

/// The version written at the start of checkpoint and heartbeat values.
const VERSION: i16 = 0;

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Where an upstream offset landed downstream: a record of the `mm2-offset-syncs.<target>.internal` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetSync {
    /// The source topic.
    pub topic: String,
    /// The source partition.
    pub partition: i32,
    /// The offset of a record in the source partition.
    pub upstream_offset: i64,
    /// The offset of the same record in the remote topic.
    pub downstream_offset: i64,
}

impl OffsetSync {
    /// The record key: `{topic: string, partition: int32}`.
    pub fn key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + self.topic.len());
        put_string(&mut out, &self.topic);
        out.extend_from_slice(&self.partition.to_be_bytes());
        out
    }

    /// The record value: `{upstreamOffset: int64, offset: int64}`.
    pub fn value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.upstream_offset.to_be_bytes());
        out.extend_from_slice(&self.downstream_offset.to_be_bytes());
        out
    }

    /// Decodes a record of the offset-syncs topic.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<OffsetSync, DecodeError> {
        let mut k = Reader::new(key, "offset sync key");
        let topic = k.string()?;
        let partition = k.i32()?;
        let mut v = Reader::new(value, "offset sync value");
        let upstream_offset = v.i64()?;
        let downstream_offset = v.i64()?;
        Ok(OffsetSync { topic, partition, upstream_offset, downstream_offset })
    }
}

/// A consumer group's position translated to the target cluster: a record of `<source>.checkpoints.internal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The consumer group.
    pub group: String,
    /// The topic on the target cluster (the remote topic).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset on the source cluster.
    pub upstream_offset: i64,
    /// The translated offset on the target cluster.
    pub downstream_offset: i64,
    /// The commit metadata of the source group.
    pub metadata: String,
}

impl Checkpoint {
    /// The record key: `{group: string, topic: string, partition: int32}`.
    pub fn key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.group.len() + self.topic.len());
        put_string(&mut out, &self.group);
        put_string(&mut out, &self.topic);
        out.extend_from_slice(&self.partition.to_be_bytes());
        out
    }

    /// The record value: version int16, then `{upstreamOffset: int64, offset: int64, metadata: string}`.
    pub fn value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.metadata.len());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.upstream_offset.to_be_bytes());
        out.extend_from_slice(&self.downstream_offset.to_be_bytes());
        put_string(&mut out, &self.metadata);
        out
    }

    /// Decodes a record of a checkpoints topic.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Checkpoint, DecodeError> {
        let mut k = Reader::new(key, "checkpoint key");
        let group = k.string()?;
        let topic = k.string()?;
        let partition = k.i32()?;
        let mut v = Reader::new(value, "checkpoint value");
        v.version()?;
        let upstream_offset = v.i64()?;
        let downstream_offset = v.i64()?;
        let metadata = v.string()?;
        Ok(Checkpoint { group, topic, partition, upstream_offset, downstream_offset, metadata })
    }
}

/// A liveness beacon of a replication flow: a record of the `heartbeats` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The flow's source cluster.
    pub source_cluster_alias: String,
    /// The flow's target cluster.
    pub target_cluster_alias: String,
    /// When it was emitted, in milliseconds since the epoch.
    pub timestamp: i64,
}

impl Heartbeat {
    /// The record key: `{sourceClusterAlias: string, targetClusterAlias: string}`.
    pub fn key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.source_cluster_alias.len() + self.target_cluster_alias.len());
        put_string(&mut out, &self.source_cluster_alias);
        put_string(&mut out, &self.target_cluster_alias);
        out
    }

    /// The record value: version int16, then `{timestamp: int64}`.
    pub fn value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out
    }

    /// Decodes a record of a heartbeats topic.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Heartbeat, DecodeError> {
        let mut k = Reader::new(key, "heartbeat key");
        let source_cluster_alias = k.string()?;
        let target_cluster_alias = k.string()?;
        let mut v = Reader::new(value, "heartbeat value");
        v.version()?;
        let timestamp = v.i64()?;
        Ok(Heartbeat { source_cluster_alias, target_cluster_alias, timestamp })
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    // Java's STRING type holds at most i16::MAX bytes; topic names and aliases are far shorter, a longer group
    // metadata string is cut at a character boundary rather than written with a wrong length.
    let mut end = s.len().min(i16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as i16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError(format!("{} is truncated", self.what)));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("two bytes")))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("four bytes")))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = self.i16()?;
        if len < 0 {
            return Err(DecodeError(format!("{} has a null string", self.what)));
        }
        let bytes = self.take(len as usize)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DecodeError(format!("{} has a string that is not UTF-8", self.what)))
    }

    fn version(&mut self) -> Result<(), DecodeError> {
        match self.i16()? {
            VERSION => Ok(()),
            other => Err(DecodeError(format!("{} has unsupported version {other}", self.what))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_sync_bytes_are_java_struct_encoding() {
        let sync = OffsetSync { topic: "t".into(), partition: 2, upstream_offset: 5, downstream_offset: 3 };
        assert_eq!(sync.key(), vec![0, 1, b't', 0, 0, 0, 2]);
        assert_eq!(sync.value(), vec![0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(OffsetSync::decode(&sync.key(), &sync.value()).unwrap(), sync);
    }

    #[test]
    fn checkpoint_value_starts_with_version_zero() {
        let checkpoint = Checkpoint {
            group: "g".into(),
            topic: "A.t".into(),
            partition: 1,
            upstream_offset: 10,
            downstream_offset: 7,
            metadata: "m".into(),
        };
        assert_eq!(checkpoint.key(), vec![0, 1, b'g', 0, 3, b'A', b'.', b't', 0, 0, 0, 1]);
        let value = checkpoint.value();
        assert_eq!(&value[..2], &[0, 0]);
        assert_eq!(value.len(), 2 + 8 + 8 + 2 + 1);
        assert_eq!(Checkpoint::decode(&checkpoint.key(), &value).unwrap(), checkpoint);
    }

    #[test]
    fn heartbeat_round_trips_and_rejects_other_versions() {
        let heartbeat = Heartbeat { source_cluster_alias: "A".into(), target_cluster_alias: "B".into(), timestamp: 42 };
        assert_eq!(heartbeat.key(), vec![0, 1, b'A', 0, 1, b'B']);
        assert_eq!(heartbeat.value(), vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 42]);
        assert_eq!(Heartbeat::decode(&heartbeat.key(), &heartbeat.value()).unwrap(), heartbeat);
        let mut v1 = heartbeat.value();
        v1[1] = 1;
        assert!(Heartbeat::decode(&heartbeat.key(), &v1).unwrap_err().to_string().contains("version 1"));
        assert!(Heartbeat::decode(&[0, 5, b'A'], &heartbeat.value()).unwrap_err().to_string().contains("truncated"));
    }
}
