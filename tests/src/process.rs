//! A `connect` process started by a test, its output captured to a file; killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::broker::die_with_parent;
use crate::tools;

/// A running (or finished) `connect` process.
pub struct ConnectProcess {
    child: Child,
    log: PathBuf,
}

impl ConnectProcess {
    /// Starts `connect` with `args`, logging to `log`.
    pub fn start(args: &[&str], log: &Path) -> ConnectProcess {
        let mut command = Command::new(tools::connect_binary());
        command.args(args);
        Self::start_command(command, log)
    }

    /// Starts a prepared command (a `connect` of a container image's root file system, run through `chroot`),
    /// logging to `log`, with the test's log level unless the command sets `RUST_LOG` itself.
    pub fn start_command(mut command: Command, log: &Path) -> ConnectProcess {
        let out = std::fs::File::create(log).expect("connect log");
        if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
            command.env("RUST_LOG", std::env::var("CONNECT_TEST_LOG").unwrap_or_else(|_| "info".into()));
        }
        command.stdin(Stdio::null()).stdout(out.try_clone().expect("log handle")).stderr(out);
        die_with_parent(&mut command);
        let child = command.spawn().expect("start connect");
        ConnectProcess { child, log: log.to_path_buf() }
    }

    /// `connect standalone worker connectors...`.
    pub fn standalone(worker: &Path, connectors: &[&Path], log: &Path) -> ConnectProcess {
        let mut args = vec!["standalone".to_string(), worker.display().to_string()];
        args.extend(connectors.iter().map(|c| c.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start(&args, log)
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the output contains `needle`; panics with the output after `timeout`.
    pub fn wait_for_output(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output().contains(needle) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("connect exited ({status}) before printing {needle:?}:\n{}", self.output());
            }
            if Instant::now() > deadline {
                panic!("connect did not print {needle:?} within {timeout:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                panic!("connect did not exit within {timeout:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        self.wait_exit(timeout)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process with SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ConnectProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
