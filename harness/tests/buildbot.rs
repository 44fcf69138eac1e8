//! leakcheck as a step of a real buildbot: a master and a worker from PyPI (the venv of
//! `scripts/setup.sh`: `$LEAKCHECK_PY_VENV`, else `$HOME/.cache/leakcheck/py-venv`) on
//! 127.0.0.1, in temporary directories, with a master.cfg shaped like CPython's (a `steps.Test`
//! with CPython's refleak warning pattern plus leakcheck's, `sigtermTime=30`, `BUILDBOT=1`, and
//! the builder and branch passed to the step as `LEAKCHECK_BUILDER`/`LEAKCHECK_BRANCH`). Builds
//! are forced through the ForceScheduler's JSON-RPC endpoint of the REST API, watched and read
//! back through it, as a person would from the web UI.
//!
//! 1. A refleak build of the C fixtures: the step fails (leakcheck exits 101 for the raw-domain
//!    leak regrtest cannot see), its log has leakcheck's verdict, the warning count covers
//!    regrtest's and leakcheck's leak lines, and the step's environment gives
//!    `builder_from_env` the builder and the branch.
//!    The JSON report, the JUnit XML and the issue draft (titled with that builder) are in the
//!    build directory.
//! 2. The same build with `usePTY=True`: leakcheck colours its verdict words on the PTY, and the
//!    documented warning patterns, which allow for that, count the same warnings.
//! 3. A build stopped from the REST API while regrtest runs: buildbot sends SIGTERM, leakcheck
//!    forwards it and still writes its JSON report and JUnit XML in the build directory.
//!
//! Every wait is bounded; the master, the worker and anything left under the temporary
//! directories are ended when the test ends, also when it fails.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leakcheck::report::draft::builder_from_env;
use serde_json::{json, Value};

/// buildbot's result codes (`buildbot.process.results`).
const FAILURE: u64 = 2;
const CANCELLED: u64 = 6;

const BUILDER: &str = "x86-64 Debian Refleaks 3.x";
const STOP_BUILDER: &str = "x86-64 Debian stop 3.x";
/// The refleak builder's step with `usePTY=True` (CPython's `test_with_PTY`).
const PTY_BUILDER: &str = "x86-64 Debian PTY Refleaks 3.x";

fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("LEAKCHECK_PY_VENV").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/leakcheck/py-venv")
    });
    let path = venv.join("bin").join(tool);
    assert!(path.exists(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a port on 127.0.0.1");
    listener.local_addr().expect("its address").port()
}

/// A buildbot process (`--nodaemon`): SIGTERM on drop, SIGKILL if it is still there 10 s later.
struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Daemon {
    fn start(tool: &str, dir: &Path) -> Daemon {
        let out = std::fs::File::create(dir.with_extension("out")).expect("creating the daemon's output file");
        let err = out.try_clone().expect("dup");
        let child = Command::new(venv_bin(tool))
            .args(["start", "--nodaemon"])
            .arg(dir)
            // As a daemon started at boot has it: no terminal type, and nothing that turns
            // colour off (a PTY step gets leakcheck's colours, which the patterns must allow).
            .env_remove("TERM")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {tool}: {e}"));
        Daemon { child, dir: dir.to_owned() }
    }

    /// The end of its twistd.log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("twistd.log")).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        log.get(start..).unwrap_or_default().to_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On drop, SIGKILL every process whose command line mentions one of `roots` (what a killed
/// build step may leave: leakcheck, python).
struct Sweep(Vec<String>);

impl Drop for Sweep {
    fn drop(&mut self) {
        let me = std::process::id().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().filter(|p| p.bytes().all(|b| b.is_ascii_digit()) && *p != me) else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if self.0.iter().any(|root| cmdline.contains(root.as_str())) {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
            }
        }
    }
}

/// One HTTP/1.0 request to the master's web server (no chunked replies in 1.0); the status and
/// the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Vec<u8>)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = Vec::new();
    stream.take(64 << 20).read_to_end(&mut reply)?;
    let split =
        reply.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other(head))?;
    Ok((status, reply[split + 4..].to_vec()))
}

/// GET `path` as JSON; `None` while the server is not answering (yet).
fn get_json(port: u16, path: &str) -> Option<Value> {
    match http(port, "GET", path, None) {
        Ok((200, body)) => serde_json::from_slice(&body).ok(),
        _ => None,
    }
}

/// Poll `check` every 250 ms until it gives a value; panic with `what` after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>, context: impl Fn() -> String) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}\n{}", context());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The master.cfg: CPython's `Test` step (master/custom/steps.py: warning pattern, sigtermTime,
/// decodeRC) wrapped around leakcheck, as docs/buildbot.md shows it.
fn master_cfg(pb: u16, www: u16, testdir: &Path) -> String {
    let leakcheck = common::LEAKCHECK;
    let python = common::python();
    let testdir = testdir.display();
    format!(
        r#"
import re
from buildbot.plugins import schedulers, steps, util, worker
from buildbot.process.results import SUCCESS, WARNINGS

# CPython's refleak line, and leakcheck's verdict lines (which regrtest's pattern does not see),
# as docs/buildbot.md lists them: with a PTY leakcheck colours its verdict words.
PATTERNS = [
    r"test_[^ ]+ leaked ",
    r"leakcheck: .*: (?:\x1b\[[0-9;]*m)?LEAKED",
    r"leakcheck: (?:\x1b\[[0-9;]*m)?HANG(?:\x1b\[[0-9;]*m)? in ",
    r"leakcheck: (?:\x1b\[[0-9;]*m)?SANITIZER(?:\x1b\[[0-9;]*m)? in ",
]

class Test(steps.Test):
    warningPattern = re.compile(r".*(?:" + "|".join(PATTERNS) + ")")
    warnOnWarnings = True
    maxTime = 4 * 60 * 60
    sigtermTime = 30
    decodeRC = {{0: SUCCESS, 5: WARNINGS}}

env = {{
    "BUILDBOT": "1",
    "LEAKCHECK_BUILDER": util.Property("buildername"),
    "LEAKCHECK_BRANCH": util.Property("branch", default=""),
}}

def refleak_factory(use_pty):
    refleak = util.BuildFactory()
    refleak.addStep(Test(
        name="test",
        command=[{leakcheck:?}, "--json", "leakcheck.json", "--junit-xml", "leakcheck.xml",
                 "--issue-draft", "drafts", "--",
                 {python:?}, "-m", "test", "-R", "3:3", "--testdir", "{testdir}",
                 "test_leak_raw", "test_leak_object", "test_balanced"],
        env=env, timeout=600, usePTY=use_pty))
    return refleak

stop = util.BuildFactory()
stop.addStep(Test(
    name="test",
    command=[{leakcheck:?}, "--json", "leakcheck.json", "--junit-xml", "leakcheck.xml",
             "--hang-timeout", "0", "--grace", "5", "--",
             {python:?}, "-m", "test", "--testdir", "{testdir}", "test_quiet_sleeper"],
    env=dict(env, LEAKCHECK_FIXTURE_SLEEP="600"), timeout=600))

c = BuildmasterConfig = {{}}
c["workers"] = [worker.Worker("w1", "pw")]
c["protocols"] = {{"pb": {{"port": "tcp:{pb}:interface=127.0.0.1"}}}}
c["builders"] = [
    util.BuilderConfig(name={BUILDER:?}, workernames=["w1"], factory=refleak_factory(False)),
    util.BuilderConfig(name={PTY_BUILDER:?}, workernames=["w1"], factory=refleak_factory(True)),
    util.BuilderConfig(name={STOP_BUILDER:?}, workernames=["w1"], factory=stop),
]
c["schedulers"] = [schedulers.ForceScheduler(
    name="force", builderNames=[{BUILDER:?}, {PTY_BUILDER:?}, {STOP_BUILDER:?}])]
c["www"] = {{"port": "tcp:{www}:interface=127.0.0.1"}}
c["buildbotURL"] = "http://127.0.0.1:{www}/"
c["db"] = {{"db_url": "sqlite:///state.sqlite"}}
c["buildbotNetUsageData"] = None
c["title"] = "leakcheck"
"#
    )
}

/// A master and a connected worker.
struct Buildbot {
    www: u16,
    worker_dir: PathBuf,
    // Dropped in this order: the worker, then the master, then the sweep.
    worker: Daemon,
    master: Daemon,
    _sweep: Sweep,
}

impl Buildbot {
    fn start(root: &Path, testdir: &Path) -> Buildbot {
        let sweep = Sweep(vec![root.display().to_string(), testdir.display().to_string()]);
        let (pb, www) = (free_port(), free_port());
        let master_dir = root.join("master");
        let worker_dir = root.join("worker");
        let status = Command::new(venv_bin("buildbot"))
            .args(["create-master", "-r"])
            .arg(&master_dir)
            .stdout(Stdio::null())
            .status()
            .expect("buildbot create-master");
        assert!(status.success(), "buildbot create-master failed");
        std::fs::write(master_dir.join("master.cfg"), master_cfg(pb, www, testdir)).expect("writing master.cfg");
        let status = Command::new(venv_bin("buildbot-worker"))
            .arg("create-worker")
            .arg(&worker_dir)
            .arg(format!("127.0.0.1:{pb}"))
            .args(["w1", "pw"])
            .stdout(Stdio::null())
            .status()
            .expect("buildbot-worker create-worker");
        assert!(status.success(), "buildbot-worker create-worker failed");

        let master = Daemon::start("buildbot", &master_dir);
        wait_for(
            "the master's REST API",
            Duration::from_secs(90),
            || get_json(www, "/api/v2/builders").filter(|v| v["builders"].as_array().is_some_and(|b| b.len() == 3)),
            || master.log_tail(),
        );
        let worker = Daemon::start("buildbot-worker", &worker_dir);
        wait_for(
            "the worker to connect",
            Duration::from_secs(90),
            || {
                let workers = get_json(www, "/api/v2/workers")?;
                let connected = workers["workers"][0]["connected_to"].as_array().is_some_and(|c| !c.is_empty());
                connected.then_some(())
            },
            || format!("{}\n--- worker:\n{}", master.log_tail(), worker.log_tail()),
        );
        Buildbot { www, worker_dir, worker, master, _sweep: sweep }
    }

    fn context(&self) -> String {
        format!("--- master:\n{}\n--- worker:\n{}", self.master.log_tail(), self.worker.log_tail())
    }

    /// Force a build of `builder` on `branch` and return its build id once it has started.
    fn force(&self, builder: &str, branch: &str) -> u64 {
        let rpc = json!({"jsonrpc": "2.0", "method": "force", "id": 1,
                         "params": {"builderNames": [builder], "branch": branch}});
        let (status, body) =
            http(self.www, "POST", "/api/v2/forceschedulers/force", Some(&rpc)).expect("forcing a build");
        let reply: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 200, "force: {reply}");
        let request = reply["result"][1].as_object().and_then(|m| m.values().next()).and_then(Value::as_u64);
        let request = request.unwrap_or_else(|| panic!("no build request in {reply}"));
        wait_for(
            "the build to start",
            Duration::from_secs(60),
            || {
                let builds = get_json(self.www, &format!("/api/v2/buildrequests/{request}/builds"))?;
                builds["builds"][0]["buildid"].as_u64()
            },
            || self.context(),
        )
    }

    fn build(&self, id: u64) -> Value {
        get_json(self.www, &format!("/api/v2/builds/{id}")).map(|v| v["builds"][0].clone()).unwrap_or(Value::Null)
    }

    fn wait_complete(&self, id: u64, limit: Duration) -> Value {
        wait_for(
            "the build to complete",
            limit,
            || Some(self.build(id)).filter(|b| b["complete"] == true),
            || self.context(),
        )
    }

    /// The build's step named `test`, once it exists.
    fn try_test_step(&self, id: u64) -> Option<Value> {
        let steps = get_json(self.www, &format!("/api/v2/builds/{id}/steps"))?;
        steps["steps"].as_array()?.iter().find(|s| s["name"] == "test").cloned()
    }

    fn test_step(&self, id: u64) -> Value {
        self.try_test_step(id).unwrap_or_else(|| panic!("no test step\n{}", self.context()))
    }

    /// `(name, raw text)` of each log of a step.
    fn logs(&self, step: &Value) -> Vec<(String, String)> {
        let id = step["stepid"].as_u64().unwrap_or_default();
        let logs = get_json(self.www, &format!("/api/v2/steps/{id}/logs")).unwrap_or(Value::Null);
        logs["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|log| {
                let name = log["name"].as_str().unwrap_or_default().to_owned();
                let raw = http(self.www, "GET", &format!("/api/v2/logs/{}/raw", log["logid"]), None)
                    .map(|(_, body)| String::from_utf8_lossy(&body).into_owned())
                    .unwrap_or_default();
                (name, raw)
            })
            .collect()
    }

    fn property(&self, id: u64, name: &str) -> Value {
        let props = get_json(self.www, &format!("/api/v2/builds/{id}/properties")).unwrap_or(Value::Null);
        props["properties"][0][name][0].clone()
    }
}

#[test]
fn a_buildbot_step_fails_on_the_leak_regrtest_cannot_see_and_keeps_its_reports_when_stopped() {
    let root = tempfile::tempdir().expect("temporary directory");
    let testdir = common::testdir();
    let started = Instant::now();
    let bb = Buildbot::start(root.path(), testdir.path());

    // 1. The refleak build.
    let id = bb.force(BUILDER, "3.x");
    let build = bb.wait_complete(id, Duration::from_secs(300));
    let step = bb.test_step(id);
    let logs = bb.logs(&step);
    let stdio = logs.iter().find(|(name, _)| name == "stdio").map(|(_, raw)| raw.as_str()).unwrap_or_default();
    assert_eq!(step["results"], FAILURE, "the step fails: {step}\n{stdio}");
    assert_eq!(build["results"], FAILURE, "and so does the build: {build}");
    assert!(stdio.contains("leakcheck: test_leak_raw: LEAKED in raw, not reported by regrtest (passed)"), "{stdio}");
    assert!(stdio.contains("program finished with exit code 101"), "{stdio}");
    // regrtest's two lines for test_leak_object, leakcheck's verdicts for both leaking tests.
    assert_eq!(bb.property(id, "warnings-count"), 4, "{logs:?}");
    let warnings = logs.iter().find(|(name, _)| name.starts_with("warnings")).map(|(_, raw)| raw.as_str());
    assert!(warnings.is_some_and(|w| w.contains("leakcheck: test_leak_raw: LEAKED in raw")), "{logs:?}");

    // The step's environment, as buildbot-worker prints it at the top of the log.
    let env_line =
        |name: &str| stdio.lines().find_map(|l| l.trim_start().strip_prefix(&format!("{name}=")).map(str::to_owned));
    assert_eq!(env_line("BUILDBOT").as_deref(), Some("1"));
    assert_eq!(builder_from_env(env_line), (Some(BUILDER.to_owned()), Some("3.x".to_owned())));
    let builddir = PathBuf::from(bb.property(id, "builddir").as_str().unwrap_or_default());
    let report: Value =
        serde_json::from_slice(&std::fs::read(builddir.join("build/leakcheck.json")).unwrap_or_default())
            .expect("the JSON report in the build directory");
    assert_eq!(report["summary"]["leaked_not_reported_by_regrtest"], json!(["test_leak_raw"]));
    let junit = std::fs::read_to_string(builddir.join("build/leakcheck.xml")).unwrap_or_default();
    assert!(junit.contains(r#"<testcase name="test_leak_raw" classname="regrtest">"#), "{junit}");
    // The draft's title names the builder the master passed in the step's environment.
    let draft = std::fs::read_to_string(builddir.join("build/drafts/test_leak_raw.md")).unwrap_or_default();
    assert_eq!(
        draft.lines().next(),
        Some("# test_leak_raw leaks PyMem_RawMalloc blocks on x86-64 Debian Refleaks 3.x"),
        "{draft}"
    );

    // 2. The same with a PTY (CPython's `usePTY=test_with_PTY`): leakcheck's stderr is a
    // terminal and its verdict words are coloured; the documented patterns count them all the
    // same, and regrtest's own leak lines are as they were.
    let id = bb.force(PTY_BUILDER, "3.x");
    let build = bb.wait_complete(id, Duration::from_secs(300));
    let step = bb.test_step(id);
    let logs = bb.logs(&step);
    let stdio = logs.iter().find(|(name, _)| name == "stdio").map(|(_, raw)| raw.as_str()).unwrap_or_default();
    assert_eq!(build["results"], FAILURE, "{build}\n{stdio}");
    assert!(stdio.contains("leakcheck: test_leak_raw: \x1b[1;31mLEAKED\x1b[0m in raw"), "coloured: {stdio}");
    assert!(stdio.contains("test_leak_object leaked ["), "{stdio}");
    assert_eq!(bb.property(id, "warnings-count"), 4, "{logs:?}");

    // 3. A build stopped while regrtest runs: SIGTERM, and the report is still written.
    let id = bb.force(STOP_BUILDER, "3.x");
    wait_for(
        "regrtest to start the sleeper",
        Duration::from_secs(120),
        || {
            let step = bb.try_test_step(id)?;
            let logs = bb.logs(&step);
            logs.iter().any(|(name, raw)| name == "stdio" && raw.contains("test_quiet_sleeper")).then_some(())
        },
        || bb.context(),
    );
    let stop = json!({"jsonrpc": "2.0", "method": "stop", "id": 2, "params": {"reason": "leakcheck test"}});
    let (status, _) = http(bb.www, "POST", &format!("/api/v2/builds/{id}"), Some(&stop)).expect("stopping the build");
    assert_eq!(status, 200);
    let build = bb.wait_complete(id, Duration::from_secs(60));
    assert_eq!(build["results"], CANCELLED, "{build}");
    let step = bb.test_step(id);
    let stdio = bb.logs(&step).into_iter().find(|(name, _)| name == "stdio").map(|(_, raw)| raw).unwrap_or_default();
    assert!(stdio.contains("leakcheck: ---- leak summary"), "leakcheck printed its summary after SIGTERM: {stdio}");
    let builddir = PathBuf::from(bb.property(id, "builddir").as_str().unwrap_or_default());
    let report: Value =
        serde_json::from_slice(&std::fs::read(builddir.join("build/leakcheck.json")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("no JSON report after SIGTERM ({e}): {stdio}"));
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM", "{report}");
    assert_eq!(report["status"]["leakcheck_exit_code"], 128 + 15, "{report}");
    assert_eq!(report["tests"][0]["outcome"], "interrupted", "the sleeper had no result of its own: {report}");
    let junit = std::fs::read_to_string(builddir.join("build/leakcheck.xml")).unwrap_or_default();
    assert!(junit.contains("leakcheck received SIGTERM and ended the run"), "{junit}");
    assert!(bb.worker_dir.exists());
    eprintln!("buildbot test: {:.1} s", started.elapsed().as_secs_f64());
}
