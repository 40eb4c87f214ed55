//! `check-history` and the `lin` models: hand-written histories for every model (each with
//! linearizable and non-linearizable cases, indeterminate operations, failed compares as
//! observations, concurrent appends), Jepsen EDN and Jepsen-log files, and the round trip:
//! every bundled scenario's `--history` file gets the in-run verdict back.

use clustersim::lin::formats::{read_with, Format, Semantics};
use clustersim::lin::models::{
    Counter, FifoQueue, ListAppend, MultiRegister, Mutex, RegisterModel, SetModel,
};
use clustersim::lin::{check_partitions, partitions, Interner, Model, Operation};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A history in a terse notation, `process type f value; ...`, written out as EDN.
fn edn(script: &str) -> String {
    script
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut parts = e.splitn(4, ' ');
            let (p, t, f, v) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or("nil"),
            );
            format!("{{:process {p} :type :{t} :f :{f} :value {v}}}\n")
        })
        .collect()
}

/// The model tests read a failed cas as a failed compare and a nil read as absent (Porcupine's
/// convention); `knossos_semantics_*` reads the same histories as Knossos does.
fn ops(script: &str, semantics: Semantics) -> Vec<Operation> {
    read_with(&edn(script), Format::Edn, semantics).expect("a well-formed history")
}

fn linearizable<M: Model>(model: &M, script: &str) -> bool {
    linearizable_as(model, script, Semantics::Porcupine)
}

fn linearizable_as<M: Model>(model: &M, script: &str, semantics: Semantics) -> bool {
    let ops = ops(script, semantics);
    let mut ids = Interner::default();
    let parts = partitions(model, &ops, &mut ids).expect("the model reads every operation");
    let checked = check_partitions(model, parts, 1_000_000);
    assert!(
        checked.undecided().is_none(),
        "undecided within the budget: {script}"
    );
    checked.linearizable()
}

/// Every case in `yes` is linearizable under `model` and every case in `no` is not.
fn judge<M: Model>(model: &M, yes: &[&str], no: &[&str]) {
    assert!(yes.len() >= 4 && no.len() >= 4);
    for s in yes {
        assert!(linearizable(model, s), "should be linearizable: {s}");
    }
    for s in no {
        assert!(!linearizable(model, s), "should not be linearizable: {s}");
    }
}

#[test]
fn register() {
    judge(
        &RegisterModel::register(None),
        &[
            "0 invoke write 1; 0 ok write 1; 1 invoke read nil; 1 ok read 1",
            // A read concurrent with a write may see the old value.
            "0 invoke write 1; 1 invoke read nil; 1 ok read nil; 0 ok write 1",
            // A timed-out write may take effect late ...
            "0 invoke write 1; 0 info write 1; 1 invoke read nil; 1 ok read 1",
            // ... or never.
            "0 invoke write 1; 0 info write 1; 1 invoke read nil; 1 ok read nil",
            // A read that timed out constrains nothing.
            "0 invoke write 1; 0 ok write 1; 1 invoke read nil; 1 info read nil",
        ],
        &[
            "0 invoke write 1; 0 ok write 1; 1 invoke read nil; 1 ok read nil",
            "1 invoke read nil; 1 ok read 7",
            "0 invoke write 1; 0 ok write 1; 0 invoke write 2; 0 ok write 2; \
             1 invoke read nil; 1 ok read 2; 1 invoke read nil; 1 ok read 1",
            // A failed write certainly did not happen.
            "0 invoke write 1; 0 fail write 1; 1 invoke read nil; 1 ok read 1",
            // A timed-out write cannot take effect before it was invoked.
            "1 invoke read nil; 1 ok read 1; 0 invoke write 1; 0 info write 1",
        ],
    );
    // The initial value is a flag (--init).
    let zero = RegisterModel::register(Some(0));
    assert!(!linearizable(&zero, "1 invoke read nil; 1 ok read nil"));
    assert!(linearizable(&zero, "1 invoke read nil; 1 ok read 0"));
}

#[test]
fn cas_register_reads_a_failed_compare_as_an_observation() {
    judge(
        &RegisterModel::cas_register(None),
        &[
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 ok cas [1 2]; \
             2 invoke read nil; 2 ok read 2",
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [3 4]; 1 fail cas [3 4]; \
             2 invoke read nil; 2 ok read 1",
            // The compare failed after a concurrent write replaced the 1.
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 2 invoke write 3; \
             2 ok write 3; 1 fail cas [1 2]; 3 invoke read nil; 3 ok read 3",
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 info cas [1 2]; \
             2 invoke read nil; 2 ok read 2",
        ],
        &[
            // put 1, cas(1->2) reports a failed compare, a read returns 1: the compare saw 1.
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 fail cas [1 2]; \
             2 invoke read nil; 2 ok read 1",
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 ok cas [1 2]; \
             2 invoke cas [1 3]; 2 ok cas [1 3]",
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [5 2]; 1 ok cas [5 2]",
            "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 ok cas [1 2]; \
             2 invoke read nil; 2 ok read 1",
        ],
    );
}

#[test]
fn kv_splits_by_key_and_names_the_failing_one() {
    let model = RegisterModel::kv(None);
    judge(
        &model,
        &[
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke read [b nil]; 1 ok read [b nil]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke write [b 2]; 1 ok write [b 2]; \
             2 invoke read [a nil]; 2 ok read [a 1]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke cas [a [1 2]]; \
             1 ok cas [a [1 2]]; 2 invoke read [a nil]; 2 ok read [a 2]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke cas [b [1 2]]; \
             1 fail cas [b [1 2]]",
        ],
        &[
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke read [a nil]; 1 ok read [a nil]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke read [b nil]; 1 ok read [b 1]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke cas [a [1 2]]; \
             1 fail cas [a [1 2]]; 2 invoke read [a nil]; 2 ok read [a 1]",
            "0 invoke write [a 1]; 0 ok write [a 1]; 0 invoke write [a 2]; 0 ok write [a 2]; \
             1 invoke read [a nil]; 1 ok read [a 1]",
        ],
    );
    let history = ops(
        "0 invoke write [a 1]; 0 ok write [a 1]; 1 invoke write [b 1]; \
                       1 ok write [b 1]; 2 invoke read [b nil]; 2 ok read [b nil]",
        Semantics::Porcupine,
    );
    let mut ids = Interner::default();
    let checked = check_partitions(
        &model,
        partitions(&model, &history, &mut ids).unwrap(),
        1_000,
    );
    // The key is the symbol b, shown as EDN writes it.
    assert_eq!(checked.failing_key(), Some("b"));
    assert_eq!(checked.partitions.len(), 2);
    // The window is the write of b and the read that missed it.
    let mut window = checked.window(&model, 1_000);
    window.sort();
    assert_eq!(window, vec![1, 2]);
}

#[test]
fn list_append() {
    judge(
        &ListAppend,
        &[
            "0 invoke append [x 1]; 0 ok append [x 1]; 1 invoke read [x nil]; 1 ok read [x [1]]",
            // Concurrent appends land in either order.
            "0 invoke append [x 1]; 1 invoke append [x 2]; 0 ok append [x 1]; \
             1 ok append [x 2]; 2 invoke read [x nil]; 2 ok read [x [2 1]]",
            "0 invoke append [x 1]; 0 info append [x 1]; 1 invoke read [x nil]; \
             1 ok read [x [1]]",
            "1 invoke read [x nil]; 1 ok read [x nil]; 0 invoke append [x 1]; \
             0 ok append [x 1]; 2 invoke read [y nil]; 2 ok read [y []]",
        ],
        &[
            "0 invoke append [x 1]; 0 ok append [x 1]; 1 invoke read [x nil]; 1 ok read [x []]",
            "0 invoke append [x 1]; 0 ok append [x 1]; 0 invoke append [x 2]; \
             0 ok append [x 2]; 1 invoke read [x nil]; 1 ok read [x [2 1]]",
            // Two readers disagree on the order of two concurrent appends.
            "0 invoke append [x 1]; 1 invoke append [x 2]; 0 ok append [x 1]; \
             1 ok append [x 2]; 2 invoke read [x nil]; 2 ok read [x [1 2]]; \
             3 invoke read [x nil]; 3 ok read [x [2 1]]",
            "0 invoke append [x 1]; 0 fail append [x 1]; 1 invoke read [x nil]; \
             1 ok read [x [1]]",
        ],
    );
}

#[test]
fn set() {
    judge(
        &SetModel,
        &[
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read #{1}",
            "0 invoke add 1; 1 invoke read nil; 1 ok read #{}; 0 ok add 1",
            "0 invoke add 1; 0 info add 1; 1 invoke read nil; 1 ok read #{1}",
            "0 invoke add 1; 0 ok add 1; 0 invoke add 2; 0 ok add 2; \
             1 invoke read nil; 1 ok read #{2 1}",
        ],
        &[
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read #{}",
            "1 invoke read nil; 1 ok read #{9}",
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read #{1}; \
             1 invoke read nil; 1 ok read #{}",
            "0 invoke add 1; 0 fail add 1; 1 invoke read nil; 1 ok read #{1}",
        ],
    );
}

#[test]
fn counter() {
    judge(
        &Counter::new(0),
        &[
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read 1",
            "0 invoke add 5; 1 invoke read nil; 1 ok read 0; 0 ok add 5",
            "0 invoke add 2; 0 info add 2; 1 invoke read nil; 1 ok read 2",
            "0 invoke incr nil; 0 ok incr nil; 0 invoke add -3; 0 ok add -3; \
             1 invoke read nil; 1 ok read -2",
        ],
        &[
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read 0",
            "1 invoke read nil; 1 ok read 3",
            "0 invoke add 1; 0 ok add 1; 1 invoke read nil; 1 ok read 2",
            "0 invoke add 1; 0 ok add 1; 0 invoke add 1; 0 ok add 1; \
             1 invoke read nil; 1 ok read 2; 1 invoke read nil; 1 ok read 1",
        ],
    );
}

#[test]
fn fifo_queue() {
    judge(
        &FifoQueue,
        &[
            "0 invoke enqueue 1; 0 ok enqueue 1; 1 invoke dequeue nil; 1 ok dequeue 1",
            "0 invoke enqueue 1; 1 invoke enqueue 2; 0 ok enqueue 1; 1 ok enqueue 2; \
             2 invoke dequeue nil; 2 ok dequeue 2; 2 invoke dequeue nil; 2 ok dequeue 1",
            "1 invoke dequeue nil; 1 ok dequeue nil",
            // A timed-out dequeue took the head.
            "0 invoke enqueue 1; 0 ok enqueue 1; 0 invoke enqueue 2; 0 ok enqueue 2; \
             1 invoke dequeue nil; 1 info dequeue nil; 2 invoke dequeue nil; 2 ok dequeue 2",
        ],
        &[
            "0 invoke enqueue 1; 0 ok enqueue 1; 0 invoke enqueue 2; 0 ok enqueue 2; \
             1 invoke dequeue nil; 1 ok dequeue 2",
            "0 invoke enqueue 1; 0 ok enqueue 1; 1 invoke dequeue nil; 1 ok dequeue 1; \
             2 invoke dequeue nil; 2 ok dequeue 1",
            "0 invoke enqueue 1; 0 ok enqueue 1; 1 invoke dequeue nil; 1 ok dequeue nil",
            "1 invoke dequeue nil; 1 ok dequeue 7",
        ],
    );
}

#[test]
fn mutex() {
    judge(
        &Mutex,
        &[
            "0 invoke acquire nil; 0 ok acquire nil; 0 invoke release nil; 0 ok release nil; \
             1 invoke acquire nil; 1 ok acquire nil",
            "0 invoke acquire nil; 1 invoke acquire nil; 0 ok acquire nil; \
             0 invoke release nil; 0 ok release nil; 1 ok acquire nil",
            "0 invoke acquire nil; 0 ok acquire nil; 0 invoke release nil; 0 info release nil; \
             1 invoke acquire nil; 1 ok acquire nil",
            "0 invoke acquire nil; 0 ok acquire nil; 1 invoke acquire nil; 1 fail acquire nil",
        ],
        &[
            "0 invoke acquire nil; 0 ok acquire nil; 1 invoke acquire nil; 1 ok acquire nil",
            "0 invoke acquire nil; 0 ok acquire nil; 1 invoke release nil; 1 ok release nil",
            "0 invoke release nil; 0 ok release nil",
            "0 invoke acquire nil; 0 ok acquire nil; 0 invoke release nil; 0 fail release nil; \
             1 invoke acquire nil; 1 ok acquire nil",
        ],
    );
}

fn clustersim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run clustersim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn jepsen_edn_and_log_files_are_read_and_judged_by_the_cli() {
    let (code, out, err) = clustersim(&[
        "check-history",
        "tests/histories/knossos-cas-register.edn",
        "--model",
        "cas-register",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        // Knossos's reading (EDN's default): the failed cas did not happen, leaving 4.
        out.contains("format edn, semantics knossos")
            && out.contains("PASS Linearizable: 4 operations"),
        "{out}"
    );
    // Porcupine's etcd logs: a cas that fails while a concurrent read sees the value it expected.
    let (code, out, err) = clustersim(&[
        "check-history",
        "tests/histories/etcd-style.log",
        "--model",
        "cas-register",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("format jepsen-log"), "{out}");
    assert!(out.contains("FAIL Linearizable"), "{out}");
    assert!(
        out.contains("smallest failing window: 2 operations"),
        "{out}"
    );
    assert!(out.contains("cas([1,4])"), "{out}");
    // Bad input: exit 2 with the file, line and what was expected.
    let dir = std::env::temp_dir().join(format!("clustersim-ch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.edn");
    std::fs::write(
        &bad,
        "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type",
    )
    .unwrap();
    let (code, _, err) = clustersim(&[
        "check-history",
        bad.to_str().unwrap(),
        "--model",
        "register",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.edn:2:"), "{err}");
    let (code, _, err) = clustersim(&[
        "check-history",
        "tests/histories/etcd-style.log",
        "--model",
        "queue",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("valid models: register, cas-register, kv"),
        "{err}"
    );
    let (code, _, err) = clustersim(&[
        "check-history",
        "tests/histories/etcd-style.log",
        "--model",
        "list-append",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("etcd-style.log:1:21:") && err.contains("no key"),
        "{err}"
    );
}

mod common;

#[test]
fn every_bundled_history_gets_the_in_run_verdict_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = common::scenario_files(&root.join("scenarios"))
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "exercises"))
        .collect();
    let dir = std::env::temp_dir().join(format!("clustersim-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut compared = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if !text.contains("Linearizable") {
            continue;
        }
        let history = dir.join("history.jsonl");
        let (_, out, err) = clustersim(&[
            "run",
            file.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
            "--force",
            "--quiet",
        ]);
        let Some(in_run) = out.lines().find(|l| l.contains(" Linearizable:")) else {
            // The word is in a comment only: the scenario does not check it.
            assert!(!err.contains("panicked"), "{err}");
            continue;
        };
        let in_run = in_run.split_whitespace().next().unwrap().to_string();
        let (code, checked, err) =
            clustersim(&["check-history", history.to_str().unwrap(), "--model", "kv"]);
        let verdict = checked
            .lines()
            .find(|l| l.contains(" Linearizable"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("none")
            .to_string();
        assert_eq!(
            verdict,
            in_run,
            "{}: in the run {in_run}, from the file {verdict} (exit {code}): {checked}{err}",
            file.display()
        );
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} scenarios compared");
}

#[test]
fn the_in_run_check_takes_any_model_and_agrees_with_its_default() {
    let dir = std::env::temp_dir().join(format!("clustersim-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, code) in [
        ("scenarios/kv-single-node.ron", 0),
        ("scenarios/kv-primary-backup-async-failover.ron", 1),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        let default = clustersim(&["run", file, "--quiet"]);
        let line = |out: &str| {
            out.lines()
                .find(|l| l.contains(" Linearizable:"))
                .map(|l| l.split_whitespace().next().unwrap().to_string())
        };
        let with_model = dir.join("with-model.ron");
        let edited = text.replacen("Linearizable", "Linearizable(model: \"kv\")", 1);
        assert_ne!(edited, text, "{file}");
        // The header comment may name the check too: edit the checks list only.
        let edited = match text.find("checks:") {
            Some(at) => format!(
                "{}{}",
                &text[..at],
                text[at..].replacen("Linearizable", "Linearizable(model: \"kv\")", 1)
            ),
            None => edited,
        };
        std::fs::write(&with_model, edited).unwrap();
        let (got, out, err) = clustersim(&["run", with_model.to_str().unwrap(), "--quiet"]);
        assert_eq!(got, code, "{file}: {out}{err}");
        assert_eq!(line(&out), line(&default.1), "{file}: {out}");
        assert!(out.contains("as a kv"), "{out}");
    }
    let bad = dir.join("bad-model.ron");
    let text = std::fs::read_to_string("scenarios/kv-single-node.ron").unwrap();
    let at = text.find("checks:").unwrap();
    std::fs::write(
        &bad,
        format!(
            "{}{}",
            &text[..at],
            text[at..].replacen("Linearizable", "Linearizable(model: \"queue\")", 1)
        ),
    )
    .unwrap();
    let (code, _, err) = clustersim(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad-model.ron:") && err.contains("valid models: register"),
        "{err}"
    );
}

/// A scratch folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clustersim-chin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_discard_chain_is_refused_with_exit_2_not_a_stack_overflow() {
    let dir = scratch("discard");
    let file = dir.join("deep.edn");
    // 40 KB of `#_`: the old reader recursed once per discard and aborted (exit 134).
    std::fs::write(
        &file,
        format!(
            "{}{{:process 0 :type :invoke :f :read}}",
            "#_ ".repeat(14_000)
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (code, out, err) = clustersim(&[
        "check-history",
        path,
        "--model",
        "register",
        "--format",
        "edn",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("deep.edn:1:") && err.contains("nested deeper"),
        "{err}"
    );
    let deep_init = format!("{}1", "#_ ".repeat(14_000));
    let (code, _, err) = clustersim(&[
        "check-history",
        "tests/histories/knossos-cas-register.edn",
        "--model",
        "cas-register",
        "--init",
        &deep_init,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--init") && err.len() < 400, "{err}");
}

#[test]
fn edn_discards_before_a_bracket_symbolic_numbers_and_a_byte_order_mark_are_read() {
    let dir = scratch("edn-allows");
    let file = dir.join("h.edn");
    std::fs::write(
        &file,
        "\u{feff}[{:process 0 :type :invoke :f :write :value 1 #_ 5}\n\
         {:process 0 :type :ok :f :write :value 1 :note ##NaN}\n\
         {:process 1 :type :invoke :f :read :value nil :inf [##Inf ##-Inf]}\n\
         {:process 1 :type :ok :f :read :value 1} #_ 5]\n",
    )
    .unwrap();
    let (code, out, err) = clustersim(&[
        "check-history",
        file.to_str().unwrap(),
        "--model",
        "register",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS Linearizable: 2 operations"), "{out}");
}

#[test]
fn a_completion_before_its_invocation_is_bad_input_naming_the_line() {
    let dir = scratch("early");
    let file = dir.join("h.jsonl");
    std::fs::write(
        &file,
        "{\"index\":5,\"phase\":\"Invoke\",\"op_id\":1,\"node\":\"c\",\"data\":{\"Put\":{\"key\":0,\"value\":1}}}\n\
         {\"index\":2,\"phase\":\"Ok\",\"op_id\":1,\"node\":\"c\",\"data\":{\"Put\":{\"key\":0,\"value\":1}}}\n",
    )
    .unwrap();
    let (code, out, err) = clustersim(&["check-history", file.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("h.jsonl:2:") && err.contains("not after its invocation"),
        "{err}"
    );
}

#[test]
fn an_endless_history_stops_at_the_input_cap_with_exit_2() {
    let (code, out, err) = clustersim(&[
        "check-history",
        "/dev/zero",
        "--model",
        "register",
        "--format",
        "edn",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("larger than 128 MiB") && err.contains("--max-memory"),
        "{err}"
    );
}

#[test]
fn a_long_history_stops_at_max_memory_with_exit_2_naming_the_knob() {
    let dir = scratch("memory");
    let file = dir.join("sequential.log");
    // 200,000 sequential writes: the search's memo grows by an entry per write (a few words
    // each: the memo keeps only the part of the linearized set past its full words).
    let mut text = String::with_capacity(200_000 * 40);
    for i in 0..200_000 {
        text.push_str(&format!("INFO jepsen.util - 0\t:invoke\t:write\t{i}\n"));
        text.push_str(&format!("INFO jepsen.util - 0\t:ok\t:write\t{i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    let (code, out, err) = clustersim(&[
        "check-history",
        path,
        "--model",
        "register",
        "--max-memory",
        "128MiB",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("--max-memory") && err.contains("128 MiB") && err.contains("search"),
        "{err}"
    );
    // Twice that is enough: memory grows with the history, not with its square (a bit per
    // operation per entry took 5 GB here).
    let (code, out, err) = clustersim(&[
        "check-history",
        path,
        "--model",
        "register",
        "--max-memory",
        "256MiB",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = clustersim(&[
        "check-history",
        path,
        "--model",
        "register",
        "--max-memory",
        "1KiB",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_in_run_check_stops_at_the_runs_memory_budget_and_says_so() {
    let dir = scratch("in-run-memory");
    // One key written every millisecond for a minute: the search's memo outgrows 16 MiB.
    let text = std::fs::read_to_string("scenarios/kv-single-node.ron")
        .unwrap()
        .replace("interval: \"50ms\"", "interval: \"1ms\"")
        .replace("keys: 3", "keys: 1")
        .replace("stop: \"4s\"", "stop: \"60s\"")
        .replace("max_time: \"6s\"", "max_time: \"70s\"")
        .replace("final_reads: \"5s\"", "final_reads: \"65s\"");
    let file = dir.join("kv-long.ron");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = clustersim(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--max-memory",
        "16MiB",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("UNKNOWN Linearizable: the search would hold more than the run's memory budget (16 MiB, bounds.max_memory)"),
        "{out}"
    );
}

#[test]
fn knossos_semantics_reads_a_nil_read_as_unknown_and_a_failed_cas_as_nothing() {
    let model = RegisterModel::cas_register(None);
    for script in [
        // A read of nil after a write: unknown value, not absent.
        "0 invoke write 1; 0 ok write 1; 1 invoke read nil; 1 ok read nil",
        // The failed cas did not happen; it observed nothing.
        "0 invoke write 1; 0 ok write 1; 1 invoke cas [1 2]; 1 fail cas [1 2]; \
         2 invoke read nil; 2 ok read 1",
    ] {
        assert!(
            linearizable_as(&model, script, Semantics::Knossos),
            "{script}"
        );
        assert!(
            !linearizable_as(&model, script, Semantics::Porcupine),
            "{script}"
        );
    }
    // What Knossos still refutes: a read of a value never written, a cas that cannot succeed.
    for script in [
        "0 invoke write 1; 0 ok write 1; 1 invoke read nil; 1 ok read 2",
        "0 invoke write 1; 0 ok write 1; 1 invoke cas [2 3]; 1 ok cas [2 3]",
    ] {
        assert!(
            !linearizable_as(&model, script, Semantics::Knossos),
            "{script}"
        );
    }
}

#[test]
fn multi_register_transactions_read_and_write_several_keys_at_once() {
    let start = |pairs: &[(&str, u64)], ids: &mut Interner| {
        pairs
            .iter()
            .map(|(k, v)| (ids.id(&serde_json::json!(k)), ids.id(&serde_json::json!(v))))
            .collect()
    };
    judge(
        &MultiRegister::default(),
        &[
            "0 invoke txn [[:write :x 1] [:write :y 2]]; 0 ok txn [[:write :x 1] [:write :y 2]]; \
             1 invoke txn [[:read :x nil] [:read :y nil]]; 1 ok txn [[:read :x 1] [:read :y 2]]",
            // A concurrent transaction sees all of the other or none of it.
            "0 invoke txn [[:write :x 1] [:write :y 2]]; \
             1 invoke txn [[:read :x nil] [:read :y nil]]; 1 ok txn [[:read :x nil] [:read :y nil]]; \
             0 ok txn [[:write :x 1] [:write :y 2]]",
            "0 invoke txn [[:write :x 1]]; 0 info txn [[:write :x 1]]; \
             1 invoke txn [[:read :x nil]]; 1 ok txn [[:read :x 1]]",
            "0 invoke txn [[:write :x 1]]; 0 fail txn [[:write :x 1]]; \
             1 invoke txn [[:read :x nil]]; 1 ok txn [[:read :x nil]]",
        ],
        &[
            // Half of a transaction seen: not atomic.
            "0 invoke txn [[:write :x 1] [:write :y 2]]; 0 ok txn [[:write :x 1] [:write :y 2]]; \
             1 invoke txn [[:read :x nil] [:read :y nil]]; 1 ok txn [[:read :x 1] [:read :y nil]]",
            "0 invoke txn [[:write :x 1]]; 0 ok txn [[:write :x 1]]; \
             1 invoke txn [[:read :x nil]]; 1 ok txn [[:read :x nil]]",
            "0 invoke txn [[:write :x 1]]; 0 fail txn [[:write :x 1]]; \
             1 invoke txn [[:read :x nil]]; 1 ok txn [[:read :x 1]]",
            // A transaction reads its own write.
            "0 invoke txn [[:write :x 1] [:read :x nil]]; 0 ok txn [[:write :x 1] [:read :x 2]]",
        ],
    );
    // From a start the history names (Knossos's {:x 0 :y 0}).
    let mut ids = Interner::default();
    let model = MultiRegister::new(start(&[("x", 0), ("y", 0)], &mut ids));
    let history = ops(
        "0 invoke txn [[:read :x nil]]; 0 ok txn [[:read :x 0]]",
        Semantics::Knossos,
    );
    let parts = partitions(&model, &history, &mut ids).unwrap();
    assert!(check_partitions(&model, parts, 1_000).linearizable());
}

/// Writes `text` to a scratch file called `name` and runs `check-history` on it.
fn check_file(name: &str, text: &str, args: &[&str]) -> (i32, String, String) {
    let dir = scratch(name.split('.').next().unwrap_or(name));
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let mut all = vec!["check-history", file.to_str().unwrap()];
    all.extend_from_slice(args);
    clustersim(&all)
}

#[test]
fn a_space_separated_log_with_a_stale_read_is_not_linearizable() {
    // Tabs for the writes, spaces for the stale read (the old reader dropped those lines and
    // passed the history).
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 0\t:invoke\t:write\t2\n\
               INFO  jepsen.util - 0\t:ok\t:write\t2\n\
               INFO  jepsen.util - 1   :invoke :read   nil\n\
               INFO  jepsen.util - 1   :ok     :read   1\n";
    let (code, out, err) = check_file("mixed.log", log, &["--model", "register"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("3 operations") && out.contains("FAIL Linearizable"),
        "{out}"
    );
    assert!(out.contains("1 read(null) -> 1 (ok, line 5:21)"), "{out}");
    let spaces = log.replace('\t', " ");
    let (code, out, _) = check_file("spaces.log", &spaces, &["--model", "register"]);
    assert_eq!(code, 1, "{out}");
    // Porcupine's etcd_100 is written with spaces: 77 operations, linearizable as Porcupine says.
    let (code, out, err) = clustersim(&[
        "check-history",
        "tests/histories/porcupine/etcd_100.log",
        "--model",
        "cas-register",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("format jepsen-log, semantics porcupine")
            && out.contains("77 operations)")
            && out.contains("PASS Linearizable"),
        "{out}"
    );
    let (code, out, err) = clustersim(&[
        "check-history",
        "tests/histories/porcupine/etcd_000.log",
        "--model",
        "cas-register",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL Linearizable"), "{out}");
}

#[test]
fn a_line_no_reader_can_read_is_an_error_at_its_line_and_column_never_skipped() {
    let log = "INFO  jepsen.util - 0 :invoke :write 1\n\
               INFO  jepsen.util - 0 :ok :write 1\n\
               INFO  jepsen.util - 1 :invoke :read\n\
               INFO  jepsen.util - 1 :okay :read 2\n";
    let (code, out, err) = check_file("garbled.log", log, &["--model", "register"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("garbled.log:4:1:") && err.contains("process :type :f value"),
        "{err}"
    );
    let log = "0 :invoke :write 1\n0 :ok :write {:a\n";
    let (code, _, err) = check_file("value.log", log, &["--model", "register"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("value.log:2:") && err.contains("value `{:a`"),
        "{err}"
    );
    // An operation map without what every operation has is refused, not skipped.
    let edn = "{:process 0 :type :invoke :f :write :value 1}\n{:type :ok :f :write :value 1}\n";
    let (code, _, err) = check_file("noproc.edn", edn, &["--model", "register"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("noproc.edn:2:1:") && err.contains(":process"),
        "{err}"
    );
}

#[test]
fn each_operation_of_a_single_vector_edn_file_has_its_own_line_and_column() {
    let edn = "[{:process 0 :type :invoke :f :write :value 1}\n \
               {:process 0 :type :ok :f :write :value 1}\n \
               {:process 1 :type :invoke :f :cas :value 7}\n \
               {:process 1 :type :ok :f :cas :value 7}]\n";
    let (code, out, err) = check_file("vector.edn", edn, &["--model", "cas-register"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("vector.edn:3:2:") && err.contains("a cas value is [from, to], not 7"),
        "{err}"
    );
    let edn = "[{:process 0 :type :invoke :f :write :value 1}\n \
               {:process 0 :type :ok :f :write :value 1}\n \
               {:process 1 :type :invoke :f :read :value nil}\n \
               {:process 1 :type :ok :f :read :value 2}]\n";
    let (code, out, _) = check_file("stale.edn", edn, &["--model", "register"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("(ok, line 3:2)"), "{out}");
}

#[test]
fn keywords_strings_wide_integers_and_processes_are_kept_apart() {
    let history = |write: &str, read: &str| {
        format!(
            "{{:process 0 :type :invoke :f :write :value {write}}}\n\
             {{:process 0 :type :ok :f :write :value {write}}}\n\
             {{:process 1 :type :invoke :f :read :value nil}}\n\
             {{:process 1 :type :ok :f :read :value {read}}}\n"
        )
    };
    for (write, read) in [
        (":x", "\"x\""),
        ("\"x\"", ":x"),
        ("18446744073709551616", "18446744073709551617"),
        (
            "123456789012345678901234567890N",
            "123456789012345678901234567891N",
        ),
    ] {
        let (code, out, err) =
            check_file("apart.edn", &history(write, read), &["--model", "register"]);
        assert_eq!(code, 1, "{write} then {read}: {out}{err}");
        let (code, out, err) =
            check_file("same.edn", &history(write, write), &["--model", "register"]);
        assert_eq!(code, 0, "{write} then {write}: {out}{err}");
    }
    // Processes 1 and "1" are two clients: the read runs beside the write and may see it.
    let edn = "{:process 1 :type :invoke :f :write :value 1}\n\
               {:process \"1\" :type :invoke :f :read :value nil}\n\
               {:process 1 :type :ok :f :write :value 1}\n\
               {:process \"1\" :type :ok :f :read :value 1}\n";
    let (code, out, err) = check_file("processes.edn", edn, &["--model", "register"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS Linearizable: 2 operations"), "{out}");
}

#[test]
fn jepsen_history_op_records_are_told_and_read_as_edn() {
    let edn = "#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value 1}\n\
               #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :write, :value 1}\n\
               #jepsen.history.Op{:index 2, :time 3, :type :invoke, :process 1, :f :read, :value nil}\n\
               #jepsen.history.Op{:index 3, :time 4, :type :ok, :process 1, :f :read, :value 2}\n";
    let (code, out, err) = check_file("records.edn", edn, &["--model", "register"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("format edn") && out.contains("FAIL Linearizable"),
        "{out}"
    );
}

#[test]
fn the_semantics_default_by_format_can_be_chosen_and_is_printed() {
    let edn = "{:process 0 :type :invoke :f :write :value 1}\n\
               {:process 0 :type :ok :f :write :value 1}\n\
               {:process 1 :type :invoke :f :read :value nil}\n\
               {:process 1 :type :ok :f :read :value nil}\n";
    let (code, out, _) = check_file("nil-read.edn", edn, &["--model", "register"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("semantics knossos") && out.contains("a nil read is unknown"),
        "{out}"
    );
    let (code, out, _) = check_file(
        "nil-read.edn",
        edn,
        &["--model", "register", "--semantics", "porcupine"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("semantics porcupine"), "{out}");
    // The etcd-style log fails under Porcupine's reading (its default) and passes under
    // Knossos's, where the failed cas did not happen.
    let (code, out, _) = clustersim(&[
        "check-history",
        "tests/histories/etcd-style.log",
        "--model",
        "cas-register",
        "--semantics",
        "knossos",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = clustersim(&[
        "check-history",
        "tests/histories/etcd-style.log",
        "--model",
        "cas-register",
        "--semantics",
        "elle",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("knossos") && err.contains("porcupine"),
        "{err}"
    );
}

#[test]
fn a_history_with_nothing_to_check_is_linearizable_with_its_count() {
    let (code, out, err) = check_file(
        "empty.edn",
        "; nothing ran\n",
        &["--model", "register", "--format", "edn"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("PASS Linearizable: nothing to check (the history has 0 operations)"),
        "{out}"
    );
    let failed = "{:process 0 :type :invoke :f :write :value 1}\n\
                  {:process 0 :type :fail :f :write :value 1}\n\
                  {:process 1 :type :invoke :f :read :value nil}\n\
                  {:process 1 :type :fail :f :read :value nil}\n";
    let (code, out, err) = check_file("failed.edn", failed, &["--model", "register"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("nothing to check (0 of 2 operations constrain the model"),
        "{out}"
    );
}

#[test]
fn knossos_own_histories_get_knossos_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/knossos");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("cas-register-") else {
            continue;
        };
        let want = if rest.starts_with("good-") { 0 } else { 1 };
        let (code, out, err) = clustersim(&[
            "check-history",
            path.to_str().unwrap(),
            "--model",
            "cas-register",
        ]);
        assert_eq!(code, want, "{name}: {out}{err}");
        seen += 1;
    }
    assert_eq!(seen, 5);
    let multi = "tests/histories/knossos/multi-register-good.edn";
    let (code, out, err) = clustersim(&[
        "check-history",
        multi,
        "--model",
        "multi-register",
        "--init",
        "{:x 0 :y 0}",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS Linearizable: 120 operations"), "{out}");
    // From absent registers the reads of 0 cannot be explained.
    let (code, out, _) = clustersim(&["check-history", multi, "--model", "multi-register"]);
    assert_eq!(code, 1, "{out}");
}

/// A user's model, outside clustersim: a register that keeps the largest value written.
#[derive(Clone, Debug)]
struct MaxRegister;

impl Model for MaxRegister {
    type Op = (bool, i64);
    type State = i64;

    fn init(&self) -> i64 {
        0
    }

    fn prepare(
        &self,
        op: &Operation,
        _ids: &mut Interner,
    ) -> Result<Option<(String, (bool, i64))>, String> {
        let number = |v: &serde_json::Value| v.as_i64().ok_or(format!("not an integer: {v}"));
        match (op.f.as_str(), op.outcome, &op.result) {
            (_, clustersim::lin::Outcome::Fail, _) => Ok(None),
            ("write", _, _) => Ok(Some((String::new(), (true, number(&op.value)?)))),
            ("read", clustersim::lin::Outcome::Ok, Some(r)) => {
                Ok(Some((String::new(), (false, number(r)?))))
            }
            ("read", _, _) => Ok(None),
            (other, _, _) => Err(format!("max-register knows write and read, not {other}")),
        }
    }

    fn step(&self, state: &i64, op: &(bool, i64)) -> Option<i64> {
        match *op {
            (true, v) => Some((*state).max(v)),
            (false, v) => (*state == v).then_some(*state),
        }
    }

    fn is_read(&self, op: &(bool, i64)) -> bool {
        !op.0
    }
}

impl clustersim::lin::NamedModel for MaxRegister {
    const NAME: &'static str = "max-register";
    fn build(init: Option<&serde_json::Value>, _ids: &mut Interner) -> Result<Self, String> {
        match init {
            None => Ok(MaxRegister),
            Some(v) => Err(format!("max-register starts at 0, not {v}")),
        }
    }
}

#[test]
fn a_users_model_is_named_on_the_command_line_of_their_own_binary() {
    use clustersim::registry::Registry;
    let registry = Registry::shipped().named("mine").model::<MaxRegister>();
    assert!(registry
        .models()
        .names()
        .ends_with(&["multi-register", "max-register"]));
    let history = |read: i64| {
        format!(
            "{{:process 0 :type :invoke :f :write :value 5}}\n\
             {{:process 0 :type :ok :f :write :value 5}}\n\
             {{:process 0 :type :invoke :f :write :value 3}}\n\
             {{:process 0 :type :ok :f :write :value 3}}\n\
             {{:process 1 :type :invoke :f :read :value nil}}\n\
             {{:process 1 :type :ok :f :read :value {read}}}\n"
        )
    };
    let dir = scratch("user-model");
    let run = |text: String, extra: &[&str]| {
        let file = dir.join("h.edn");
        std::fs::write(&file, text).unwrap();
        let mut args = vec![
            "mine",
            "check-history",
            file.to_str().unwrap(),
            "--model",
            "max-register",
        ];
        args.extend_from_slice(extra);
        clustersim::cli::run_args(&registry, &[], args)
    };
    assert_eq!(run(history(5), &[]), 0, "a max-register keeps 5");
    assert_eq!(
        run(history(3), &[]),
        1,
        "a register would hold 3; a max-register cannot"
    );
    assert_eq!(
        run(history(5), &["--init", "7"]),
        2,
        "its own start is refused"
    );
    // The shipped program does not know the user's model.
    let file = dir.join("h.edn");
    std::fs::write(&file, history(5)).unwrap();
    let (code, _, err) = clustersim(&[
        "check-history",
        file.to_str().unwrap(),
        "--model",
        "max-register",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("valid models: register") && err.contains("multi-register"),
        "{err}"
    );
}

#[test]
fn the_smallest_window_costs_less_than_the_verdict_did_unless_asked_for_more() {
    let etcd = "tests/histories/porcupine/etcd_000.log";
    // By default the narrowing gets half the verdict's steps (1,671 here): it starts from the
    // shortest failing prefix the verdict found, stops at a larger window, still failing, and
    // says how to get the smallest.
    let (code, out, err) = clustersim(&["check-history", etcd, "--model", "cas-register"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("verdict in") && out.contains("1671 search steps"),
        "{out}"
    );
    assert!(
        out.contains("not narrowed further within 835 steps")
            && out.contains("raise --window-steps"),
        "{out}"
    );
    let (code, out, _) = clustersim(&[
        "check-history",
        etcd,
        "--model",
        "cas-register",
        "--window-steps",
        "2000000",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("smallest failing window: 9 operations"),
        "{out}"
    );
    // 0: the verdict alone.
    let (code, out, _) = clustersim(&[
        "check-history",
        etcd,
        "--model",
        "cas-register",
        "--window-steps",
        "0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("window"), "{out}");
}

#[test]
fn a_users_model_is_named_in_a_scenarios_linearizable_check_of_their_own_binary() {
    use clustersim::registry::Registry;
    let text = std::fs::read_to_string("scenarios/kv-single-node.ron").unwrap();
    let at = text.find("checks:").unwrap();
    let edited = format!(
        "{}{}",
        &text[..at],
        text[at..].replacen("Linearizable", "Linearizable(model: \"max-register\")", 1)
    );
    let scenario = clustersim::scenario::parse(&edited, "mine.ron").unwrap();
    // The user's program knows the model: the scenario loads and the check judges the run
    // with it (a key-value store is no max-register: reads see the last write, not the
    // largest, or the model refuses a cas; either way the verdict names the model).
    let mine = Registry::shipped().named("mine").model::<MaxRegister>();
    let run = clustersim::explore::runner(&mine, "mine.ron")(&scenario).expect("loads and runs");
    let verdict = run
        .verdicts
        .iter()
        .find(|v| v.check == "Linearizable")
        .unwrap();
    assert!(
        format!("{verdict:?}").contains("max-register"),
        "{verdict:?}"
    );
    // The shipped program does not know it: refused at load, at the check, naming the models.
    let err = match Registry::shipped().prepare(&scenario, "mine.ron") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the shipped registry knows max-register"),
    };
    assert!(
        err.contains("mine.ron:")
            && err.contains("unknown model `max-register`")
            && err.contains("valid models: register"),
        "{err}"
    );
}

#[test]
fn an_empty_history_file_is_linearizable_whatever_its_format() {
    // Porcupine's etcd_095.log is empty; Porcupine says linearizable. There is no first line to
    // tell the format by, and none is needed.
    let dir = scratch("empty");
    for name in ["empty.log", "empty.edn", "empty.jsonl"] {
        let file = dir.join(name);
        std::fs::write(&file, "\n  \n").unwrap();
        let (code, out, err) = clustersim(&[
            "check-history",
            file.to_str().unwrap(),
            "--model",
            "cas-register",
        ]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.contains("0 operations"), "{out}");
    }
}
