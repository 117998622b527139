//! The end-to-end test harness: real tansu brokers and real `connect` processes, each on free ports in its own
//! temporary directory, always stopped when the test ends (even on panic, and when the test process dies).
//!
//! Tests read like a user's session: start a broker, write a worker and connector config, start `connect`,
//! look at topics, files and logs.

pub mod bridge;
pub mod broker;
pub mod cluster;
pub mod exporter;
pub mod http_server;
pub mod image;
pub mod mirror;
pub mod process;
pub mod reliability;
pub mod tools;

pub use broker::Broker;
pub use cluster::{all_running, start_cluster, task_workers, DistributedWorker, Rest};
pub use process::ConnectProcess;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A temporary directory for one test; kept (and its path printed) when `CONNECT_TEST_KEEP` is set.
pub fn test_dir() -> tempfile::TempDir {
    let keep = std::env::var_os("CONNECT_TEST_KEEP").is_some();
    let dir = tempfile::Builder::new().prefix("connect-test-").disable_cleanup(keep).tempdir().expect("temp dir");
    if keep {
        eprintln!("test directory kept: {}", dir.path().display());
    }
    dir
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a `.properties` file from key/value pairs.
pub fn write_properties(path: &Path, pairs: &[(&str, &str)]) {
    let body: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(path, body).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The lines of a text file (empty if it does not exist yet).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// A plugin directory holding the given built libraries, each in its own subdirectory as Kafka lays plugins out.
pub fn plugin_dir(root: &Path, libraries: &[&str]) -> PathBuf {
    let dir = root.join("plugins");
    for lib in libraries {
        let source = tools::library(lib);
        let target = dir.join(lib);
        std::fs::create_dir_all(&target).expect("create plugin dir");
        std::fs::copy(&source, target.join(source.file_name().expect("library file name")))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", source.display()));
    }
    std::fs::create_dir_all(&dir).expect("create plugin dir");
    dir
}

/// A standalone worker configuration in `dir` for `broker`, with the given plugin directory, offsets in
/// `dir/offsets.json`, a 1 s offset flush interval, the REST API on a free port of 127.0.0.1 (tests run side by
/// side; Kafka's default `http://:8083` would collide), then `extra` settings (which may set `listeners`).
pub fn worker_properties(dir: &Path, broker: &Broker, plugins: &Path, extra: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("worker.properties");
    let bootstrap = broker.bootstrap();
    let listeners = format!("http://127.0.0.1:{}", broker::free_port());
    let offsets = dir.join("offsets.json");
    let plugins = plugins.display().to_string();
    let offsets = offsets.display().to_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("bootstrap.servers", &bootstrap),
        ("offset.storage.file.filename", &offsets),
        ("offset.flush.interval.ms", "1000"),
        ("plugin.path", &plugins),
        ("default.api.timeout.ms", "10000"),
    ];
    if !extra.iter().any(|(key, _)| *key == "listeners") {
        pairs.push(("listeners", &listeners));
    }
    pairs.extend_from_slice(extra);
    write_properties(&path, &pairs);
    path
}
