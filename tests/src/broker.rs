//! A tansu broker (sqlite storage) on a free port in a temporary directory, plus the client operations tests
//! need: create topics, produce, read a topic from the beginning.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use tempfile::TempDir;

use crate::tools;

/// A free TCP port on 127.0.0.1, never one this process handed out before: the kernel may offer a port again
/// as soon as the probe released it, before the process it was meant for binds it (two workers of one cluster
/// once got the same port).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Makes a child process die with the test process, so a killed test run leaves no broker behind.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// A record read back from a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumed {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Option<Vec<u8>>,
    /// Headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Consumed {
    /// The value as UTF-8 text.
    pub fn value_str(&self) -> &str {
        self.value.as_deref().map(|v| std::str::from_utf8(v).expect("utf-8 value")).unwrap_or("")
    }
}

/// A running tansu broker; stopped on drop.
pub struct Broker {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Broker {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> Broker {
        let dir = tempfile::tempdir().expect("broker temp dir");
        let port = free_port();
        let child = Self::spawn(dir.path(), port);
        let broker = Broker { child, port, dir };
        broker.wait_listening();
        broker
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("broker.log")).expect("log");
        let mut command = Command::new(tools::tansu());
        command
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            // tansu resolves the sqlite path against its working directory.
            .args(["--storage-engine", "sqlite://broker.db"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        die_with_parent(&mut command);
        command.spawn().expect("start tansu")
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the broker (SIGKILL); its storage stays for [`Broker::restart`].
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes the broker (SIGSTOP): connections are still accepted by the kernel, nothing is answered.
    pub fn pause(&self) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGSTOP);
        }
    }

    /// Lets a paused broker run again (SIGCONT).
    pub fn resume(&self) {
        // SAFETY: as in `pause`.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGCONT);
        }
    }

    /// Starts the broker again on the same port and storage.
    pub fn restart(&mut self) {
        self.child = Self::spawn(self.dir.path(), self.port);
        self.wait_listening();
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// The broker's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Client settings for this broker (`bootstrap.servers` only), for the tests' and benches' own clients.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.bootstrap());
        config
    }

    /// Creates a topic (tansu 0.6.0 does not create topics on first use).
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create().expect("admin client");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let results = runtime
            .block_on(admin.create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            ))
            .expect("create_topics");
        for result in results {
            if let Err((topic, code)) = result {
                panic!("cannot create topic {topic}: {code}");
            }
        }
    }

    /// Produces values (with optional keys) to `topic` and waits for them to be acknowledged.
    pub fn produce(&self, topic: &str, records: &[(Option<&[u8]>, &[u8])]) {
        let producer: ThreadedProducer<DefaultProducerContext> =
            self.client_config().set("acks", "all").create().expect("producer");
        for (key, value) in records {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(*value);
            if let Some(key) = key {
                record = record.key(*key);
            }
            producer.send(record).map_err(|(e, _)| e).expect("send");
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    }

    /// The number of partitions of `topic` (0 when it does not exist).
    pub fn partitions(&self, topic: &str) -> usize {
        let consumer: BaseConsumer = self.client_config().create().expect("consumer");
        let metadata = metadata_of(&consumer, topic, Instant::now() + Duration::from_secs(30));
        metadata.topics().first().map(|t| t.partitions().len()).unwrap_or(0)
    }

    /// Reads `topic` from the beginning until `count` records arrived or `timeout` passed.
    pub fn consume(&self, topic: &str, count: usize, timeout: Duration) -> Vec<Consumed> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", format!("test-reader-{}", free_port()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let deadline = Instant::now() + timeout;
        let metadata = metadata_of(&consumer, topic, deadline.max(Instant::now() + Duration::from_secs(30)));
        let partitions = metadata.topics().first().map(|t| t.partitions().len()).unwrap_or(0);
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition_offset(topic, p, Offset::Beginning).expect("partition");
        }
        consumer.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        while out.len() < count && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => out.push(Consumed {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect())
                        .unwrap_or_default(),
                }),
                Some(Err(e)) => eprintln!("test consumer: {e}"),
                None => {}
            }
        }
        out
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The metadata of `topic`, asked again until `deadline`: a loaded broker may take longer than one request allows.
fn metadata_of(consumer: &BaseConsumer, topic: &str, deadline: Instant) -> rdkafka::metadata::Metadata {
    loop {
        match consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) {
            Ok(metadata) => return metadata,
            Err(err) if Instant::now() >= deadline => panic!("metadata of {topic}: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
