//! What the container image tests need: skopeo and umoci (Debian packages, installed on first use), a small
//! HTTP file server on a free port of 127.0.0.1 (artifacts to download), unpacking an image into a root file
//! system, and running that root file system's `connect` through `chroot` as the image's user.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Installs the Debian packages `packages` with apt-get when `binary` is missing (one installer at a time).
pub fn ensure_tool(binary: &str, packages: &[&str]) {
    let found = |name: &str| {
        Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success())
    };
    if found(binary) {
        return;
    }
    // nextest runs each test in its own process: one installer at a time across processes.
    let dir = crate::tools::tools_dir();
    std::fs::create_dir_all(&dir).expect("create the tool cache");
    let lock = std::fs::File::create(dir.join(".apt.lock")).expect("create the apt lock");
    lock.lock().expect("take the apt lock");
    if found(binary) {
        return;
    }
    eprintln!("installing {} with apt-get (once)", packages.join(" "));
    let update =
        Command::new("apt-get").args(["-o", "DPkg::Lock::Timeout=300", "update"]).output().expect("run apt-get update");
    assert!(update.status.success(), "apt-get update failed: {}", String::from_utf8_lossy(&update.stderr));
    let install = Command::new("apt-get")
        .args(["-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .expect("run apt-get install");
    assert!(
        install.status.success(),
        "apt-get install {packages:?} failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    assert!(found(binary), "{binary} is still missing after installing {packages:?}");
}

/// skopeo and umoci.
pub fn ensure_image_tools() {
    ensure_tool("skopeo", &["skopeo"]);
    ensure_tool("umoci", &["umoci"]);
}

/// Runs a command and returns its output; panics when it cannot start.
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Unpacks the image `reference` of the layout `layout` with umoci; returns the root file system.
pub fn unpack(layout: &Path, reference: &str, bundle: &Path) -> PathBuf {
    let image = format!("{}:{reference}", layout.display());
    run_ok("umoci", &["unpack", "--image", &image, &bundle.display().to_string()]);
    bundle.join("rootfs")
}

/// `chroot` into `rootfs` as `user` (`uid:gid`) running `/usr/bin/connect args...` with the image's environment
/// only (the test's `RUST_LOG` is added when started through [`crate::ConnectProcess::start_command`]).
pub fn chroot_connect(rootfs: &Path, user: &str, env: &[(String, String)], args: &[&str]) -> Command {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "running an image's root file system needs chroot, which needs root (tests run as root here and in CI)"
    );
    // The child's environment is the image's: find chroot by absolute path.
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chroot (coreutils) is missing");
    let mut command = Command::new(chroot);
    command.arg(format!("--userspec={user}")).arg(rootfs).arg("/usr/bin/connect").args(args);
    command.env_clear();
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// The `Env` of an image config as pairs.
pub fn config_env(config: &serde_json::Value) -> Vec<(String, String)> {
    config["config"]["Env"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str())
                .filter_map(|v| v.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A tiny HTTP/1.0 server of the files of a directory (`GET /<name>`), on a free port of 127.0.0.1; stops when
/// dropped. Missing files answer 404.
pub struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    /// Serves `dir`.
    pub fn start(dir: &Path) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the file server");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let dir = dir.to_path_buf();
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        serve_one(stream, &dir);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        FileServer { port, stop, thread: Some(thread) }
    }

    /// The URL of `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

fn serve_one(mut stream: std::net::TcpStream, dir: &Path) {
    let mut reader = BufReader::new(stream.try_clone().expect("stream clone"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
    let file = dir.join(&path);
    let (status, body) = match std::fs::read(&file) {
        Ok(body) if !path.contains("..") => ("200 OK", body),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let _ = write!(stream, "HTTP/1.0 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(&body);
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A gzipped tar of `files` (name in the archive, file on disk).
pub fn tgz(path: &Path, files: &[(&str, &Path)]) {
    let out = std::fs::File::create(path).expect("create tgz");
    let gz = flate2_writer(out);
    let mut builder = tar::Builder::new(gz);
    for (name, source) in files {
        builder.append_path_with_name(source, name).expect("append to tgz");
    }
    builder.into_inner().expect("finish tar").finish().expect("finish gzip");
}

fn flate2_writer(out: std::fs::File) -> flate2::write::GzEncoder<std::fs::File> {
    flate2::write::GzEncoder::new(out, flate2::Compression::default())
}

/// A local OCI registry (Debian's `docker-registry`, the CNCF distribution registry) on a free port of
/// 127.0.0.1, plain HTTP, with Basic authentication for one user; stopped when dropped.
pub struct LocalRegistry {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl LocalRegistry {
    /// Starts a registry that accepts `user`/`password`.
    pub fn start(user: &str, password: &str) -> LocalRegistry {
        ensure_tool("docker-registry", &["docker-registry"]);
        ensure_tool("htpasswd", &["apache2-utils"]);
        let dir = tempfile::tempdir().expect("registry dir");
        let htpasswd = run_ok("htpasswd", &["-Bbn", user, password]);
        std::fs::write(dir.path().join("htpasswd"), htpasswd.trim()).expect("write htpasswd");
        let port = crate::broker::free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: connect-rs-tests\nauth:\n  htpasswd:\n    realm: connect-rs-tests\n    path: {}\n",
                dir.path().join("data").display(),
                dir.path().join("htpasswd").display()
            ),
        )
        .expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let mut command = Command::new("docker-registry");
        command.arg("serve").arg(&config).stdout(log.try_clone().expect("log handle")).stderr(log);
        crate::broker::die_with_parent(&mut command);
        let child = command.spawn().expect("start docker-registry");
        let registry = LocalRegistry { child, port, dir };
        crate::wait_for("the registry", std::time::Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the registry logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
