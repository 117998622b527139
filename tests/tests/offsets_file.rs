//! The standalone offsets file when its disk is full or read-only: the worker says so clearly (naming the file),
//! keeps the last good file whole, goes on running, and commits again once it can. The file lives on a small tmpfs
//! that the test mounts (it needs root, as the CI machine has).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use connect_tests::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { path: path.to_path_buf() }
    }

    fn remount(&self, mode: &str) {
        let out =
            Command::new("mount").args(["-o", &format!("remount,{mode}")]).arg(&self.path).output().expect("mount");
        assert!(out.status.success(), "remount {mode}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Fills the disk to the last byte with a file of its own.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&[0u8]);
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn position(offsets: &Path) -> Option<u64> {
    let doc: Value = serde_json::from_slice(&std::fs::read(offsets).ok()?).ok()?;
    doc["offsets"][0]["value"]["position"].as_u64()
}

fn append(path: &Path, from: usize, to: usize) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    for i in from..to {
        writeln!(file, "line {i:04}").unwrap();
    }
}

#[test]
fn a_full_or_read_only_disk_keeps_the_last_good_offsets_file_and_the_worker_recovers() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    let dir = test_dir();
    let disk = SmallDisk::mount(&dir.path().join("small"), "128k");
    let offsets = disk.path.join("offsets.json");
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let input = dir.path().join("in.txt");
    append(&input, 0, 10);
    let worker = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[("offset.storage.file.filename", offsets.to_str().unwrap())],
    );
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "src"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "lines"),
        ],
    );
    let mut connect = ConnectProcess::standalone(&worker, &[&source], &dir.path().join("connect.log"));
    let size_of = |n: usize| (n * "line 0000\n".len()) as u64;
    wait_for("the first offsets", WAIT, || (position(&offsets) == Some(size_of(10))).then_some(()));

    // Disk full: the commit fails with the reason and the file's name; the file stays whole; lines keep flowing.
    let good = std::fs::read(&offsets).unwrap();
    let filler = disk.fill();
    append(&input, 10, 20);
    wait_for("the records of the new lines", WAIT, || {
        (broker.consume("lines", 20, Duration::from_secs(2)).len() >= 20).then_some(())
    });
    let log = wait_for("the disk-full error", WAIT, || {
        let log = connect.output();
        log.contains("No space left on device").then_some(log)
    });
    let line = log.lines().find(|l| l.contains("No space left on device")).unwrap().to_string();
    assert!(line.contains(offsets.to_str().unwrap()), "the error does not name the offsets file: {line}");
    assert!(line.contains("previous offsets file is kept"), "{line}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(std::fs::read(&offsets).unwrap(), good, "the offsets file changed while the disk was full");
    let leftovers: Vec<_> = std::fs::read_dir(&disk.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");

    // Space again: the offsets catch up without a restart.
    std::fs::remove_file(&filler).unwrap();
    wait_for("the offsets after the disk-full episode", WAIT, || {
        (position(&offsets) == Some(size_of(20))).then_some(())
    });

    // Read-only: the same.
    disk.remount("ro");
    append(&input, 20, 30);
    wait_for("the read-only error", WAIT, || connect.output().contains("Read-only file system").then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(position(&offsets), Some(size_of(20)));
    disk.remount("rw");
    wait_for("the offsets after the read-only episode", WAIT, || {
        (position(&offsets) == Some(size_of(30))).then_some(())
    });

    let status = connect.terminate(Duration::from_secs(30));
    assert!(status.success(), "connect exited with {status}:\n{}", connect.output());
    assert_eq!(position(&offsets), Some(size_of(30)));
}
