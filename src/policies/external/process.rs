//! An external agent's child process, treated as untrusted: started with a cleared
//! environment in a chosen working directory; every wait has a deadline; its stdout is
//! split into lines with a length cap (a flood cannot exhaust memory); its stderr is drained
//! by a thread into a short tail kept for error messages (a chatty agent never blocks on a
//! full pipe); dropping the process asks it to shut down, then kills it.
//!
//! On Unix the calling thread talks to the pipes itself: non-blocking writes (what does not
//! fit waits in a buffer, so an agent that stopped reading never blocks mechsim) and poll(2)
//! with the decision's deadline. A round trip then costs two process wake-ups. Elsewhere a
//! writer and a reader thread do the same job through channels (four wake-ups).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Longest stdout line accepted from an agent (1 MiB); longer lines are protocol errors.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Lines of stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 12;
/// How long an agent may take to exit after `shutdown` before it is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1000);

/// How to start an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// Program and arguments. A program with a path separator is taken relative to
    /// `working_dir`; a bare name is looked up on the `PATH` the child gets, else mechsim's.
    pub command: Vec<String>,
    /// The child's working directory.
    pub working_dir: PathBuf,
    /// The child's whole environment (nothing else is inherited).
    pub env: BTreeMap<String, String>,
}

/// One line the agent wrote on stdout, or the end of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A complete line (without its newline).
    Line(String),
    /// A line longer than `MAX_LINE_BYTES` (discarded).
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
    /// stdout closed: the agent exited or closed it.
    Closed,
}

/// Agent processes alive in this program.
static LIVE_AGENTS: AtomicUsize = AtomicUsize::new(0);

/// Whether every live agent and the thread that drives it can each have a core: only then
/// does waiting for an answer busy-poll briefly (2x faster round trips for one table on the
/// 2-core development machine) instead of taking CPU from agents that need it.
fn cores_to_spare() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()));
    LIVE_AGENTS.load(Ordering::Relaxed) * 2 <= cores
}

/// A running agent.
pub struct AgentProcess {
    child: Child,
    transport: Transport,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    closed: bool,
    /// When the agent was asked to exit.
    closing_since: Option<Instant>,
}

/// Finds `program`: relative to `dir` when it names a path, else on `path_var`.
pub fn resolve_program(program: &str, dir: &Path, path_var: Option<&str>) -> Result<PathBuf, String> {
    if program.is_empty() {
        return Err("the command's program is empty".into());
    }
    if program.contains('/') || program.contains(std::path::MAIN_SEPARATOR) {
        let path = dir.join(program);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("program {} does not exist", path.display()))
        };
    }
    let search = path_var
        .map(str::to_string)
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    std::env::split_paths(&search)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("program \"{program}\" was not found on PATH"))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

impl AgentProcess {
    /// Starts the agent. Errors say why (program not found, not executable, ...).
    pub fn spawn(launch: &Launch) -> Result<Self, String> {
        let (program, args) = launch
            .command
            .split_first()
            .ok_or_else(|| "the command is empty".to_string())?;
        let program = resolve_program(program, &launch.working_dir, launch.env.get("PATH").map(String::as_str))?;
        let mut command = Command::new(&program);
        command
            .args(args)
            .current_dir(&launch.working_dir)
            .env_clear()
            .envs(&launch.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        own_group_dying_with_parent(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        let transport = match Transport::new(stdin, stdout) {
            Ok(t) => t,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        spawn_named("agent-stderr", move || drain_stderr(stderr, tail))?;
        LIVE_AGENTS.fetch_add(1, Ordering::Relaxed);
        Ok(AgentProcess {
            child,
            transport,
            stderr_tail,
            closed: false,
            closing_since: None,
        })
    }

    /// Sends one line to the agent without blocking (what the pipe cannot take now is
    /// written while waiting for answers; a dead agent is noticed on reading).
    pub fn send(&mut self, line: &str) {
        self.transport.send(line);
    }

    /// The next stdout line, waiting at most until `deadline`; `None` on timeout.
    pub fn recv(&mut self, deadline: Instant) -> Option<Incoming> {
        if self.closed {
            return Some(Incoming::Closed);
        }
        let message = self.transport.recv(deadline);
        // The agent exited while something it started still holds its stdout open: that is
        // an exit (with its status), not a timeout.
        if message.is_none() && matches!(self.child.try_wait(), Ok(Some(_))) {
            self.closed = true;
            return Some(Incoming::Closed);
        }
        if message == Some(Incoming::Closed) {
            self.closed = true;
        }
        message
    }

    /// How the process ended, once it has (waits briefly for the exit status after its
    /// stdout closed).
    pub fn exit_status(&mut self) -> Option<String> {
        let until = Instant::now() + Duration::from_millis(200);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status.to_string()),
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(5)),
                _ => return None,
            }
        }
    }

    /// The last lines the agent wrote on stderr, for error messages ("" if none).
    pub fn stderr_tail(&self) -> String {
        // The drain thread may still be copying what the agent wrote just before it failed.
        thread::sleep(Duration::from_millis(20));
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Asks the agent to exit (`shutdown_line`) and closes its stdin, without waiting: when
    /// many agents stop together, their grace periods then run side by side.
    pub fn begin_shutdown(&mut self, shutdown_line: Option<&str>) {
        if self.closing_since.is_some() {
            return;
        }
        if let Some(line) = shutdown_line {
            self.transport.send(line);
        }
        self.transport.close_input(Instant::now() + Duration::from_millis(100));
        self.closing_since = Some(Instant::now());
    }

    /// Asks the agent to exit (if not asked yet), waits out the grace period counted from
    /// the request, then kills it. Always reaps the child.
    pub fn shut_down(&mut self, shutdown_line: Option<&str>) {
        self.begin_shutdown(shutdown_line);
        let until = self.closing_since.unwrap_or_else(Instant::now) + SHUTDOWN_GRACE;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => {
                    self.end_group();
                    return;
                }
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(2)),
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.end_group();
    }

    /// Ends whatever the agent started: its process group (the agent leads its own).
    fn end_group(&self) {
        #[cfg(unix)]
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// On Unix the agent leads a process group of its own (so everything it starts can be ended
/// with it), and on Linux it is killed if mechsim dies without ending it.
fn own_group_dying_with_parent(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: between fork and exec this only makes the `prctl` system call, which is
        // async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                    .map_err(std::io::Error::from)
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.shut_down(None);
        }
        LIVE_AGENTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Splits bytes from the agent into lines of at most `MAX_LINE_BYTES`.
#[derive(Debug, Default)]
struct LineSplitter {
    buffer: Vec<u8>,
    /// Inside a line that was already too long: skip to its end.
    skipping: bool,
}

impl LineSplitter {
    /// The next complete line (or an overlong one's verdict) from what was pushed.
    fn next(&mut self) -> Option<Incoming> {
        let Some(end) = memchr::memchr(b'\n', &self.buffer) else {
            if self.buffer.len() > MAX_LINE_BYTES {
                self.buffer.clear();
                self.skipping = true;
            }
            return None;
        };
        let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
        if std::mem::take(&mut self.skipping) || line.len() > MAX_LINE_BYTES + 1 {
            return Some(Incoming::TooLong);
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(match String::from_utf8(line) {
            Ok(text) => Incoming::Line(text),
            Err(_) => Incoming::NotUtf8,
        })
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// At the end of the stream: a last line without a newline, if any.
    fn finish(&mut self) -> Option<Incoming> {
        if self.buffer.is_empty() && !self.skipping {
            return None;
        }
        self.buffer.push(b'\n');
        self.next()
    }
}

#[cfg(unix)]
use unix_transport::Transport;

#[cfg(not(unix))]
use thread_transport::Transport;

#[cfg(unix)]
mod unix_transport {
    use std::io::{ErrorKind, Read, Write};
    use std::process::{ChildStdin, ChildStdout};
    use std::time::Instant;

    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};

    use super::{Incoming, LineSplitter};

    /// How long to poll the pipe without sleeping before poll(2) puts the thread to sleep,
    /// when cores are to spare: a quick agent's answer then arrives without the cost of
    /// waking this thread (and, on a virtual machine, its idle CPU).
    const SPIN: std::time::Duration = std::time::Duration::from_micros(SPIN_US);
    const SPIN_US: u64 = 100;

    /// Non-blocking pipes driven by poll(2) on the calling thread.
    pub struct Transport {
        stdin: Option<ChildStdin>,
        stdout: ChildStdout,
        pending: Vec<u8>,
        lines: LineSplitter,
        eof: bool,
        chunk: Box<[u8]>,
    }

    fn non_blocking(fd: impl rustix::fd::AsFd) -> Result<(), String> {
        let flags = fcntl_getfl(&fd).map_err(|e| format!("cannot configure the agent's pipes: {e}"))?;
        fcntl_setfl(&fd, flags | OFlags::NONBLOCK).map_err(|e| format!("cannot configure the agent's pipes: {e}"))
    }

    impl Transport {
        pub fn new(stdin: ChildStdin, stdout: ChildStdout) -> Result<Self, String> {
            non_blocking(&stdin)?;
            non_blocking(&stdout)?;
            Ok(Transport {
                stdin: Some(stdin),
                stdout,
                pending: Vec::with_capacity(16 * 1024),
                lines: LineSplitter::default(),
                eof: false,
                chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
            })
        }

        pub fn send(&mut self, line: &str) {
            if self.stdin.is_none() {
                return;
            }
            self.pending.extend_from_slice(line.as_bytes());
            self.pending.push(b'\n');
            self.flush();
        }

        /// Writes what the pipe takes now; drops the input side if the agent closed it.
        fn flush(&mut self) {
            let Some(stdin) = self.stdin.as_mut() else {
                self.pending.clear();
                return;
            };
            let mut closed = false;
            while !self.pending.is_empty() {
                match stdin.write(&self.pending) {
                    Ok(0) => break,
                    Ok(n) => {
                        self.pending.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        // The agent closed its stdin (or died): reading will tell.
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                self.pending.clear();
                self.stdin = None;
            }
        }

        pub fn recv(&mut self, deadline: Instant) -> Option<Incoming> {
            let spin_until = if super::cores_to_spare() {
                Instant::now() + SPIN
            } else {
                Instant::now()
            };
            loop {
                if let Some(message) = self.lines.next() {
                    return Some(message);
                }
                if self.eof {
                    return Some(self.lines.finish().unwrap_or(Incoming::Closed));
                }
                // Drain what is readable before sleeping.
                match self.stdout.read(&mut self.chunk) {
                    Ok(0) => {
                        self.eof = true;
                        continue;
                    }
                    Ok(n) => {
                        self.lines.push(&self.chunk[..n]);
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if Instant::now() < spin_until.min(deadline) {
                            std::hint::spin_loop();
                            continue;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.eof = true;
                        continue;
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                let timeout = Timespec {
                    tv_sec: left.as_secs() as _,
                    tv_nsec: left.subsec_nanos() as _,
                };
                let want_write = !self.pending.is_empty() && self.stdin.is_some();
                let ready = match (&self.stdin, want_write) {
                    (Some(stdin), true) => {
                        let mut fds = [
                            PollFd::new(&self.stdout, PollFlags::IN),
                            PollFd::new(stdin, PollFlags::OUT),
                        ];
                        poll(&mut fds, Some(&timeout)).map(|_| !fds[1].revents().is_empty())
                    }
                    _ => {
                        let mut fds = [PollFd::new(&self.stdout, PollFlags::IN)];
                        poll(&mut fds, Some(&timeout)).map(|_| false)
                    }
                };
                match ready {
                    Ok(true) => self.flush(),
                    Ok(false) => {}
                    Err(rustix::io::Errno::INTR) => {}
                    Err(_) => {
                        self.eof = true;
                    }
                }
            }
        }

        /// Writes what is pending (until `deadline` at most) and closes the agent's stdin.
        pub fn close_input(&mut self, deadline: Instant) {
            while !self.pending.is_empty() && self.stdin.is_some() && Instant::now() < deadline {
                self.flush();
                if !self.pending.is_empty() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            self.stdin = None;
        }
    }
}

/// Compiled (and tested) everywhere; used where poll(2) on pipes is not available.
#[cfg_attr(unix, allow(dead_code))]
mod thread_transport {
    use std::io::{Read, Write};
    use std::process::{ChildStdin, ChildStdout};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
    use std::time::Instant;

    use super::{Incoming, LineSplitter, spawn_named};

    /// A writer and a reader thread, talked to through channels.
    pub struct Transport {
        to_agent: Option<Sender<String>>,
        from_agent: Receiver<Incoming>,
    }

    impl Transport {
        pub fn new(stdin: ChildStdin, stdout: ChildStdout) -> Result<Self, String> {
            let (to_agent, outgoing) = mpsc::channel::<String>();
            spawn_named("agent-stdin", move || write_lines(stdin, outgoing))?;
            let (incoming, from_agent) = mpsc::channel::<Incoming>();
            spawn_named("agent-stdout", move || read_lines(stdout, incoming))?;
            Ok(Transport {
                to_agent: Some(to_agent),
                from_agent,
            })
        }

        pub fn send(&mut self, line: &str) {
            if let Some(tx) = &self.to_agent {
                let _ = tx.send(line.to_string());
            }
        }

        pub fn recv(&mut self, deadline: Instant) -> Option<Incoming> {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.from_agent.recv_timeout(wait) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Disconnected) => Some(Incoming::Closed),
                Err(RecvTimeoutError::Timeout) => None,
            }
        }

        pub fn close_input(&mut self, _deadline: Instant) {
            self.to_agent = None; // the writer thread ends and closes the agent's stdin
        }
    }

    fn write_lines(stdin: ChildStdin, lines: Receiver<String>) {
        let mut out = std::io::BufWriter::new(stdin);
        while let Ok(line) = lines.recv() {
            let mut ok = out.write_all(line.as_bytes()).is_ok() && out.write_all(b"\n").is_ok();
            while ok && let Ok(more) = lines.try_recv() {
                ok = out.write_all(more.as_bytes()).is_ok() && out.write_all(b"\n").is_ok();
            }
            if !ok || out.flush().is_err() {
                return;
            }
        }
    }

    fn read_lines(mut stdout: ChildStdout, incoming: Sender<Incoming>) {
        let mut lines = LineSplitter::default();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            while let Some(message) = lines.next() {
                if incoming.send(message).is_err() {
                    return;
                }
            }
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    if let Some(last) = lines.finish() {
                        let _ = incoming.send(last);
                    }
                    let _ = incoming.send(Incoming::Closed);
                    return;
                }
                Ok(n) => lines.push(&chunk[..n]),
            }
        }
    }
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    thread::Builder::new()
        .name(name.into())
        .stack_size(64 * 1024)
        .spawn(f)
        .map(|_| ())
        .map_err(|e| format!("cannot start a thread for the agent: {e}"))
}

fn drain_stderr(stderr: impl Read, tail: Arc<Mutex<VecDeque<String>>>) {
    let reader = BufReader::new(stderr);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { return };
        let mut text = String::from_utf8_lossy(&line).trim_end().to_string();
        if text.len() > 300 {
            text.truncate(text.floor_char_boundary(300));
            text.push_str(" ...");
        }
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_overlong_ones_reported_without_keeping_them() {
        let mut lines = LineSplitter::default();
        lines.push(b"one\r\ntw");
        assert_eq!(lines.next(), Some(Incoming::Line("one".into())));
        assert_eq!(lines.next(), None);
        lines.push(b"o\n");
        assert_eq!(lines.next(), Some(Incoming::Line("two".into())));
        // A flood arriving in chunks is dropped as it comes, then reported once.
        for _ in 0..20 {
            lines.push(&vec![b'x'; 100_000]);
            assert_eq!(lines.next(), None);
            assert!(lines.buffer.len() <= MAX_LINE_BYTES + 100_000);
        }
        lines.push(b"x\n\xff\nlast");
        assert_eq!(lines.next(), Some(Incoming::TooLong));
        assert_eq!(lines.next(), Some(Incoming::NotUtf8));
        assert_eq!(lines.next(), None);
        assert_eq!(lines.finish(), Some(Incoming::Line("last".into())));
        assert_eq!(lines.finish(), None);
    }

    /// Both transports carry lines both ways and report the end of the stream.
    #[cfg(unix)]
    #[test]
    fn both_transports_round_trip_lines_through_cat() {
        fn check<T>(
            make: impl Fn(std::process::ChildStdin, std::process::ChildStdout) -> Result<T, String>,
            send: impl Fn(&mut T, &str),
            recv: impl Fn(&mut T, Instant) -> Option<Incoming>,
            close: impl Fn(&mut T),
        ) {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("cat runs");
            let mut t = make(child.stdin.take().unwrap(), child.stdout.take().unwrap()).unwrap();
            let soon = || Instant::now() + Duration::from_secs(5);
            for i in 0..200 {
                send(&mut t, &format!("line {i}"));
            }
            for i in 0..200 {
                assert_eq!(recv(&mut t, soon()), Some(Incoming::Line(format!("line {i}"))));
            }
            assert_eq!(
                recv(&mut t, Instant::now() + Duration::from_millis(30)),
                None,
                "timeout"
            );
            close(&mut t);
            assert_eq!(recv(&mut t, soon()), Some(Incoming::Closed));
            child.wait().unwrap();
        }
        check(
            unix_transport::Transport::new,
            |t, l| t.send(l),
            |t, d| t.recv(d),
            |t| t.close_input(Instant::now()),
        );
        check(
            thread_transport::Transport::new,
            |t, l| t.send(l),
            |t, d| t.recv(d),
            |t| t.close_input(Instant::now()),
        );
    }

    #[test]
    fn programs_resolve_against_the_directory_or_path() {
        let dir = std::env::temp_dir();
        let e = resolve_program("./no-such-agent", &dir, None).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = resolve_program("no-such-agent-xyz", &dir, Some("/nonexistent")).unwrap_err();
        assert!(e.contains("not found on PATH"), "{e}");
        #[cfg(unix)]
        assert!(resolve_program("sh", &dir, Some("/usr/bin:/bin")).is_ok());
    }
}
