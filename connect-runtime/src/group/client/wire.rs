//! One TCP connection to a Kafka broker: size-prefixed frames, request headers, correlation ids, and the ApiVersions
//! exchange that opens every connection so each request uses the highest version both sides support.
//!
//! A connection carries one request at a time. A request that failed or was cancelled half-way leaves the stream out
//! of step, so such a connection refuses further requests; callers then drop it and connect again.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, RequestHeader,
    ResponseHeader, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes, VersionRange};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::GroupError;

/// Frames larger than this are refused (Kafka's own `socket.request.max.bytes` default).
const MAX_FRAME: i64 = 100 * 1024 * 1024;

/// A request this client sends, with its response type and the versions this client can encode.
pub(crate) trait KafkaRequest: Encodable + HeaderVersion + Message {
    const KEY: ApiKey;
    const NAME: &'static str;
    type Response: Decodable + HeaderVersion;
}

macro_rules! kafka_request {
    ($request:ty, $response:ty, $key:expr, $name:literal) => {
        impl KafkaRequest for $request {
            const KEY: ApiKey = $key;
            const NAME: &'static str = $name;
            type Response = $response;
        }
    };
}

kafka_request!(ApiVersionsRequest, ApiVersionsResponse, ApiKey::ApiVersions, "ApiVersions");
kafka_request!(FindCoordinatorRequest, FindCoordinatorResponse, ApiKey::FindCoordinator, "FindCoordinator");
kafka_request!(JoinGroupRequest, JoinGroupResponse, ApiKey::JoinGroup, "JoinGroup");
kafka_request!(SyncGroupRequest, SyncGroupResponse, ApiKey::SyncGroup, "SyncGroup");
kafka_request!(HeartbeatRequest, HeartbeatResponse, ApiKey::Heartbeat, "Heartbeat");
kafka_request!(LeaveGroupRequest, LeaveGroupResponse, ApiKey::LeaveGroup, "LeaveGroup");

/// Encodes a complete frame: size prefix, request header (in the header version the API and version require) and
/// body.
pub(crate) fn encode_request<R: KafkaRequest>(
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<BytesMut, GroupError> {
    let encode_error = |e: String| GroupError::Encode { api: R::NAME, version, message: e };
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    header.encode(&mut frame, R::header_version(version)).map_err(|e| encode_error(e.to_string()))?;
    request.encode(&mut frame, version).map_err(|e| encode_error(e.to_string()))?;
    let size = i32::try_from(frame.len() - 4).map_err(|_| GroupError::Encode {
        api: R::NAME,
        version,
        message: "request too large".into(),
    })?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// Reads the response header of a frame body (without its size prefix), checks the correlation id and returns the
/// rest of the body.
pub(crate) fn strip_response_header<R: KafkaRequest>(
    mut body: Bytes,
    version: i16,
    expected_correlation: i32,
    broker: &str,
) -> Result<Bytes, GroupError> {
    let header = ResponseHeader::decode(&mut body, R::Response::header_version(version)).map_err(|e| {
        GroupError::Decode { broker: broker.to_string(), api: R::NAME, version, message: e.to_string() }
    })?;
    if header.correlation_id != expected_correlation {
        return Err(GroupError::CorrelationMismatch {
            broker: broker.to_string(),
            expected: expected_correlation,
            got: header.correlation_id,
        });
    }
    Ok(body)
}

/// Decodes a response body at `version`.
pub(crate) fn decode_body<R: KafkaRequest>(
    mut body: Bytes,
    version: i16,
    broker: &str,
) -> Result<R::Response, GroupError> {
    let response = R::Response::decode(&mut body, version).map_err(|e| GroupError::Decode {
        broker: broker.to_string(),
        api: R::NAME,
        version,
        message: e.to_string(),
    })?;
    if body.has_remaining() {
        tracing::debug!("{} v{version} response of {broker} has {} trailing bytes", R::NAME, body.remaining());
    }
    Ok(response)
}

/// The version to use for an API: the highest in both this client's range (raised to `min_needed`) and the
/// broker's.
pub(crate) fn negotiate(
    api: &'static str,
    ours: VersionRange,
    min_needed: i16,
    broker_range: Option<VersionRange>,
    broker: &str,
) -> Result<i16, GroupError> {
    let ours = VersionRange { min: ours.min.max(min_needed), max: ours.max };
    let unsupported = |broker_versions: String| GroupError::UnsupportedVersion {
        broker: broker.to_string(),
        api,
        broker_versions,
        needed: ours.to_string(),
    };
    let theirs = broker_range.ok_or_else(|| unsupported("none".into()))?;
    let common = ours.intersect(&theirs);
    if common.is_empty() {
        return Err(unsupported(theirs.to_string()));
    }
    Ok(common.max)
}

/// The ApiVersions response body: the version table, or the version of ApiVersions the broker wants us to retry with
/// when it refused ours (UNSUPPORTED_VERSION, answered in the v0 layout as KIP-511 specifies).
pub(crate) enum ApiVersionsAnswer {
    Table(HashMap<i16, VersionRange>),
    Retry(i16),
}

pub(crate) fn parse_api_versions(body: Bytes, version: i16, broker: &str) -> Result<ApiVersionsAnswer, GroupError> {
    let decode_error = |v: i16, e: String| GroupError::Decode {
        broker: broker.to_string(),
        api: "ApiVersions",
        version: v,
        message: e,
    };
    if body.len() < 2 {
        return Err(decode_error(version, "response shorter than its error code".into()));
    }
    // The error code leads every version; an UNSUPPORTED_VERSION answer is always laid out as v0.
    let code = i16::from_be_bytes([body[0], body[1]]);
    let unsupported = code == ResponseError::UnsupportedVersion.code();
    let decode_version = if unsupported { 0 } else { version };
    let response = decode_body::<ApiVersionsRequest>(body, decode_version, broker)?;
    let table: HashMap<i16, VersionRange> = response
        .api_keys
        .iter()
        .map(|k| (k.api_key, VersionRange { min: k.min_version, max: k.max_version }))
        .collect();
    if unsupported {
        let theirs = table.get(&(ApiKey::ApiVersions as i16)).map(|r| r.max).unwrap_or(0);
        let retry = theirs.min(version - 1).max(0);
        return Ok(ApiVersionsAnswer::Retry(retry));
    }
    if let Some(error) = ResponseError::try_from_code(response.error_code) {
        return Err(GroupError::Broker { api: "ApiVersions", group: String::new(), error, message: None });
    }
    Ok(ApiVersionsAnswer::Table(table))
}

/// An open connection to one broker, its versions negotiated.
pub(crate) struct Connection {
    addr: String,
    stream: TcpStream,
    client_id: String,
    next_correlation: i32,
    versions: HashMap<i16, VersionRange>,
    /// Set while a request is unanswered; a connection left in this state is out of step and unusable.
    in_flight: bool,
}

impl Connection {
    /// Connects and negotiates API versions, all within `timeout`.
    pub(crate) async fn open(addr: &str, client_id: &str, timeout: Duration) -> Result<Connection, GroupError> {
        let connect = async {
            let stream =
                TcpStream::connect(addr).await.map_err(|source| GroupError::Io { broker: addr.to_string(), source })?;
            let _ = stream.set_nodelay(true);
            let mut conn = Connection {
                addr: addr.to_string(),
                stream,
                client_id: client_id.to_string(),
                next_correlation: 0,
                versions: HashMap::new(),
                in_flight: false,
            };
            conn.negotiate_versions(timeout).await?;
            Ok(conn)
        };
        tokio::time::timeout(timeout, connect).await.map_err(|_| GroupError::Timeout {
            broker: addr.to_string(),
            api: "connect",
            timeout,
        })?
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection can still carry requests.
    pub(crate) fn is_usable(&self) -> bool {
        !self.in_flight
    }

    async fn negotiate_versions(&mut self, timeout: Duration) -> Result<(), GroupError> {
        let mut version = ApiVersionsRequest::VERSIONS.max;
        for _ in 0..3 {
            let request = if version >= 3 {
                ApiVersionsRequest::default()
                    .with_client_software_name(StrBytes::from_static_str("connect-rs"))
                    .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")))
            } else {
                ApiVersionsRequest::default()
            };
            let body = self.round_trip(&request, version, timeout).await?;
            match parse_api_versions(body, version, &self.addr)? {
                ApiVersionsAnswer::Table(table) => {
                    tracing::debug!("broker {} speaks {} APIs (ApiVersions v{version})", self.addr, table.len());
                    self.versions = table;
                    return Ok(());
                }
                ApiVersionsAnswer::Retry(v) => {
                    tracing::debug!("broker {} refused ApiVersions v{version}; retrying with v{v}", self.addr);
                    version = v;
                }
            }
        }
        Err(GroupError::UnsupportedVersion {
            broker: self.addr.clone(),
            api: "ApiVersions",
            broker_versions: "unknown".into(),
            needed: ApiVersionsRequest::VERSIONS.to_string(),
        })
    }

    /// The version to use for `R`, at least `min_needed`.
    pub(crate) fn version_for<R: KafkaRequest>(&self, min_needed: i16) -> Result<i16, GroupError> {
        negotiate(R::NAME, R::VERSIONS, min_needed, self.versions.get(&(R::KEY as i16)).copied(), &self.addr)
    }

    /// Sends `request` at `version` and decodes the answer.
    pub(crate) async fn send<R: KafkaRequest>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        let body = self.round_trip(request, version, timeout).await?;
        decode_body::<R>(body, version, &self.addr)
    }

    /// Writes one request and reads its response, returning the body after the response header.
    async fn round_trip<R: KafkaRequest>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<Bytes, GroupError> {
        if self.in_flight {
            return Err(GroupError::Io {
                broker: self.addr.clone(),
                source: std::io::Error::other("an earlier request on this connection was not answered"),
            });
        }
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let frame = encode_request(request, version, correlation_id, &self.client_id)?;
        tracing::debug!("sending {} v{version} (correlation {correlation_id}) to {}", R::NAME, self.addr);
        self.in_flight = true;
        let body = tokio::time::timeout(timeout, self.exchange(&frame)).await.map_err(|_| GroupError::Timeout {
            broker: self.addr.clone(),
            api: R::NAME,
            timeout,
        })??;
        self.in_flight = false;
        strip_response_header::<R>(body, version, correlation_id, &self.addr).inspect_err(|_| self.in_flight = true)
    }

    async fn exchange(&mut self, frame: &[u8]) -> Result<Bytes, GroupError> {
        let io = |source| GroupError::Io { broker: self.addr.clone(), source };
        self.stream.write_all(frame).await.map_err(io)?;
        let size = self.stream.read_i32().await.map_err(io)? as i64;
        if !(0..=MAX_FRAME).contains(&size) {
            return Err(GroupError::BadFrame { broker: self.addr.clone(), size });
        }
        let mut body = vec![0u8; size as usize];
        self.stream.read_exact(&mut body).await.map_err(io)?;
        Ok(Bytes::from(body))
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{GroupId, JoinGroupRequest};
    use kafka_protocol::protocol::decode_request_header_from_buffer;
    use tokio::net::TcpListener;

    use super::*;

    fn response_frame<R: KafkaRequest>(response: &R::Response, version: i16, correlation_id: i32) -> Bytes
    where
        R::Response: Encodable,
    {
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(correlation_id)
            .encode(&mut buf, R::Response::header_version(version))
            .unwrap();
        response.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn request_frames_carry_size_header_and_body() {
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_member_id(StrBytes::from_static_str("m-1"))
            .with_protocol_type(StrBytes::from_static_str("connect"));
        for version in [4, 5, 6, 9] {
            let mut frame = encode_request(&request, version, 7, "client-a").unwrap().freeze();
            let size = frame.get_i32();
            assert_eq!(size as usize, frame.remaining());
            let header = decode_request_header_from_buffer(&mut frame).unwrap();
            assert_eq!(header.request_api_key, ApiKey::JoinGroup as i16);
            assert_eq!(header.request_api_version, version);
            assert_eq!(header.correlation_id, 7);
            assert_eq!(header.client_id.as_deref(), Some("client-a"));
            let decoded = JoinGroupRequest::decode(&mut frame, version).unwrap();
            assert_eq!(decoded.member_id.as_str(), "m-1");
            assert_eq!(frame.remaining(), 0);
        }
    }

    #[test]
    fn fields_a_version_cannot_carry_fail_to_encode() {
        let request = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
        let err = encode_request(&request, 4, 0, "c").unwrap_err();
        assert!(matches!(err, GroupError::Encode { api: "FindCoordinator", version: 4, .. }), "{err}");
    }

    #[test]
    fn responses_are_matched_by_correlation_id() {
        for version in [0, 4] {
            let response = HeartbeatResponse::default().with_error_code(27);
            let frame = response_frame::<HeartbeatRequest>(&response, version, 42);
            let body = strip_response_header::<HeartbeatRequest>(frame.clone(), version, 42, "b:1").unwrap();
            assert_eq!(decode_body::<HeartbeatRequest>(body, version, "b:1").unwrap().error_code, 27);
            let err = strip_response_header::<HeartbeatRequest>(frame, version, 41, "b:1").unwrap_err();
            assert!(matches!(err, GroupError::CorrelationMismatch { expected: 41, got: 42, .. }));
        }
    }

    #[test]
    fn truncated_responses_are_decode_errors() {
        let response = JoinGroupResponse::default().with_member_id(StrBytes::from_static_str("member"));
        let mut buf = BytesMut::new();
        response.encode(&mut buf, 7).unwrap();
        let truncated = buf.freeze().slice(..10);
        let err = decode_body::<JoinGroupRequest>(truncated, 7, "b:1").unwrap_err();
        assert!(matches!(err, GroupError::Decode { api: "JoinGroup", version: 7, .. }), "{err}");
        assert!(!err.is_retriable());
    }

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        let range = |min, max| Some(VersionRange { min, max });
        let ours = JoinGroupRequest::VERSIONS;
        assert_eq!(negotiate("JoinGroup", ours, 4, range(0, 9), "b").unwrap(), 9);
        assert_eq!(negotiate("JoinGroup", ours, 4, range(0, 5), "b").unwrap(), 5);
        assert_eq!(negotiate("JoinGroup", ours, 4, range(0, 12), "b").unwrap(), 9);
        let too_old = negotiate("JoinGroup", ours, 4, range(0, 3), "b").unwrap_err();
        assert!(too_old.to_string().contains("JoinGroup versions 0..3"), "{too_old}");
        assert!(too_old.to_string().contains("needs 4..9"), "{too_old}");
        assert!(negotiate("JoinGroup", ours, 4, None, "b").is_err());
    }

    #[test]
    fn api_versions_table_or_retry_on_unsupported_version() {
        let table = ApiVersionsResponse::default().with_api_keys(vec![
            ApiVersion::default().with_api_key(ApiKey::JoinGroup as i16).with_min_version(0).with_max_version(9),
            ApiVersion::default().with_api_key(ApiKey::Heartbeat as i16).with_min_version(0).with_max_version(4),
        ]);
        let mut buf = BytesMut::new();
        table.encode(&mut buf, 3).unwrap();
        match parse_api_versions(buf.freeze(), 3, "b").unwrap() {
            ApiVersionsAnswer::Table(t) => {
                assert_eq!(t[&(ApiKey::JoinGroup as i16)], VersionRange { min: 0, max: 9 });
                assert_eq!(t.len(), 2);
            }
            ApiVersionsAnswer::Retry(_) => panic!("expected a table"),
        }

        // A broker that knows ApiVersions up to v2 refuses v4 with a v0-shaped answer.
        let refused = ApiVersionsResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code())
            .with_api_keys(vec![ApiVersion::default()
                .with_api_key(ApiKey::ApiVersions as i16)
                .with_min_version(0)
                .with_max_version(2)]);
        let mut buf = BytesMut::new();
        refused.encode(&mut buf, 0).unwrap();
        assert!(matches!(parse_api_versions(buf.freeze(), 4, "b").unwrap(), ApiVersionsAnswer::Retry(2)));

        // Without a usable range it steps down.
        let mut buf = BytesMut::new();
        ApiVersionsResponse::default().with_error_code(35).encode(&mut buf, 0).unwrap();
        assert!(matches!(parse_api_versions(buf.freeze(), 3, "b").unwrap(), ApiVersionsAnswer::Retry(0)));

        assert!(parse_api_versions(Bytes::from_static(&[0]), 3, "b").is_err());
        assert!(parse_api_versions(Bytes::from_static(&[0, 0, 1]), 3, "b").is_err());
    }

    /// A one-connection broker that answers each request with `reply(request frame)`.
    async fn serve_once(reply: impl Fn(Bytes) -> Vec<u8> + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            loop {
                let Ok(size) = socket.read_i32().await else { return };
                let mut frame = vec![0; size as usize];
                if socket.read_exact(&mut frame).await.is_err() {
                    return;
                }
                if socket.write_all(&reply(Bytes::from(frame))).await.is_err() {
                    return;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn connections_negotiate_down_when_api_versions_is_refused() {
        let addr = serve_once(|mut frame| {
            let header = decode_request_header_from_buffer(&mut frame).unwrap();
            let (version, response) = if header.request_api_version > 2 {
                let refused =
                    ApiVersionsResponse::default().with_error_code(35).with_api_keys(vec![ApiVersion::default()
                        .with_api_key(18)
                        .with_min_version(0)
                        .with_max_version(2)]);
                (0, refused)
            } else {
                let table = ApiVersionsResponse::default().with_api_keys(vec![ApiVersion::default()
                    .with_api_key(ApiKey::JoinGroup as i16)
                    .with_min_version(0)
                    .with_max_version(5)]);
                (header.request_api_version, table)
            };
            let body = response_frame::<ApiVersionsRequest>(&response, version, header.correlation_id);
            let mut out = (body.len() as i32).to_be_bytes().to_vec();
            out.extend_from_slice(&body);
            out
        })
        .await;
        let conn = Connection::open(&addr, "c", Duration::from_secs(5)).await.unwrap();
        assert_eq!(conn.version_for::<JoinGroupRequest>(4).unwrap(), 5);
        assert!(conn.version_for::<HeartbeatRequest>(0).is_err());
    }

    #[tokio::test]
    async fn absurd_frame_sizes_are_refused() {
        let addr = serve_once(|_| (-5i32).to_be_bytes().to_vec()).await;
        let err = Connection::open(&addr, "c", Duration::from_secs(5)).await.err().unwrap();
        assert!(matches!(err, GroupError::BadFrame { size: -5, .. }), "{err}");
    }

    #[tokio::test]
    async fn silent_brokers_time_out() {
        let addr = serve_once(|_| Vec::new()).await;
        let err = Connection::open(&addr, "c", Duration::from_millis(200)).await.err().unwrap();
        assert!(matches!(err, GroupError::Timeout { .. }), "{err}");
        assert!(err.is_retriable());
    }
}
