//! kill -9 of the worker while data flows, then a restart: every line reaches the sink (duplicates allowed,
//! none lost), because offsets are only committed for acknowledged (source) and flushed (sink) records.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connect_tests::*;

const LINES: usize = 100_000;

#[test]
fn no_line_is_lost_across_a_crash() {
    let broker = Broker::start();
    broker.create_topic("crash", 1);
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();

    let worker = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[("offset.flush.interval.ms", "200")],
    );
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "src"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "crash"),
            ("batch.size", "500"),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_properties(
        &sink,
        &[
            ("name", "dst"),
            ("connector.class", "FileStreamSink"),
            ("file", output.to_str().unwrap()),
            ("topics", "crash"),
        ],
    );

    // The input keeps growing while the worker runs, is killed and comes back.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let input = input.clone();
        let writing = writing.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&input)
                .unwrap();
            for chunk in 0..(LINES / 1000) {
                let lines: String = (0..1000)
                    .map(|i| format!("record {:06}\n", chunk * 1000 + i))
                    .collect();
                file.write_all(lines.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
            writing.store(false, Ordering::Release);
        })
    };

    let log = dir.path().join("connect-1.log");
    let mut first = ConnectProcess::standalone(&worker, &[&source, &sink], &log);
    wait_for("the sink to be part-way", Duration::from_secs(60), || {
        (read_lines(&output).len() >= 10_000).then_some(())
    });
    first.kill9();
    let at_crash = read_lines(&output).len();
    assert!(
        writing.load(Ordering::Acquire),
        "the input was complete before the crash; the test proves nothing"
    );

    let mut second = ConnectProcess::standalone(
        &worker,
        &[&source, &sink],
        &dir.path().join("connect-2.log"),
    );
    writer.join().unwrap();
    let expected: Vec<String> = (0..LINES).map(|i| format!("record {i:06}")).collect();
    wait_for(
        "every line in the sink after the restart",
        Duration::from_secs(120),
        || {
            let lines = read_lines(&output);
            let seen: std::collections::HashSet<&String> = lines.iter().collect();
            expected.iter().all(|l| seen.contains(l)).then_some(())
        },
    );
    assert!(
        second.terminate(Duration::from_secs(30)).success(),
        "{}",
        second.output()
    );
    let lines = read_lines(&output);
    eprintln!(
        "{at_crash} lines at the crash, {} in the end for {LINES} distinct ({} duplicates)",
        lines.len(),
        lines.len() - LINES
    );
}
