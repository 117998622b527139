//! Benchmarks of connect-rs. Run them with `scripts/bench`; see `benches/` for what each measures. This library
//! holds what several benches share.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

/// The end offset of partition 0 of `topic` (0 while unknown).
pub fn end_offset(consumer: &BaseConsumer, topic: &str) -> i64 {
    consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)).map(|(_, high)| high).unwrap_or(0)
}

/// Waits until partition 0 of `topic` holds `n` records; panics after `timeout`.
pub fn wait_for_end(consumer: &BaseConsumer, topic: &str, n: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while end_offset(consumer, topic) < n {
        assert!(Instant::now() < deadline, "{topic} did not reach {n} records");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// User plus system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    usage(libc::RUSAGE_SELF)
}

/// User plus system CPU time of the calling thread so far.
pub fn thread_cpu_time() -> Duration {
    usage(libc::RUSAGE_THREAD)
}

fn usage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
