//! The group client against a scripted fake coordinator: a TCP server built on kafka-protocol's request decoding that
//! plays bootstrap broker and coordinator of a one-member group, and injects errors, dropped connections and silence.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use connect_runtime::group::client::{GroupConfig, GroupError, GroupMember, JoinResult, LeaderView, MemberEvent};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ResponseHeader,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const NOT_COORDINATOR: i16 = ResponseError::NotCoordinator.code();
const COORDINATOR_NOT_AVAILABLE: i16 = ResponseError::CoordinatorNotAvailable.code();
const COORDINATOR_LOAD_IN_PROGRESS: i16 = ResponseError::CoordinatorLoadInProgress.code();
const REBALANCE_IN_PROGRESS: i16 = ResponseError::RebalanceInProgress.code();
const UNKNOWN_MEMBER_ID: i16 = ResponseError::UnknownMemberId.code();
const ILLEGAL_GENERATION: i16 = ResponseError::IllegalGeneration.code();

/// What the fake does next, and what it saw.
#[derive(Default)]
struct FakeState {
    /// Highest advertised version per API key (defaults in `max_version`).
    max_versions: HashMap<i16, i16>,
    generation: i32,
    next_member: u32,
    known_members: HashSet<String>,
    /// When set, another member leads and this is what SyncGroup hands out.
    follower_assignment: Option<Bytes>,
    find_errors: VecDeque<i16>,
    join_errors: VecDeque<i16>,
    sync_errors: VecDeque<i16>,
    heartbeat_errors: VecDeque<i16>,
    /// Close the connection instead of answering the next request of this API.
    drop_on: VecDeque<ApiKey>,
    /// Read requests, answer none.
    silent: bool,

    requests: HashMap<i16, usize>,
    join_member_ids: Vec<String>,
    heartbeat_versions: HashSet<i16>,
    left: Vec<String>,
}

impl FakeState {
    fn max_version(&self, api: ApiKey) -> i16 {
        let default = match api {
            ApiKey::ApiVersions => 4,
            ApiKey::FindCoordinator => 6,
            ApiKey::JoinGroup => 9,
            ApiKey::SyncGroup => 5,
            ApiKey::Heartbeat => 4,
            ApiKey::LeaveGroup => 5,
            _ => -1,
        };
        self.max_versions.get(&(api as i16)).copied().unwrap_or(default)
    }
}

struct Fake {
    addr: String,
    state: Arc<Mutex<FakeState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fake {
    async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                tokio::spawn(serve(socket, shared.clone(), port));
            }
        });
        Fake { addr: format!("127.0.0.1:{port}"), state, server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    fn count(&self, api: ApiKey) -> usize {
        self.with(|s| s.requests.get(&(api as i16)).copied().unwrap_or(0))
    }

    fn config(&self) -> GroupConfig {
        let mut config = GroupConfig::new(vec![self.addr.clone()], "fake-group".into());
        config.client_id = "fake-test".into();
        config.heartbeat_interval = Duration::from_millis(100);
        config.session_timeout = Duration::from_secs(3);
        config.rebalance_timeout = Duration::from_secs(2);
        config.request_timeout = Duration::from_secs(2);
        config
    }
}

fn encode<T: Encodable>(message: &T, version: i16) -> BytesMut {
    let mut buf = BytesMut::new();
    message.encode(&mut buf, version).unwrap();
    buf
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<FakeState>>, port: u16) {
    loop {
        let Ok(size) = socket.read_i32().await else { return };
        let mut frame = vec![0; size as usize];
        if socket.read_exact(&mut frame).await.is_err() {
            return;
        }
        let mut frame = Bytes::from(frame);
        let header = decode_request_header_from_buffer(&mut frame).unwrap();
        let api = ApiKey::try_from(header.request_api_key).unwrap();
        let version = header.request_api_version;
        let body = {
            let mut s = state.lock().unwrap();
            *s.requests.entry(api as i16).or_default() += 1;
            if s.silent {
                continue;
            }
            if s.drop_on.front() == Some(&api) {
                s.drop_on.pop_front();
                return;
            }
            answer(&mut s, api, version, frame, port)
        };
        let mut out = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(header.correlation_id)
            .encode(&mut out, api.response_header_version(version))
            .unwrap();
        out.extend_from_slice(&body);
        let mut framed = (out.len() as i32).to_be_bytes().to_vec();
        framed.extend_from_slice(&out);
        if socket.write_all(&framed).await.is_err() {
            return;
        }
    }
}

fn answer(s: &mut FakeState, api: ApiKey, version: i16, mut body: Bytes, port: u16) -> BytesMut {
    match api {
        ApiKey::ApiVersions => {
            let keys = [
                ApiKey::ApiVersions,
                ApiKey::FindCoordinator,
                ApiKey::JoinGroup,
                ApiKey::SyncGroup,
                ApiKey::Heartbeat,
                ApiKey::LeaveGroup,
            ];
            let table = keys
                .iter()
                .map(|&k| {
                    ApiVersion::default().with_api_key(k as i16).with_min_version(0).with_max_version(s.max_version(k))
                })
                .collect();
            encode(&ApiVersionsResponse::default().with_api_keys(table), version)
        }
        ApiKey::FindCoordinator => {
            let request = FindCoordinatorRequest::decode(&mut body, version).unwrap();
            let error = s.find_errors.pop_front().unwrap_or(0);
            let host = StrBytes::from_static_str("127.0.0.1");
            let response = if version >= 4 {
                let key = request.coordinator_keys.first().cloned().unwrap_or_default();
                FindCoordinatorResponse::default().with_coordinators(vec![Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(1))
                    .with_host(host)
                    .with_port(port as i32)
                    .with_error_code(error)])
            } else {
                FindCoordinatorResponse::default()
                    .with_node_id(BrokerId(1))
                    .with_host(host)
                    .with_port(port as i32)
                    .with_error_code(error)
            };
            encode(&response, version)
        }
        ApiKey::JoinGroup => {
            let request = JoinGroupRequest::decode(&mut body, version).unwrap();
            let member = request.member_id.to_string();
            s.join_member_ids.push(member.clone());
            let response = if member.is_empty() {
                // Like tansu (and Kafka from JoinGroup v4): a new member first gets its id.
                s.next_member += 1;
                let id = format!("member-{}", s.next_member);
                s.known_members.insert(id.clone());
                JoinGroupResponse::default()
                    .with_error_code(ResponseError::MemberIdRequired.code())
                    .with_member_id(StrBytes::from_string(id))
            } else if let Some(error) = s.join_errors.pop_front() {
                if error == UNKNOWN_MEMBER_ID {
                    s.known_members.remove(&member);
                }
                JoinGroupResponse::default().with_error_code(error)
            } else if !s.known_members.contains(&member) {
                JoinGroupResponse::default().with_error_code(UNKNOWN_MEMBER_ID)
            } else {
                s.generation += 1;
                let first = request.protocols.first().cloned().unwrap_or_default();
                let leader = if s.follower_assignment.is_some() { "someone-else".to_string() } else { member.clone() };
                let members = if leader == member {
                    vec![JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(member.clone()))
                        .with_metadata(first.metadata.clone())]
                } else {
                    Vec::new()
                };
                JoinGroupResponse::default()
                    .with_generation_id(s.generation)
                    .with_protocol_type(Some(StrBytes::from_static_str("connect")))
                    .with_protocol_name(Some(first.name))
                    .with_leader(StrBytes::from_string(leader))
                    .with_member_id(StrBytes::from_string(member))
                    .with_members(members)
            };
            encode(&response, version)
        }
        ApiKey::SyncGroup => {
            let request = SyncGroupRequest::decode(&mut body, version).unwrap();
            let response = if let Some(error) = s.sync_errors.pop_front() {
                SyncGroupResponse::default().with_error_code(error)
            } else if request.generation_id != s.generation {
                SyncGroupResponse::default().with_error_code(ILLEGAL_GENERATION)
            } else {
                let assignment = match &s.follower_assignment {
                    Some(bytes) => bytes.clone(),
                    None => request
                        .assignments
                        .iter()
                        .find(|a| a.member_id == request.member_id)
                        .map(|a| a.assignment.clone())
                        .unwrap_or_default(),
                };
                SyncGroupResponse::default().with_assignment(assignment)
            };
            encode(&response, version)
        }
        ApiKey::Heartbeat => {
            let request = HeartbeatRequest::decode(&mut body, version).unwrap();
            s.heartbeat_versions.insert(version);
            let member = request.member_id.to_string();
            let error = if let Some(error) = s.heartbeat_errors.pop_front() {
                if error == UNKNOWN_MEMBER_ID {
                    s.known_members.remove(&member);
                }
                error
            } else if !s.known_members.contains(&member) {
                UNKNOWN_MEMBER_ID
            } else if request.generation_id != s.generation {
                ILLEGAL_GENERATION
            } else {
                0
            };
            encode(&HeartbeatResponse::default().with_error_code(error), version)
        }
        ApiKey::LeaveGroup => {
            let request = LeaveGroupRequest::decode(&mut body, version).unwrap();
            let ids: Vec<String> = if version >= 3 {
                request.members.iter().map(|m| m.member_id.to_string()).collect()
            } else {
                vec![request.member_id.to_string()]
            };
            let mut response = LeaveGroupResponse::default();
            for id in ids {
                s.known_members.remove(&id);
                s.left.push(id.clone());
                if version >= 3 {
                    response.members.push(MemberResponse::default().with_member_id(StrBytes::from_string(id)));
                }
            }
            encode(&response, version)
        }
        other => panic!("the fake coordinator got an unexpected {other:?} request"),
    }
}

fn protocols() -> Vec<(String, Bytes)> {
    vec![
        ("sessioned".to_string(), Bytes::from_static(b"meta-v2")),
        ("compatible".to_string(), Bytes::from_static(b"meta-v1")),
        ("default".to_string(), Bytes::from_static(b"meta-v0")),
    ]
}

fn assign_each(view: &LeaderView<'_>) -> Result<Vec<(String, Bytes)>, String> {
    Ok(view
        .members
        .iter()
        .map(|m| (m.member_id.clone(), Bytes::from(format!("assigned-to-{}", m.member_id))))
        .collect())
}

async fn join(member: &mut GroupMember) -> Result<JoinResult, GroupError> {
    member.join(&protocols(), Instant::now() + Duration::from_secs(10), assign_each).await
}

async fn event_within(member: &mut GroupMember, timeout: Duration) -> Option<MemberEvent> {
    tokio::time::timeout(timeout, member.next_event()).await.ok()
}

#[tokio::test]
async fn joins_as_leader_through_member_id_required_and_coordinator_errors() {
    // Old (non-flexible, single-coordinator FindCoordinator) and newest versions.
    for (find, join, sync, heartbeat, leave) in [(2, 4, 3, 2, 2), (6, 9, 5, 4, 5)] {
        let fake = Fake::start().await;
        fake.with(|s| {
            s.max_versions = HashMap::from([
                (ApiKey::FindCoordinator as i16, find),
                (ApiKey::JoinGroup as i16, join),
                (ApiKey::SyncGroup as i16, sync),
                (ApiKey::Heartbeat as i16, heartbeat),
                (ApiKey::LeaveGroup as i16, leave),
            ]);
            s.find_errors = VecDeque::from([COORDINATOR_NOT_AVAILABLE]);
            s.join_errors = VecDeque::from([NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, REBALANCE_IN_PROGRESS]);
        });
        let mut member = GroupMember::new(fake.config());
        assert_eq!(member.generation(), -1);
        assert!(member.needs_rejoin());
        let mut seen = Vec::new();
        let result = member
            .join(&protocols(), Instant::now() + Duration::from_secs(10), |view| {
                seen.push((view.generation, view.protocol.to_string(), view.members.to_vec()));
                assign_each(view)
            })
            .await
            .unwrap();
        assert_eq!(result.member_id, "member-1");
        assert_eq!(result.leader_id, "member-1");
        assert_eq!(result.protocol, "sessioned");
        assert_eq!(result.generation, 1);
        assert_eq!(result.assignment, Bytes::from_static(b"assigned-to-member-1"));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, 1);
        assert_eq!(seen[0].1, "sessioned");
        assert_eq!(seen[0].2.len(), 1);
        assert_eq!(seen[0].2[0].metadata, Bytes::from_static(b"meta-v2"));
        assert_eq!(member.generation(), 1);
        assert_eq!(member.member_id(), "member-1");
        assert!(!member.needs_rejoin());
        // The failed FindCoordinator, then one after NOT_COORDINATOR and one after COORDINATOR_LOAD_IN_PROGRESS.
        assert!(fake.count(ApiKey::FindCoordinator) >= 4, "{}", fake.count(ApiKey::FindCoordinator));
        assert_eq!(fake.with(|s| s.join_member_ids.clone()), ["", "member-1", "member-1", "member-1", "member-1"]);

        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(fake.count(ApiKey::Heartbeat) >= 2);
        assert_eq!(fake.with(|s| s.heartbeat_versions.clone()), HashSet::from([heartbeat]));
        assert!(event_within(&mut member, Duration::from_millis(200)).await.is_none());
        member.leave().await;
        assert_eq!(fake.with(|s| s.left.clone()), ["member-1"]);
    }
}

#[tokio::test]
async fn followers_get_the_assignment_bytes_as_they_are() {
    let fake = Fake::start().await;
    fake.with(|s| s.follower_assignment = Some(Bytes::new()));
    let mut member = GroupMember::new(fake.config());
    let mut called = false;
    let result = member
        .join(&protocols(), Instant::now() + Duration::from_secs(5), |_| {
            called = true;
            Ok(Vec::new())
        })
        .await
        .unwrap();
    assert!(!called, "a follower computes no assignment");
    assert_eq!(result.leader_id, "someone-else");
    assert!(result.assignment.is_empty(), "an empty assignment is returned, not retried");
    assert_eq!(fake.count(ApiKey::JoinGroup), 2);

    fake.with(|s| s.follower_assignment = Some(Bytes::from_static(b"from-the-leader")));
    let result = join(&mut member).await.unwrap();
    assert_eq!(result.assignment, Bytes::from_static(b"from-the-leader"));
    assert_eq!(result.generation, 2);
}

#[tokio::test]
async fn rebalance_in_progress_on_heartbeat_asks_for_a_rejoin() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();
    fake.with(|s| s.heartbeat_errors.push_back(REBALANCE_IN_PROGRESS));
    let event = event_within(&mut member, Duration::from_secs(2)).await;
    assert!(matches!(event, Some(MemberEvent::RebalanceNeeded)), "{event:?}");
    assert!(member.needs_rejoin());
    // Heartbeats go on (they keep the session alive until the herder rejoins), reporting the rebalance once.
    let before = fake.count(ApiKey::Heartbeat);
    fake.with(|s| s.heartbeat_errors.extend([REBALANCE_IN_PROGRESS, REBALANCE_IN_PROGRESS]));
    assert!(event_within(&mut member, Duration::from_millis(500)).await.is_none());
    assert!(fake.count(ApiKey::Heartbeat) > before + 2);

    let result = join(&mut member).await.unwrap();
    assert_eq!(result.generation, 2);
    assert_eq!(result.member_id, "member-1");
    assert!(!member.needs_rejoin());

    member.request_rejoin();
    assert!(member.needs_rejoin());
}

#[tokio::test]
async fn unknown_member_id_resets_the_member_id_and_illegal_generation_fences() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();

    fake.with(|s| s.heartbeat_errors.push_back(ILLEGAL_GENERATION));
    let event = event_within(&mut member, Duration::from_secs(2)).await;
    assert!(matches!(event, Some(MemberEvent::Fenced)), "{event:?}");
    assert!(member.needs_rejoin());
    assert_eq!(member.member_id(), "member-1", "ILLEGAL_GENERATION keeps the member id");
    // The fenced generation's heartbeats stop.
    let count = fake.count(ApiKey::Heartbeat);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fake.count(ApiKey::Heartbeat), count);
    assert_eq!(join(&mut member).await.unwrap().member_id, "member-1");

    fake.with(|s| s.heartbeat_errors.push_back(UNKNOWN_MEMBER_ID));
    let event = event_within(&mut member, Duration::from_secs(2)).await;
    assert!(matches!(event, Some(MemberEvent::Fenced)), "{event:?}");
    assert!(member.needs_rejoin());
    assert_eq!(member.member_id(), "", "UNKNOWN_MEMBER_ID forgets the member id");
    let result = join(&mut member).await.unwrap();
    assert_eq!(result.member_id, "member-2");

    // The same during a join: the coordinator forgot us, so the member joins anew.
    fake.with(|s| s.join_errors.push_back(UNKNOWN_MEMBER_ID));
    let result = join(&mut member).await.unwrap();
    assert_eq!(result.member_id, "member-3");
    let ids = fake.with(|s| s.join_member_ids.clone());
    assert_eq!(&ids[ids.len() - 3..], ["member-2", "", "member-3"]);
}

#[tokio::test]
async fn dropped_connections_are_recovered() {
    let fake = Fake::start().await;
    fake.with(|s| s.drop_on = VecDeque::from([ApiKey::JoinGroup, ApiKey::SyncGroup]));
    let mut member = GroupMember::new(fake.config());
    let result = join(&mut member).await.unwrap();
    assert_eq!(result.assignment, Bytes::from_static(b"assigned-to-member-1"));
    assert!(fake.count(ApiKey::SyncGroup) >= 2);

    fake.with(|s| s.drop_on.push_back(ApiKey::Heartbeat));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let finds = fake.count(ApiKey::FindCoordinator);
    let beats = fake.count(ApiKey::Heartbeat);
    assert!(event_within(&mut member, Duration::from_millis(600)).await.is_none(), "a short outage is no event");
    assert!(fake.with(|s| s.drop_on.is_empty()));
    assert!(fake.count(ApiKey::Heartbeat) > beats + 2, "heartbeats resume");
    assert!(fake.count(ApiKey::FindCoordinator) > finds, "the member looked for the coordinator again");
    assert!(!member.needs_rejoin());
}

#[tokio::test]
async fn a_silent_coordinator_is_lost_once_then_back() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let silenced = Instant::now();
    fake.with(|s| s.silent = true);
    let event = event_within(&mut member, Duration::from_secs(3)).await;
    let Some(MemberEvent::CoordinatorLost { since }) = event else { panic!("expected CoordinatorLost, got {event:?}") };
    // The last answered heartbeat was at most one interval before the silence; the loss is reported about one
    // heartbeat interval after the missed one (at least 1 s here), well within the 3 s session.
    let reported = silenced.elapsed();
    assert!(since <= silenced + Duration::from_millis(50), "since is the last successful heartbeat");
    assert!(reported >= Duration::from_millis(700) && reported < Duration::from_millis(1800), "{reported:?}");
    assert!(member.needs_rejoin());
    // Reported once, however long the silence lasts.
    assert!(event_within(&mut member, Duration::from_millis(1500)).await.is_none());

    fake.with(|s| s.silent = false);
    let event = event_within(&mut member, Duration::from_secs(3)).await;
    assert!(matches!(event, Some(MemberEvent::CoordinatorBack)), "{event:?}");
    assert!(member.needs_rejoin(), "the member rejoins after the coordinator is back");
    let result = join(&mut member).await.unwrap();
    assert_eq!(result.generation, 2);
    assert!(!member.needs_rejoin());
}

#[tokio::test]
async fn join_group_older_than_v4_is_refused() {
    let fake = Fake::start().await;
    fake.with(|s| s.max_versions.insert(ApiKey::JoinGroup as i16, 3));
    let mut member = GroupMember::new(fake.config());
    let started = Instant::now();
    let err = join(&mut member).await.unwrap_err();
    assert!(matches!(err, GroupError::UnsupportedVersion { api: "JoinGroup", .. }), "{err}");
    assert!(!err.is_retriable());
    assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not at the deadline");
    assert_eq!(fake.count(ApiKey::JoinGroup), 0);
}

#[tokio::test]
async fn leave_sends_leave_group_and_stops_heartbeats() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    member.leave().await;
    assert_eq!(fake.with(|s| s.left.clone()), ["member-1"]);
    assert_eq!(member.generation(), -1);
    assert_eq!(member.member_id(), "");
    assert!(member.needs_rejoin());
    let beats = fake.count(ApiKey::Heartbeat);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fake.count(ApiKey::Heartbeat), beats);
    assert!(event_within(&mut member, Duration::from_millis(100)).await.is_none());
}

#[tokio::test]
async fn dropping_the_member_stops_its_heartbeats() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    drop(member);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let beats = fake.count(ApiKey::Heartbeat);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fake.count(ApiKey::Heartbeat), beats);
    assert!(fake.with(|s| s.left.is_empty()), "no LeaveGroup on drop");
}

#[tokio::test]
async fn assignment_failures_are_returned() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    let err = member
        .join(&protocols(), Instant::now() + Duration::from_secs(5), |_| Err("cannot decode metadata".to_string()))
        .await
        .unwrap_err();
    assert!(matches!(err, GroupError::Assignment { generation: 1, .. }), "{err}");
    assert!(err.to_string().contains("cannot decode metadata"));
    assert_eq!(fake.count(ApiKey::SyncGroup), 0);
    assert!(member.needs_rejoin());
}

#[tokio::test]
async fn an_unreachable_cluster_fails_at_the_deadline() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut member = GroupMember::new(GroupConfig::new(vec![format!("127.0.0.1:{port}")], "g".into()));
    let started = Instant::now();
    let err = member.join(&protocols(), Instant::now() + Duration::from_millis(800), assign_each).await.unwrap_err();
    assert!(matches!(err, GroupError::DeadlineExceeded { .. }), "{err}");
    assert!(err.is_retriable());
    assert!(err.to_string().contains(&port.to_string()), "names the last error: {err}");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(750) && elapsed < Duration::from_secs(3), "{elapsed:?}");

    let mut member = GroupMember::new(GroupConfig::new(Vec::new(), "g".into()));
    let err = member.join(&protocols(), Instant::now() + Duration::from_secs(5), assign_each).await.unwrap_err();
    assert!(matches!(err, GroupError::NoBootstrapServers { .. }), "{err}");
}

#[tokio::test]
async fn heartbeats_find_a_moved_coordinator() {
    let fake = Fake::start().await;
    let mut member = GroupMember::new(fake.config());
    join(&mut member).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let finds = fake.count(ApiKey::FindCoordinator);
    fake.with(|s| s.heartbeat_errors.extend([NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE]));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(fake.count(ApiKey::FindCoordinator) >= finds + 2, "each coordinator error sends the member looking");
    assert!(event_within(&mut member, Duration::from_millis(100)).await.is_none());
    assert!(!member.needs_rejoin());
}
