//! The `debug` subcommand: a local web page driving a live run (`debug::Session`). It binds
//! 127.0.0.1 only, serves the page and a small JSON API on one thread (the run itself never
//! sees a thread or a clock), and writes a saved path only into the `--out` folder, under a
//! name no file has yet.

use super::outputs;
use crate::debug::view::{answer, Notice, Sent};
use crate::debug::{Action, Session};
use crate::explore::file_stem;
use crate::node::NodeId;
use crate::registry::Registry;
use crate::scenario::to_ron;
use crate::time::SimTime;
use crate::Error;
use std::path::{Path, PathBuf};

/// The disk faults the debugger injects, as the page names them.
const DISK_FAULTS: [&str; 8] = [
    "power-loss",
    "process-crash",
    "crash-at-sync",
    "sync-fail",
    "corrupt",
    "unreadable",
    "disk-full",
    "disk-free",
];

/// Flags of `clustersim debug`.
#[derive(clap::Args, Debug)]
pub(super) struct DebugArgs {
    /// The scenario file (RON); a `scheduler: Replay([...])` in it is stepped through first.
    file: PathBuf,
    /// Run this seed instead of the file's.
    #[arg(long, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Open where the first failing check's window ends (the failure), not at the start.
    #[arg(long)]
    at_failure: bool,
    /// Port to listen on at 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Folder the "save path" button writes into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

/// One request's answer: status, content type, body.
type Answer = (u16, &'static str, String);

/// `clustersim debug`: serves until the page's quit button (exit 0).
pub(super) fn cmd_debug(registry: &Registry, args: &DebugArgs) -> Result<u8, Error> {
    outputs::check_dir("--out", &args.out)?;
    let mut scenario = super::load_for(registry, &args.file)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let origin = args.file.display().to_string();
    let prepared = registry.prepare(&scenario, &origin)?;
    super::warn(&prepared.plan, false);
    let mut session = Session::open(prepared).map_err(Error::Usage)?;
    let mut notice = Notice::default();
    // What the page holds, so an action's answer is only what changed since.
    let mut sent = Sent::new();
    if args.at_failure {
        match session.act(&Action::Failure) {
            Ok(()) => notice.message = "opened at the failure".into(),
            Err(e) => notice.message = e,
        }
    }
    let server = tiny_http::Server::http(("127.0.0.1", args.port))
        .map_err(|e| Error::Usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| "127.0.0.1".to_string(), |a| a.to_string());
    outln!(
        "{} debug: {} (seed {}), open http://{addr}/ ; the page's quit button stops the server",
        registry.program(),
        scenario.name,
        scenario.seed
    );
    // No one can open a page whose address was never shown: stop here, not serve unseen.
    if let Some(e) = super::stdout_error_now() {
        return Err(Error::Usage(format!(
            "cannot write to standard output: {e}; the page's address was not shown, so the \
             server does not start"
        )));
    }
    let title = format!("{} (seed {})", scenario.name, scenario.seed);
    let port = server.server_addr().to_ip().map_or(args.port, |a| a.port());
    let token = session_token(scenario.seed, port);
    let page = crate::render::page::page(
        &title,
        &format!("{{\"live\":true,\"token\":\"{token}\"}}"),
        "",
    );
    for request in server.incoming_requests() {
        let url = request.url().to_string();
        let (route, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let mut quit = false;
        let refused = refusal(&request, route, port, &token);
        let answer: Answer = match (refused, route) {
            (Some(answer), _) => answer,
            (None, "/" | "/index.html") => (200, "text/html; charset=utf-8", page.clone()),
            (None, "/api/state") => {
                notice.version += 1;
                let body = answer(&session, &notice, &mut sent, None);
                (200, "application/json", body)
            }
            (None, "/api/act") => {
                let op = param(query, "op").unwrap_or_default();
                notice.message.clear();
                notice.error = false;
                notice.version += 1;
                if op == "quit" {
                    quit = true;
                    notice.message = "the server has stopped; close this page".into();
                } else if op == "save" {
                    match save(registry, &session, &args.file, &args.out) {
                        Ok((path, hash)) => {
                            notice.message = format!(
                                "saved {path} ({} steps); `{} run {path}` replays it (trace hash {hash:016x})",
                                session.step_count(),
                                registry.program()
                            );
                            outln!("  saved {path} (trace hash {hash:016x})");
                            notice.saved = Some((path, hash));
                        }
                        Err(e) => {
                            notice.message = e.to_string();
                            notice.error = true;
                        }
                    }
                } else {
                    match action(&session, &op, query).and_then(|a| session.act(&a)) {
                        Ok(()) => {}
                        Err(e) => {
                            notice.message = e;
                            notice.error = true;
                        }
                    }
                }
                // The page says which state it holds; a page that says none, or another than
                // the one last sent, is sent the whole state.
                let have = param(query, "have").and_then(|v| v.parse().ok());
                let body = answer(&session, &notice, &mut sent, have);
                (200, "application/json", body)
            }
            (None, _) => (404, "text/plain", format!("no page {route}")),
        };
        let (status, kind, body) = answer;
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
            .expect("a valid header");
        let response = tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header);
        let _ = request.respond(response);
        if quit {
            break;
        }
    }
    Ok(0)
}

/// The header carrying the page's token with every action.
const TOKEN_HEADER: &str = "X-Clustersim-Token";

/// A token for this session, embedded in the page and required with every action, so that no
/// other page open in the browser can drive the run: 16 bytes of /dev/urandom (outside any
/// run, so the simulation stays deterministic), else the process id, the seed, the port and a
/// per-process random hash key mixed together.
fn session_token(seed: u64, port: u16) -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !from_os {
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(seed);
            h.write_u32(std::process::id());
            h.write_u16(port);
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a request is refused, if it is: a Host (or Origin) other than this server's own
/// address (a page elsewhere, or DNS rebinding) is 403; an action not sent by POST is 405; an
/// action without the page's token is 403.
fn refusal(request: &tiny_http::Request, route: &str, port: u16, token: &str) -> Option<Answer> {
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let ours = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let host_ok = header("Host").is_some_and(|h| ours.contains(&h));
    let origin_ok =
        header("Origin").is_none_or(|o| ours.iter().any(|a| o == format!("http://{a}")));
    if !host_ok || !origin_ok {
        return Some((
            403,
            "text/plain",
            format!("refused: the debugger answers only pages from http://127.0.0.1:{port}/"),
        ));
    }
    if route != "/api/act" {
        return None;
    }
    if *request.method() != tiny_http::Method::Post {
        return Some((
            405,
            "text/plain",
            "refused: an action is sent by POST from the debugger's page".to_string(),
        ));
    }
    if header(TOKEN_HEADER).as_deref() != Some(token) {
        return Some((
            403,
            "text/plain",
            "refused: an action needs the token of the debugger's page (reload the page)"
                .to_string(),
        ));
    }
    None
}

/// The value of `key` in a query string, percent-decoded.
fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The page's request as an action on the session.
fn action(session: &Session, op: &str, query: &str) -> Result<Action, String> {
    let roster = session.sim().roster();
    let node = |name: Option<String>| -> Result<NodeId, String> {
        let name = name.unwrap_or_default();
        roster.by_name(&name).ok_or_else(|| {
            format!(
                "unknown node `{name}`; valid nodes are: {}",
                roster.names().join(", ")
            )
        })
    };
    let seq = || -> Result<u64, String> {
        param(query, "seq")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "no event number given".to_string())
    };
    Ok(match op {
        "next" => Action::Next,
        "back" => Action::StepBack,
        "forward" => Action::Forward,
        "goto" => {
            let text = param(query, "state").unwrap_or_default();
            let state = text
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| format!("`{text}` is not a state of the tree (#0, #1, ...)"))?;
            Action::Goto(state)
        }
        "undo" => Action::Back,
        "failure" => Action::Failure,
        "heal" => Action::Heal,
        "run" => Action::Run(seq()?),
        "drop" => Action::Drop(seq()?),
        "crash" => Action::Crash(node(param(query, "node"))?),
        "restart" => Action::Restart(node(param(query, "node"))?),
        "disk" => {
            use crate::fault::Fault;
            use crate::storage::Keep;
            let n = node(param(query, "node"))?;
            let kind = param(query, "kind").unwrap_or_default();
            Action::Disk(match kind.as_str() {
                "power-loss" => Fault::PowerLoss {
                    node: n,
                    keep: Keep::Subset,
                    torn: true,
                },
                "process-crash" => Fault::ProcessCrash(n),
                "crash-at-sync" => Fault::CrashAtSync {
                    node: n,
                    sync: 1,
                    power: true,
                    keep: Keep::Subset,
                    torn: true,
                },
                "sync-fail" => Fault::SyncFail(n),
                "corrupt" => Fault::Corrupt { node: n, key: None },
                "unreadable" => Fault::Unreadable { node: n, key: None },
                "disk-full" => Fault::DiskFull(n),
                "disk-free" => Fault::DiskFree(n),
                other => {
                    return Err(format!(
                        "unknown disk fault `{other}`; valid: {}",
                        DISK_FAULTS.join(", ")
                    ))
                }
            })
        }
        "to" => {
            let text = param(query, "time").unwrap_or_default();
            let d = super::run::parse_duration(text.trim())
                .map_err(|e| format!("run to `{text}`: {e}"))?;
            Action::To(SimTime(d.0))
        }
        "partition" => {
            let text = param(query, "groups").unwrap_or_default();
            let mut groups = Vec::new();
            for side in text.split('|') {
                let mut g = Vec::new();
                for name in side.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let id = node(Some(name.to_string()))?;
                    // As a scenario's partition: a node is on one side only.
                    if groups.iter().chain([&g]).any(|s: &Vec<_>| s.contains(&id)) {
                        return Err(format!("partition puts node `{name}` in two groups"));
                    }
                    g.push(id);
                }
                if !g.is_empty() {
                    groups.push(g);
                }
            }
            if groups.is_empty() {
                return Err("name the sides, e.g. `server|worker1,worker2`".into());
            }
            Action::Partition(groups)
        }
        other => {
            return Err(format!(
                "unknown action `{other}`; valid: next, back, forward, goto, undo, to, failure, \
                 run, drop, crash, restart, partition, heal, disk, save, quit"
            ))
        }
    })
}

/// Writes the session's path into `dir` under the first free `<name>-debug[-N].ron`; returns
/// the path and the trace hash its replay gives.
fn save(
    registry: &Registry,
    session: &Session,
    input: &Path,
    dir: &Path,
) -> Result<(String, u64), Error> {
    let mut scenario = session.scenario();
    let stem = file_stem(&format!("{}-debug", scenario.name));
    let path = (1..10_000)
        .map(|n| {
            let name = if n == 1 {
                format!("{stem}.ron")
            } else {
                format!("{stem}-{n}.ron")
            };
            dir.join(name)
        })
        .find(|p| crate::output::existing(p) == crate::output::Existing::Nothing)
        .ok_or_else(|| Error::Usage(format!("{} holds 10,000 saved paths", dir.display())))?;
    let outs = outputs::Outputs::new(input, false);
    outs.check(&[("--out", path.clone())])?;
    let hash = session.finished().trace_hash();
    scenario.name = path
        .file_stem()
        .map_or(stem.clone(), |s| s.to_string_lossy().into_owned());
    let header = vec![
        format!(
            "Saved by {} debug from {}: {} steps, {} chosen by hand, then time order; trace hash {hash:016x}.",
            registry.program(),
            input.display(),
            session.step_count(),
            session.branches()
        ),
        crate::run::replay_line(registry.program(), &scenario, &path),
    ];
    outs.create_dir("--out", dir)?;
    outs.write_text("--out", &path, &to_ron(&scenario, &header))?;
    Ok((path.display().to_string(), hash))
}
