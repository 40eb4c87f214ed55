//! The directory a run owns: one folder per program node (its `CLUSTERSIM_NODE_DIR`, kept
//! across the node's crashes) and the programs' stderr, made fresh for the run under the
//! system's temporary directory and removed with everything in it when the run ends.

use super::process::Program;
use super::{wire, MaelstromParams, INIT_CLIENT};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A run's directory, removed when dropped.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Makes a new, empty directory that no one else uses (`mkdir` fails on an existing name,
    /// so two runs never share one).
    pub fn create() -> Result<RunDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        for _ in 0..1000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("clustersim-maelstrom-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(RunDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(format!(
                        "cannot make the run's directory in {}: {e}",
                        base.display()
                    ))
                }
            }
        }
        Err(format!(
            "cannot make the run's directory in {}: every name was taken",
            base.display()
        ))
    }

    /// The program directory of node `name`, made if missing and emptied first when `wipe`.
    pub fn node_dir(&self, name: &str, wipe: bool) -> Result<PathBuf, String> {
        let dir = self.path.join("nodes").join(safe(name));
        if wipe && dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// Where boot `boot` of node `name` writes its stderr.
    pub fn stderr_path(&self, name: &str, boot: u64) -> PathBuf {
        let logs = self.path.join("stderr");
        let _ = std::fs::create_dir_all(&logs);
        logs.join(format!("{}.{boot}", safe(name)))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A node name as one path component.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a probe of one program found, by program, arguments and the file's identity.
type ProbeCache = Vec<((String, Vec<String>, String), Result<(), String>)>;

static PROBED: Mutex<ProbeCache> = Mutex::new(Vec::new());

/// Starts the program once as the first node and sees it answer `init`, so a program that is
/// missing, exits, writes something that is not a Maelstrom message or never answers is refused
/// before any run, naming the node and the line. Remembered per program file for the process.
pub fn probe(params: &MaelstromParams, names: &[String]) -> Result<(), String> {
    let identity = identity(&params.bin);
    let key = (params.bin.clone(), params.args.clone(), identity);
    if let Ok(cache) = PROBED.lock() {
        if let Some((_, found)) = cache.iter().find(|(k, _)| *k == key) {
            return found.clone();
        }
    }
    let found = probe_once(params, names);
    if let Ok(mut cache) = PROBED.lock() {
        cache.push((key, found.clone()));
    }
    found
}

/// The file's identity as text: device, inode, size and modification time, so a rebuilt
/// program is probed again.
fn identity(bin: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(bin) {
        Ok(m) => format!(
            "{}:{}:{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => String::new(),
    }
}

fn probe_once(params: &MaelstromParams, names: &[String]) -> Result<(), String> {
    let Some(first) = names.first() else {
        return Ok(());
    };
    let bin = &params.bin;
    let refuse = |what: String| {
        format!("Maelstrom program `{bin}` (started as {first} to check it answers init): {what}")
    };
    let dir = RunDir::create().map_err(&refuse)?;
    let node_dir = dir.node_dir(first, false).map_err(&refuse)?;
    let log = dir.stderr_path(first, 1);
    let mut program = Program::spawn(bin, &params.args, &node_dir, &log).map_err(|e| {
        let hint = if bin.contains('/') {
            format!(
                " (a path is taken from the current directory, {})",
                std::env::current_dir().map_or("?".into(), |d| d.display().to_string())
            )
        } else {
            " (a name without a slash is looked up on PATH)".into()
        };
        refuse(format!("{e}{hint}"))
    })?;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let wait = super::real(params.wait_init);
    let lines = program
        .exchange(Some(&wire::init(first, &all)), wait)
        .map_err(|e| refuse(format!("after init (input line 1): {e}")))?;
    for (number, text) in &lines {
        let msg = wire::parse(text).map_err(|e| {
            refuse(format!(
                "its output line {number} {e}: {}{}",
                super::clip(text),
                program.stderr_tail()
            ))
        })?;
        if msg.dest == INIT_CLIENT && msg.in_reply_to() == Some(wire::INIT_MSG_ID) {
            if msg.kind == "init_ok" {
                return Ok(());
            }
            return Err(refuse(format!(
                "its output line {number} answers init with `{}`, not `init_ok`: {}",
                msg.kind,
                super::clip(text)
            )));
        }
    }
    Err(refuse(format!(
        "it went quiet without answering init (a message to {INIT_CLIENT} with type init_ok and \
         in_reply_to {}){}",
        wire::INIT_MSG_ID,
        program.stderr_tail()
    )))
}

/// FNV-1a (64 bits, hex) of the program file's bytes, for replay files; empty when it cannot
/// be read (a name looked up on `PATH`, say).
pub fn digest(bin: &str) -> String {
    let Ok(bytes) = std::fs::read(bin) else {
        return String::new();
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
