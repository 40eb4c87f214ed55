//! One program as a child process: started with piped stdin and stdout, fed one line at a time,
//! and read until it is quiet.
//!
//! Quiet means the program consumed its input and wrote everything it will write in answer:
//! its stdin pipe is empty and, on two sweeps of `/proc` in a row, every thread of the program
//! and of its descendants sleeps, some thread sleeps waiting for input (a `read` of fd 0, or a
//! `poll`/`select`/`epoll` wait, per `/proc/.../syscall`: a handler in `sleep` is not done),
//! and none ran in between (each thread's count of times it was scheduled, from `schedstat`,
//! is unchanged). Nothing but the lines the program wrote reaches
//! the simulation, in the order the program wrote them, so the run depends on what the program
//! says, never on how long it took. Every wait has a real-time bound.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest line a program may write (a larger one is a failure, not a wait).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// The most lines a program may write in answer to one input (more is a failure: a program
/// printing in a loop never goes quiet, and its lines must not fill memory meanwhile).
pub const MAX_LINES: usize = 100_000;

/// A running program, killed (with its process group) when dropped.
pub struct Program {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr_path: PathBuf,
    partial: Vec<u8>,
    /// Where reads land: allocated (and zeroed) once, not on every read.
    read_buf: Vec<u8>,
    /// Lines the program has written so far, for errors that name one.
    pub lines_out: u64,
    /// Lines it wrote while no input was pending (a wall-clock timer's), found by the last
    /// `exchange` before it wrote its input.
    pub unprompted: usize,
}

/// Why a program could not go on, in words that name what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It could not be started.
    Spawn(String),
    /// It exited (or closed its stdout).
    Exited(String),
    /// It did not go quiet within the bound.
    NotQuiet(Duration),
    /// Its output broke a rule (a line too long).
    Output(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Spawn(s) | Failure::Exited(s) | Failure::Output(s) => f.write_str(s),
            Failure::NotQuiet(d) => write!(
                f,
                "it did not go quiet within {d:?} of real time (still running, or sleeping on \
                 something other than its stdin)"
            ),
        }
    }
}

impl Program {
    /// Starts `bin` with `args`, its node directory in `CLUSTERSIM_NODE_DIR`, its stderr in
    /// `stderr_path`.
    pub fn spawn(
        bin: &str,
        args: &[String],
        node_dir: &Path,
        stderr_path: &Path,
    ) -> Result<Program, Failure> {
        use std::os::unix::process::CommandExt;
        let stderr = File::create(stderr_path)
            .map_err(|e| Failure::Spawn(format!("cannot create {}: {e}", stderr_path.display())))?;
        let mut child = Command::new(bin)
            .args(args)
            .env("CLUSTERSIM_NODE_DIR", node_dir)
            // Python's string hashes (set and dict order of strings) and its buffering are
            // fixed, so a Python program that reads no clock replays.
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONUNBUFFERED", "1")
            // Nothing is written beside the program (its `__pycache__`): only in its directory.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .spawn()
            .map_err(|e| Failure::Spawn(format!("cannot start `{bin}`: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Spawn(format!("`{bin}`: no pipes")));
        };
        set_nonblocking(stdin.as_raw_fd());
        set_nonblocking(stdout.as_raw_fd());
        Ok(Program {
            child,
            stdin,
            stdout,
            stderr_path: stderr_path.to_path_buf(),
            partial: Vec::new(),
            read_buf: vec![0; 65536],
            lines_out: 0,
            unprompted: 0,
        })
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `line` (without its newline) to the program and returns every line it wrote
    /// until it went quiet, in order, each with its number in the program's output; at most
    /// `within` of real time.
    pub fn exchange(
        &mut self,
        line: Option<&str>,
        within: Duration,
    ) -> Result<Vec<(u64, String)>, Failure> {
        let deadline = Instant::now() + within;
        let mut pending: Vec<u8> = Vec::new();
        if let Some(line) = line {
            pending.extend_from_slice(line.as_bytes());
            pending.push(b'\n');
        }
        let mut written = 0;
        let mut lines = Vec::new();
        // What it wrote since the last exchange ended was written with no input pending.
        self.drain(&mut lines)?;
        self.unprompted = lines.len();
        let mut last: Option<Vec<(u32, u64)>> = None;
        // Waits grow from 10µs to 1ms: a program usually answers within tens of microseconds.
        let mut nap = Duration::from_micros(10);
        loop {
            if written < pending.len() {
                match self.stdin.write(&pending[written..]) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Err(self.exited("its stdin closed")),
                }
            }
            let before = lines.len();
            self.drain(&mut lines)?;
            let quiet_candidate =
                written == pending.len() && lines.len() == before && unread(&self.stdin) == 0;
            if quiet_candidate {
                if let Ok(Some(_)) = self.child.try_wait() {
                    self.drain(&mut lines)?;
                    return Err(self.exited("it exited"));
                }
                let now = sweep(self.child.id());
                if now.is_some() && now == last {
                    // Nothing ran between two sweeps: whatever it wrote is in the pipe.
                    let before = lines.len();
                    self.drain(&mut lines)?;
                    if lines.len() == before {
                        return Ok(lines);
                    }
                    last = None;
                } else {
                    last = now;
                }
            } else {
                last = None;
            }
            if Instant::now() >= deadline {
                return Err(Failure::NotQuiet(within));
            }
            if last.is_none() {
                self.wait_ready(written < pending.len(), nap);
                nap = (nap * 2).min(Duration::from_millis(1));
            }
        }
    }

    /// Reads what the pipe holds, appending whole lines to `lines`.
    fn drain(&mut self, lines: &mut Vec<(u64, String)>) -> Result<(), Failure> {
        loop {
            match self.stdout.read(&mut self.read_buf) {
                Ok(0) => {
                    self.take_lines(lines)?;
                    return Err(self.exited("it closed its stdout"));
                }
                Ok(n) => {
                    self.partial.extend_from_slice(&self.read_buf[..n]);
                    self.take_lines(lines)?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Failure::Exited(format!("reading its stdout: {e}"))),
            }
        }
    }

    fn take_lines(&mut self, lines: &mut Vec<(u64, String)>) -> Result<(), Failure> {
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            self.lines_out += 1;
            let text = String::from_utf8(line).map_err(|_| {
                Failure::Output(format!("its output line {} is not UTF-8", self.lines_out))
            })?;
            if !text.trim().is_empty() {
                lines.push((self.lines_out, text));
            }
        }
        if lines.len() > MAX_LINES {
            return Err(Failure::Output(format!(
                "it wrote more than {MAX_LINES} lines in answer to one input (up to its output \
                 line {})",
                self.lines_out
            )));
        }
        if self.partial.len() > MAX_LINE {
            return Err(Failure::Output(format!(
                "its output line {} is longer than {MAX_LINE} bytes",
                self.lines_out + 1
            )));
        }
        Ok(())
    }

    /// Waits up to `at_most` for output (or room in stdin, when `writing`).
    fn wait_ready(&self, writing: bool, at_most: Duration) {
        let mut fds = [
            libc::pollfd {
                fd: self.stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.stdin.as_raw_fd(),
                events: if writing { libc::POLLOUT } else { 0 },
                revents: 0,
            },
        ];
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: at_most.as_nanos().min(999_999_999) as libc::c_long,
        };
        // SAFETY: `fds` and `ts` live across the call; a null signal mask leaves it unchanged.
        unsafe {
            libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null());
        }
    }

    /// A failure saying the program is gone, with its exit status and the end of its stderr.
    fn exited(&mut self, what: &str) -> Failure {
        let deadline = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                _ => break None,
            }
        };
        let status = status.map_or_else(|| "still running".to_string(), |s| s.to_string());
        Failure::Exited(format!(
            "{what} ({status}) after {} lines of output{}",
            self.lines_out,
            self.stderr_tail()
        ))
    }

    /// The last lines of the program's stderr, as a clause (empty when it wrote none).
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read(&self.stderr_path).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        if tail.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = tail.into_iter().rev().collect();
        format!("; its stderr ends: {}", lines.join(" | "))
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: a plain system call; the group is the child's own (`process_group(0)`).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Bytes written to the program's stdin that it has not read yet.
fn unread(stdin: &ChildStdin) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int; a pipe answers it on either end.
    let r = unsafe { libc::ioctl(stdin.as_raw_fd(), libc::FIONREAD, &mut n) };
    if r < 0 {
        0
    } else {
        n
    }
}

/// Every thread of `pid` and its descendants with the number of times it was scheduled, when
/// all of them sleep and one waits for input; `None` when one is running, runnable or in
/// uninterruptible sleep, or none waits for input.
fn sweep(pid: u32) -> Option<Vec<(u32, u64)>> {
    let mut threads = Vec::new();
    // Whether some thread's system call could be read, and whether one waits for input.
    let (mut known, mut waiting) = (false, false);
    let mut procs = vec![pid];
    let mut seen = 0;
    while seen < procs.len() {
        let p = procs[seen];
        seen += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        let mut tids: Vec<u32> = tasks
            .filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        tids.sort_unstable();
        for tid in tids {
            let base = format!("/proc/{p}/task/{tid}");
            let stat = std::fs::read_to_string(format!("{base}/stat")).ok()?;
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            match state {
                'S' | 'Z' | 'X' | 'I' | 'T' | 't' => {}
                _ => return None,
            }
            let call = syscall(&base);
            // A thread asleep on a timer (Go's sysmon, a wall-clock ticker) may wake and sleep
            // again between sweeps without anyone having woken it: its count is not compared.
            let slices = if call == Call::Sleep {
                u64::MAX
            } else {
                std::fs::read_to_string(format!("{base}/schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
                    .or_else(|| switches(&base))?
            };
            threads.push((tid, slices));
            if call != Call::Unknown {
                known = true;
                waiting |= call == Call::Input;
            }
            if let Ok(children) = std::fs::read_to_string(format!("{base}/children")) {
                procs.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    if known && !waiting {
        return None;
    }
    Some(threads)
}

/// What a sleeping thread's system call is, as far as quiet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// It waits for input: a read of fd 0, or a poll of any kind (Node's and Go's event loops).
    Input,
    /// It sleeps for a time (`nanosleep`, `clock_nanosleep`).
    Sleep,
    /// Something else (a lock, a child, a file).
    Other,
    /// `/proc` does not say.
    Unknown,
}

/// The system call the thread at `base` is in.
fn syscall(base: &str) -> Call {
    let Ok(text) = std::fs::read_to_string(format!("{base}/syscall")) else {
        return Call::Unknown;
    };
    let mut parts = text.split_whitespace();
    let Some(Ok(nr)) = parts.next().map(str::parse::<i64>) else {
        return Call::Other; // "running"
    };
    classify(nr, parts.next().unwrap_or(""))
}

#[cfg(target_arch = "x86_64")]
fn classify(nr: i64, first: &str) -> Call {
    match nr {
        0 if first == "0x0" => Call::Input,
        // poll, select, epoll_wait, pselect6, ppoll, epoll_pwait, epoll_pwait2
        7 | 23 | 232 | 270 | 271 | 281 | 441 => Call::Input,
        // nanosleep, clock_nanosleep
        35 | 230 => Call::Sleep,
        _ => Call::Other,
    }
}

#[cfg(target_arch = "aarch64")]
fn classify(nr: i64, first: &str) -> Call {
    match nr {
        63 if first == "0x0" => Call::Input,
        // epoll_pwait, pselect6, ppoll, epoll_pwait2
        22 | 72 | 73 | 441 => Call::Input,
        // nanosleep, clock_nanosleep
        101 | 115 => Call::Sleep,
        _ => Call::Other,
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn classify(_nr: i64, _first: &str) -> Call {
    Call::Unknown // system call numbers unknown here: the sweep goes by states and counts
}

/// Context switches of a thread, from `status`, where `schedstat` is missing.
fn switches(base: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{base}/status")).ok()?;
    let mut sum = 0u64;
    for line in status.lines() {
        if let Some(v) = line
            .strip_prefix("voluntary_ctxt_switches:")
            .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        {
            sum += v.trim().parse::<u64>().ok()?;
        }
    }
    Some(sum)
}
