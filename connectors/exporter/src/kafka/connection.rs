//! One connection to a broker: TCP (or TLS), the ApiVersions exchange, SASL, then pipelined requests: a writer
//! task sends frames as callers hand them in, a reader task matches answers to requests in order (Kafka answers
//! the requests of one connection in the order it received them).
//!
//! A timeout or a broken stream marks the connection unusable and fails every request still waiting on it; it
//! never stays out of step with the broker.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes, VersionRange};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{sasl, ClientSettings, KafkaError, KafkaRequest};

/// Frames larger than this are refused (Kafka's own `socket.request.max.bytes` default).
const MAX_FRAME: usize = 100 * 1024 * 1024;

/// How many requests may queue for the writer of one connection (callers wait beyond that).
const MAX_QUEUED: usize = 64;

/// A plain or TLS stream.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A request frame on its way to the writer, and where its answer goes.
struct Job {
    frame: BytesMut,
    reply: oneshot::Sender<Bytes>,
}

/// Answers still owed by the broker, oldest first: (correlation id, where the answer goes).
type Pending = Arc<Mutex<VecDeque<(i32, oneshot::Sender<Bytes>)>>>;

/// An open, authenticated connection to one broker.
pub struct Connection {
    addr: String,
    client_id: String,
    versions: HashMap<i16, VersionRange>,
    jobs: mpsc::Sender<Job>,
    broken: Arc<AtomicBool>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Connection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Connection {
    /// Connects, negotiates versions and authenticates, all within the request timeout.
    pub(crate) async fn open(addr: &str, settings: &ClientSettings) -> Result<Connection, KafkaError> {
        let timeout = settings.request_timeout;
        let setup = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|source| KafkaError::Connect { broker: addr.to_string(), source })?;
            let _ = tcp.set_nodelay(true);
            let mut stream: Box<dyn Stream> = match &settings.tls {
                Some(tls) => Box::new(tls.connect(addr, tcp).await?),
                None => Box::new(tcp),
            };
            let mut setup = Setup { stream: &mut stream, addr, client_id: &settings.client_id, correlation: 0 };
            let versions = setup.api_versions().await?;
            if let Some(sasl) = &settings.sasl {
                sasl::authenticate(&mut setup, &versions, sasl).await?;
            }
            let correlation = setup.correlation;
            Ok::<_, KafkaError>((stream, versions, correlation))
        };
        let (stream, versions, correlation) = tokio::time::timeout(timeout, setup)
            .await
            .map_err(|_| KafkaError::Timeout { broker: addr.to_string(), api: "connect", timeout })??;
        tracing::debug!("connected to {addr} ({} APIs)", versions.len());
        let (read, write) = tokio::io::split(stream);
        let (jobs, receiver) = mpsc::channel(MAX_QUEUED);
        let pending: Pending = Arc::new(Mutex::new(VecDeque::new()));
        let broken = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(write_loop(write, receiver, pending.clone(), broken.clone(), correlation));
        let reader = tokio::spawn(read_loop(read, pending, broken.clone(), addr.to_string()));
        Ok(Connection {
            addr: addr.to_string(),
            client_id: settings.client_id.clone(),
            versions,
            jobs,
            broken,
            tasks: [writer, reader],
        })
    }

    /// Whether requests can still be sent.
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken.load(Ordering::Acquire) && !self.jobs.is_closed()
    }

    /// The highest version of `R` in `min..=max` that both this client and the broker support.
    pub fn version<R: KafkaRequest>(&self, min: i16, max: i16) -> Result<i16, KafkaError> {
        negotiate::<R>(&self.versions, min, max, &self.addr)
    }

    /// Sends `request` at `version` and decodes the answer.
    pub(crate) async fn send<R: KafkaRequest>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, KafkaError> {
        let frame = encode(request, version, 0, &self.client_id).map_err(|e| e.at(&self.addr))?;
        let (reply, answer) = oneshot::channel();
        let lost = |message: &str| KafkaError::Io { broker: self.addr.clone(), message: message.to_string() };
        self.jobs.send(Job { frame, reply }).await.map_err(|_| lost("the connection is closed"))?;
        let body = match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => return Err(lost("the connection closed before the answer came")),
            Err(_) => {
                // A broker that does not answer in time is treated as gone: the next request reconnects.
                self.broken.store(true, Ordering::Release);
                return Err(KafkaError::Timeout { broker: self.addr.clone(), api: R::NAME, timeout });
            }
        };
        decode::<R>(body, version, &self.addr)
    }
}

/// The sequential request/answer exchange before the connection is pipelined (ApiVersions, SASL).
pub(crate) struct Setup<'a> {
    stream: &'a mut Box<dyn Stream>,
    addr: &'a str,
    client_id: &'a str,
    correlation: i32,
}

impl Setup<'_> {
    /// The broker's address.
    pub(crate) fn addr(&self) -> &str {
        self.addr
    }

    /// Sends one request and reads its answer.
    pub(crate) async fn round_trip<R: KafkaRequest>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, KafkaError> {
        let body = self.exchange(request, version).await?;
        decode::<R>(body, version, self.addr)
    }

    async fn exchange<R: KafkaRequest>(&mut self, request: &R, version: i16) -> Result<Bytes, KafkaError> {
        let correlation = self.correlation;
        self.correlation += 1;
        let frame = encode(request, version, correlation, self.client_id).map_err(|e| e.at(self.addr))?;
        let io = |e: std::io::Error| KafkaError::Io { broker: self.addr.to_string(), message: e.to_string() };
        self.stream.write_all(&frame).await.map_err(io)?;
        let body = read_frame(self.stream, self.addr).await?;
        if body.len() < 4 || i32::from_be_bytes([body[0], body[1], body[2], body[3]]) != correlation {
            return Err(KafkaError::Io { broker: self.addr.to_string(), message: "answer out of step".into() });
        }
        Ok(body)
    }

    /// ApiVersions, stepping down when the broker refuses our version (KIP-511: the refusal is laid out as v0).
    async fn api_versions(&mut self) -> Result<HashMap<i16, VersionRange>, KafkaError> {
        let mut version = ApiVersionsRequest::VERSIONS.max.min(3);
        for _ in 0..3 {
            let request = if version >= 3 {
                ApiVersionsRequest::default()
                    .with_client_software_name(StrBytes::from_static_str("connect-rs-exporter"))
                    .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")))
            } else {
                ApiVersionsRequest::default()
            };
            let mut body = self.exchange(&request, version).await?;
            // ApiVersions answers always carry a v0 response header (KIP-511).
            ResponseHeader::decode(&mut body, 0).map_err(|e| codec::<ApiVersionsRequest>(self.addr, version, e))?;
            let code = if body.len() >= 2 { i16::from_be_bytes([body[0], body[1]]) } else { -1 };
            let unsupported = code == kafka_protocol::ResponseError::UnsupportedVersion.code();
            let layout = if unsupported { 0 } else { version };
            let response = <ApiVersionsRequest as KafkaRequest>::Response::decode(&mut body, layout)
                .map_err(|e| codec::<ApiVersionsRequest>(self.addr, layout, e))?;
            let table: HashMap<i16, VersionRange> = response
                .api_keys
                .iter()
                .map(|k| (k.api_key, VersionRange { min: k.min_version, max: k.max_version }))
                .collect();
            if unsupported {
                let theirs = table.get(&(ApiKey::ApiVersions as i16)).map(|r| r.max).unwrap_or(0);
                version = theirs.min(version - 1).max(0);
                continue;
            }
            if response.error_code != 0 {
                return Err(KafkaError::Broker {
                    broker: self.addr.to_string(),
                    api: "ApiVersions",
                    code: response.error_code,
                    message: super::error::error_name(response.error_code),
                });
            }
            return Ok(table);
        }
        Err(KafkaError::Unsupported {
            broker: self.addr.to_string(),
            api: "ApiVersions",
            needed: "0..3".into(),
            offered: "none".into(),
        })
    }
}

/// The highest version in `min..=max`, this client's range and the broker's.
pub(crate) fn negotiate<R: KafkaRequest>(
    versions: &HashMap<i16, VersionRange>,
    min: i16,
    max: i16,
    addr: &str,
) -> Result<i16, KafkaError> {
    let ours = VersionRange { min: min.max(R::VERSIONS.min), max: max.min(R::VERSIONS.max) };
    let theirs = versions.get(&(R::KEY as i16)).copied();
    let common = theirs.map(|t| ours.intersect(&t));
    match common {
        Some(common) if !common.is_empty() => Ok(common.max),
        _ => Err(KafkaError::Unsupported {
            broker: addr.to_string(),
            api: R::NAME,
            needed: ours.to_string(),
            offered: theirs.map(|t| t.to_string()).unwrap_or_else(|| "none".into()),
        }),
    }
}

fn codec<R: KafkaRequest>(addr: &str, version: i16, e: impl std::fmt::Display) -> KafkaError {
    KafkaError::Codec { broker: addr.to_string(), api: R::NAME, version, message: e.to_string() }
}

/// A complete frame: size, request header (in the version the API and version need), body.
fn encode<R: KafkaRequest>(
    request: &R,
    version: i16,
    correlation: i32,
    client_id: &str,
) -> Result<BytesMut, KafkaError> {
    let error = |e: String| KafkaError::Codec { broker: String::new(), api: R::NAME, version, message: e };
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut frame = BytesMut::with_capacity(64);
    frame.put_i32(0);
    header.encode(&mut frame, R::header_version(version)).map_err(|e| error(e.to_string()))?;
    request.encode(&mut frame, version).map_err(|e| error(e.to_string()))?;
    let size = i32::try_from(frame.len() - 4).map_err(|_| error("request too large".into()))?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// Decodes an answer: the response header (its correlation id was checked by the reader) and the body.
fn decode<R: KafkaRequest>(mut body: Bytes, version: i16, addr: &str) -> Result<R::Response, KafkaError> {
    ResponseHeader::decode(&mut body, R::Response::header_version(version))
        .map_err(|e| codec::<R>(addr, version, e))?;
    R::Response::decode(&mut body, version).map_err(|e| codec::<R>(addr, version, e))
}

async fn read_frame<S: AsyncRead + Unpin + ?Sized>(stream: &mut S, addr: &str) -> Result<Bytes, KafkaError> {
    let io = |e: std::io::Error| KafkaError::Io { broker: addr.to_string(), message: e.to_string() };
    let size = stream.read_i32().await.map_err(io)?;
    let size = usize::try_from(size).ok().filter(|s| *s <= MAX_FRAME).ok_or_else(|| KafkaError::Io {
        broker: addr.to_string(),
        message: format!("frame of {size} bytes refused"),
    })?;
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).await.map_err(io)?;
    Ok(Bytes::from(body))
}

async fn write_loop(
    mut write: tokio::io::WriteHalf<Box<dyn Stream>>,
    mut jobs: mpsc::Receiver<Job>,
    pending: Pending,
    broken: Arc<AtomicBool>,
    mut correlation: i32,
) {
    while let Some(Job { mut frame, reply }) = jobs.recv().await {
        if broken.load(Ordering::Acquire) {
            break;
        }
        // size (4) + api key (2) + api version (2), then the correlation id in every header version.
        frame[8..12].copy_from_slice(&correlation.to_be_bytes());
        pending.lock().unwrap_or_else(|p| p.into_inner()).push_back((correlation, reply));
        correlation = correlation.wrapping_add(1);
        if write.write_all(&frame).await.is_err() {
            break;
        }
    }
    broken.store(true, Ordering::Release);
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

async fn read_loop(
    mut read: tokio::io::ReadHalf<Box<dyn Stream>>,
    pending: Pending,
    broken: Arc<AtomicBool>,
    addr: String,
) {
    loop {
        let body = match read_frame(&mut read, &addr).await {
            Ok(body) => body,
            Err(err) => {
                tracing::debug!("{err}");
                break;
            }
        };
        let correlation = (body.len() >= 4).then(|| (&body[..4]).get_i32());
        let next = pending.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        match (next, correlation) {
            (Some((expected, reply)), Some(got)) if expected == got => {
                let _ = reply.send(body);
            }
            _ => {
                tracing::warn!("{addr} answered out of step; reconnecting");
                break;
            }
        }
    }
    broken.store(true, Ordering::Release);
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
}
