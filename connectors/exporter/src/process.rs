//! The series every Go exporter serves beside its own, under client_golang's names: `kafka_exporter_build_info`,
//! the process collector's `process_*` (read from /proc, Linux only; elsewhere they are left out) and
//! `promhttp_metric_handler_requests_*`. They describe the process serving the metrics: in connector mode, the
//! worker.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::render::{Family, Value};

/// Scrapes served and those in flight (promhttp's handler metrics). Every scrape is answered with 200: a Kafka
/// failure gives fewer series, never an HTTP error.
#[derive(Debug, Default)]
pub struct HandlerCounts {
    /// Answered (with 200).
    pub ok: AtomicU64,
    /// Being answered now.
    pub in_flight: AtomicU64,
}

/// Go's names of the machine's architecture, as `goarch` reports them.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// `kafka_exporter_build_info`, `process_*`, `promhttp_metric_handler_requests_*`.
pub fn families(handler: &HandlerCounts) -> Vec<Family> {
    let mut build = Family::gauge(
        "kafka_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which \
         kafka_exporter was built, and the goos and goarch for the build.",
    );
    let pairs = [
        ("branch", ""),
        ("goarch", go_arch()),
        ("goos", std::env::consts::OS),
        // There is no Go: the label keeps its place for dashboards that group by it.
        ("goversion", concat!("rust (connect-rs ", env!("CARGO_PKG_VERSION"), ")")),
        ("revision", option_env!("CONNECT_RS_REVISION").unwrap_or("unknown")),
        ("tags", "connect-rs"),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    build.add_labels(&pairs, Value::Int(1));
    let mut all = vec![build];
    all.extend(process());
    let mut requests =
        Family::counter("promhttp_metric_handler_requests", "Total number of scrapes by HTTP status code.");
    requests.add_labels(&[("code", "200")], Value::Count(handler.ok.load(Ordering::Relaxed)));
    // promhttp shows the error codes from the start too; here they stay at 0.
    requests.add_labels(&[("code", "500")], Value::Count(0));
    requests.add_labels(&[("code", "503")], Value::Count(0));
    let mut in_flight =
        Family::gauge("promhttp_metric_handler_requests_in_flight", "Current number of scrapes being served.");
    in_flight.add_labels(&[], Value::Int(handler.in_flight.load(Ordering::Relaxed) as i64));
    all.push(requests);
    all.push(in_flight);
    all
}

/// client_golang's process collector, from /proc/self.
fn process() -> Vec<Family> {
    let Some(stat) = Stat::read() else { return Vec::new() };
    let mut all = Vec::new();
    let mut single = |family: Family, value: Value| {
        let mut family = family;
        family.add_labels(&[], value);
        all.push(family);
    };
    single(
        Family::counter("process_cpu_seconds", "Total user and system CPU time spent in seconds."),
        Value::FloatCount(stat.cpu_seconds),
    );
    if let Some(open) = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count()) {
        single(Family::gauge("process_open_fds", "Number of open file descriptors."), Value::Int(open as i64));
    }
    if let Some(max) = limit("Max open files") {
        single(Family::gauge("process_max_fds", "Maximum number of open file descriptors."), Value::Int(max));
    }
    single(Family::gauge("process_virtual_memory_bytes", "Virtual memory size in bytes."), Value::Int(stat.vsize));
    if let Some(max) = limit("Max address space") {
        single(
            Family::gauge("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes."),
            Value::Int(max),
        );
    }
    single(
        Family::gauge("process_resident_memory_bytes", "Resident memory size in bytes."),
        Value::Int(stat.rss_bytes),
    );
    single(
        Family::gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
        Value::Float(stat.start_time),
    );
    all
}

struct Stat {
    cpu_seconds: f64,
    vsize: i64,
    rss_bytes: i64,
    start_time: f64,
}

impl Stat {
    fn read() -> Option<Stat> {
        let text = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
        let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
        // Numbering of proc(5) starts at 1 with pid; `fields[0]` is field 3 (state).
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
        if ticks <= 0.0 || page <= 0.0 {
            return None;
        }
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<f64>().ok()))?;
        Some(Stat {
            cpu_seconds: (field(14)? + field(15)?) / ticks,
            vsize: field(23)? as i64,
            rss_bytes: (field(24)? * page) as i64,
            start_time: boot + field(22)? / ticks,
        })
    }
}

/// A soft limit of /proc/self/limits (`None` when unlimited or unreadable).
fn limit(name: &str) -> Option<i64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

impl Family {
    fn add_labels(&mut self, pairs: &[(&str, &str)], value: Value) {
        self.samples.push((pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_metrics_read_from_proc() {
        let families = families(&HandlerCounts::default());
        let names: Vec<&str> = families.iter().map(|f| f.name).collect();
        for name in [
            "kafka_exporter_build_info",
            "process_cpu_seconds",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
            "promhttp_metric_handler_requests",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let value = |name: &str| families.iter().find(|f| f.name == name).unwrap().samples[0].1;
        let Value::Int(rss) = value("process_resident_memory_bytes") else { panic!() };
        assert!(rss > 1_000_000, "{rss}");
        let Value::Float(start) = value("process_start_time_seconds") else { panic!() };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!(start > now - 3600.0 && start <= now + 1.0, "{start} vs {now}");
    }
}
