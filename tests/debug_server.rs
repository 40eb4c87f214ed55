//! The debugger's local server: an action is taken only by POST, with the token embedded in
//! the server's own page, from a request addressed to 127.0.0.1 or localhost at its port; any
//! other page open in the browser (or a rebound DNS name) is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The server process, killed when the test ends however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one raw HTTP request; returns the status code and the body.
fn request(port: u16, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    s.write_all(raw.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

fn post(port: u16, host: &str, path: &str, extra: &str) -> (u16, String) {
    request(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
}

#[test]
fn actions_need_post_the_pages_token_and_the_servers_own_host() {
    let dir = std::env::temp_dir().join(format!("clustersim-debug-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A dangling link where the first save would go, pointing out of the folder.
    let outside = dir.with_extension("outside");
    let _ = std::fs::remove_dir_all(&outside);
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(
        outside.join("victim.ron"),
        dir.join("worker-crash-naive-debug.ron"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args([
            "debug",
            "scenarios/worker-crash-naive.ron",
            "--port",
            "0",
            "--out",
        ])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _server = Guard(child);
    let port: u16 = first
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in `{first}`"));
    let host = format!("127.0.0.1:{port}");
    let get = |path: &str, host: &str| {
        request(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    let (code, page) = get("/", &host);
    assert_eq!(code, 200);
    let token = page
        .split("\"token\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries its token")
        .to_string();
    assert_eq!(token.len(), 32, "{token}");
    let steps = |body: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON state");
        v["steps"].as_u64().expect("steps")
    };
    let (_, state) = get("/api/state", &host);
    let at_start = steps(&state);
    // A GET action (an <img> or a link on any page) is refused.
    let (code, _) = get("/api/act?op=next", &host);
    assert_eq!(code, 405);
    // A POST without the token (another page's form) is refused.
    let (code, _) = post(port, &host, "/api/act?op=next", "");
    assert_eq!(code, 403);
    let wrong = "X-Clustersim-Token: 00000000000000000000000000000000\r\n";
    assert_eq!(post(port, &host, "/api/act?op=next", wrong).0, 403);
    let with_token = format!("X-Clustersim-Token: {token}\r\n");
    // The right token from another host name (DNS rebinding) or another origin is refused.
    assert_eq!(
        post(
            port,
            &format!("evil.example:{port}"),
            "/api/act?op=next",
            &with_token
        )
        .0,
        403
    );
    let origin = format!("{with_token}Origin: http://evil.example\r\n");
    assert_eq!(post(port, &host, "/api/act?op=next", &origin).0, 403);
    assert_eq!(get("/", &format!("evil.example:{port}")).0, 403);
    let (_, state) = get("/api/state", &host);
    assert_eq!(steps(&state), at_start, "no refused request moved the run");
    // The page's own request works, from 127.0.0.1 or localhost.
    let (code, state) = post(port, &host, "/api/act?op=next", &with_token);
    assert_eq!(code, 200, "{state}");
    assert_eq!(steps(&state), at_start + 1);
    let same_origin = format!("{with_token}Origin: http://localhost:{port}\r\n");
    let (code, state) = post(
        port,
        &format!("localhost:{port}"),
        "/api/act?op=next",
        &same_origin,
    );
    assert_eq!(code, 200, "{state}");
    assert_eq!(steps(&state), at_start + 2);
    // Saving goes past the planted link, never through it.
    let (code, state) = post(port, &host, "/api/act?op=save", &with_token);
    assert_eq!(code, 200, "{state}");
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    let saved = v["saved"].as_str().expect("saved").to_string();
    assert!(saved.ends_with("worker-crash-naive-debug-2.ron"), "{saved}");
    assert!(std::path::Path::new(&saved).is_file());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // A jump in the tree of explored states: a bad state is refused in words and moves
    // nothing; the start (#0) is a state like any other.
    for (bad, words) in [
        ("nope", "is not a state of the tree"),
        ("-1", "is not a state of the tree"),
        ("4000000000", "no explored state #4000000000"),
    ] {
        let (code, state) = post(
            port,
            &host,
            &format!("/api/act?op=goto&state={bad}"),
            &with_token,
        );
        assert_eq!(code, 200, "{state}");
        let v: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(v["error"], true, "{bad}: {state}");
        assert!(
            v["message"].as_str().unwrap().contains(words),
            "{bad}: {state}"
        );
        assert_eq!(steps(&state), at_start + 2, "{bad}: nothing moved");
    }
    let (code, state) = post(port, &host, "/api/act?op=goto&state=0", &with_token);
    assert_eq!(code, 200, "{state}");
    assert_eq!(steps(&state), 0, "#0 is the start");
    let (_, state) = post(port, &host, "/api/act?op=forward", &with_token);
    assert_eq!(steps(&state), 1, "forward goes back along the branch left");
    // A partition that puts a node on two sides is refused, as in a scenario file.
    for groups in ["server1|server1", "server1,worker1|worker1"] {
        let (_, state) = post(
            port,
            &host,
            &format!("/api/act?op=partition&groups={groups}"),
            &with_token,
        );
        let v: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(v["error"], true, "{groups}: {state}");
        assert!(
            v["message"].as_str().unwrap().contains("in two groups"),
            "{groups}: {state}"
        );
        assert_eq!(steps(&state), 1, "{groups}: nothing moved");
    }
    assert_eq!(post(port, &host, "/api/act?op=quit", &with_token).0, 200);
    let _ = std::fs::remove_dir_all(&outside);
}
