//! The controller under measurement.
//!
//! By default it is `ccop run` as a child process (this benchmark binary, re-executed as `ccop`), talking
//! to the in-process API server through a kubeconfig file: what users run, and the only way its memory
//! and CPU figures are its own (the API server and the simulators stay in the benchmark's process). The
//! smoke test runs `ccop::controller::run` in its own process instead; resource figures then include
//! the API server and the simulators, and the report says so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ccop::controller::Options;

use crate::support::operator::{self, Env, Running};

/// Where the controller runs.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `ccop run` as a child process: the program, and the arguments that come before `run`.
    Child(PathBuf, Vec<String>),
    /// `ccop::controller::run` on this process's runtime.
    InProcess,
}

/// Memory and CPU of the process the controller runs in.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Peak resident set (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Resident set now (VmRSS), bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
}

impl Usage {
    /// Peak resident set in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_bytes as f64 / (1024.0 * 1024.0)
    }
}

enum Inner {
    Child {
        child: tokio::process::Child,
        pid: u32,
        metrics_url: String,
    },
    InProcess(Running),
}

/// A running controller.
pub struct Controller {
    inner: Inner,
}

impl Controller {
    /// Starts the controller with `concurrency` reconciles at once: in-process against `env`'s API
    /// server, or as a child against the server of `kubeconfig`. The child's log goes to `log`.
    pub async fn start(
        mode: &Mode,
        env: &Env,
        kubeconfig: &Path,
        concurrency: u16,
        log: &Path,
    ) -> Result<Controller, String> {
        match mode {
            Mode::InProcess => Ok(Controller {
                inner: Inner::InProcess(env.run(Options {
                    concurrency,
                    ..operator::options()
                })),
            }),
            Mode::Child(binary, prefix) => {
                let port = free_port()?;
                let log_file =
                    std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
                let child = tokio::process::Command::new(binary)
                    .args(prefix)
                    .arg("run")
                    .arg("--kubeconfig")
                    .arg(kubeconfig)
                    .arg("--concurrency")
                    .arg(concurrency.to_string())
                    .arg("--metrics-addr")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("--log-level")
                    .arg("warn")
                    // The simulators' loopback origins: the only endpoints besides the documented hosts.
                    .arg("--allowed-endpoints")
                    .arg(env.sim_urls().join(","))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log_file)
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| format!("starting {}: {e}", binary.display()))?;
                let pid = child.id().ok_or("the controller exited at once")?;
                Ok(Controller {
                    inner: Inner::Child {
                        child,
                        pid,
                        metrics_url: format!("http://127.0.0.1:{port}/metrics"),
                    },
                })
            }
        }
    }

    /// Whether the resource figures are the controller's alone.
    pub fn isolated(&self) -> bool {
        matches!(self.inner, Inner::Child { .. })
    }

    /// Fails when a child controller has exited (it never should while measured).
    pub fn check_alive(&mut self) -> Result<(), String> {
        if let Inner::Child { child, .. } = &mut self.inner
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!("the controller exited: {status}"));
        }
        Ok(())
    }

    /// Memory and CPU so far.
    pub fn usage(&self) -> Usage {
        let proc_dir = match &self.inner {
            Inner::Child { pid, .. } => format!("/proc/{pid}"),
            Inner::InProcess(_) => "/proc/self".to_string(),
        };
        usage_of(&proc_dir).unwrap_or_default()
    }

    /// The controller's Prometheus metrics (the child's `/metrics`, or this process's registry).
    pub async fn metrics(&self) -> String {
        match &self.inner {
            Inner::InProcess(_) => ccop::metrics::METRICS.encode(),
            Inner::Child { metrics_url, .. } => {
                let client = reqwest::Client::new();
                match client
                    .get(metrics_url)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            }
        }
    }

    /// Stops the controller (a child is killed: nothing is measured after this).
    pub async fn stop(self) {
        match self.inner {
            Inner::InProcess(running) => running.stop().await,
            Inner::Child { mut child, .. } => {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}

/// `ccop run` in a child process: this benchmark binary, re-executed with `ccop` as its first argument,
/// runs the `ccop` command line unchanged (see `main` in `converge.rs`). Building the real binary from
/// here would need a nested `cargo build`, and that rebuilds dependencies whose build scripts see the
/// environment `cargo run` sets.
pub fn this_binary_as_ccop() -> Result<(PathBuf, Vec<String>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating the benchmark binary: {e}"))?;
    Ok((exe, vec![CCOP_ARG.to_string()]))
}

/// The first argument that makes the benchmark binary behave as `ccop`.
pub const CCOP_ARG: &str = "ccop";

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// VmHWM and VmRSS from `status`, utime + stime from `stat`.
fn usage_of(proc_dir: &str) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("{proc_dir}/status")).ok()?;
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|v| v * 1024)
            .unwrap_or_default()
    };
    let stat = std::fs::read_to_string(format!("{proc_dir}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    // Fields 14 and 15 of stat(5) are utime and stime; the first after ')' is field 3.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default()
    };
    let cpu_ticks = ticks(14 - 3) + ticks(15 - 3);
    Some(Usage {
        peak_rss_bytes: kib("VmHWM:"),
        rss_bytes: kib("VmRSS:"),
        cpu_seconds: cpu_ticks as f64 / clock_ticks_per_second(),
    })
}

/// `sysconf(_SC_CLK_TCK)`, by way of `getconf` (100 on every Linux this runs on).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}
