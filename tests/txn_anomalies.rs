//! Elle-style checking of list-append histories (`clustersim::txn`): for each anomaly class
//! (G0, G1c, G-single, G2-item) a history that has it and the closest history that does not,
//! read from Jepsen EDN as `check-history` reads files.

use clustersim::lin::formats::{read, Format};
use clustersim::txn::{check_list_append, Anomaly, Checked};

/// A history of transactions, one after another: `process outcome steps` per line (`ok`,
/// `fail` or `info`), the steps as EDN with the values committed reads returned.
fn history(script: &str) -> String {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (p, outcome, steps) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            format!(
                "{{:process {p} :type :invoke :f :txn :value {steps}}}\n\
                 {{:process {p} :type :{outcome} :f :txn :value {steps}}}\n"
            )
        })
        .collect()
}

fn check(script: &str) -> Checked {
    let ops = read(&history(script), Format::Edn).expect("a well-formed history");
    check_list_append(&ops).expect("list-append transactions")
}

/// The anomaly classes found, strongest first.
fn anomalies(script: &str) -> Vec<Anomaly> {
    let checked = check(script);
    assert!(
        checked.incompatible.is_empty(),
        "{:?}",
        checked.incompatible
    );
    let mut found: Vec<Anomaly> = checked.cycles.iter().map(|c| c.anomaly).collect();
    found.dedup();
    found
}

#[test]
fn g0_a_write_cycle_is_found_and_a_consistent_order_is_not() {
    // T0 and T1 both append to x and y; x says T0 came first, y says T1 did.
    let cycle = "0 ok [[:append :x 1] [:append :y 2]]
                 1 ok [[:append :x 2] [:append :y 1]]
                 2 ok [[:r :x [1 2]] [:r :y [1 2]]]";
    assert_eq!(anomalies(cycle), [Anomaly::G0]);
    let checked = check(cycle);
    let lines = checked.explain(&checked.cycles[0]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains(": ww on :")), "{lines:?}");
    assert!(Anomaly::G0.rules_out().contains("read-uncommitted"));
    let fine = "0 ok [[:append :x 1] [:append :y 2]]
                1 ok [[:append :x 2] [:append :y 1]]
                2 ok [[:r :x [1 2]] [:r :y [2 1]]]";
    assert_eq!(anomalies(fine), []);
    assert!(check(fine).valid());
}

#[test]
fn g1c_circular_information_flow_is_found_and_one_way_flow_is_not() {
    // Each transaction read the other's append.
    let cycle = "0 ok [[:append :x 1] [:r :y [1]]]
                 1 ok [[:append :y 1] [:r :x [1]]]";
    assert_eq!(anomalies(cycle), [Anomaly::G1c]);
    let fine = "0 ok [[:append :x 1] [:r :y [1]]]
                1 ok [[:append :y 1] [:r :x nil]]";
    // T1 came first: it read x empty before T0 appended, and T0 read T1's y.
    assert_eq!(anomalies(fine), []);
}

#[test]
fn g_single_read_skew_is_found_and_a_whole_snapshot_is_not() {
    // T0 appends to both keys; T1 sees its y but not its x.
    let skew = "0 ok [[:append :x 1] [:append :y 1]]
                1 ok [[:r :x nil] [:r :y [1]]]
                2 ok [[:r :x [1]]]";
    assert_eq!(anomalies(skew), [Anomaly::GSingle]);
    let checked = check(skew);
    let lines = checked.explain(&checked.cycles[0]);
    assert!(
        lines.iter().any(|l| l.contains("rw on :x"))
            && lines.iter().any(|l| l.contains("wr on :y")),
        "{lines:?}"
    );
    let fine = "0 ok [[:append :x 1] [:append :y 1]]
                1 ok [[:r :x [1]] [:r :y [1]]]";
    assert_eq!(anomalies(fine), []);
}

#[test]
fn g2_item_write_skew_is_found_and_serial_transactions_are_not() {
    // Each read the other's key empty, then appended to its own: neither saw the other.
    let skew = "0 ok [[:r :x nil] [:append :y 1]]
                1 ok [[:r :y nil] [:append :x 1]]
                2 ok [[:r :x [1]] [:r :y [1]]]";
    assert_eq!(anomalies(skew), [Anomaly::G2Item]);
    let fine = "0 ok [[:r :x nil] [:append :y 1]]
                1 ok [[:r :y [1]] [:append :x 1]]
                2 ok [[:r :x [1]] [:r :y [1]]]";
    assert_eq!(anomalies(fine), []);
}

#[test]
fn aborted_appends_write_nothing_and_unknown_ones_may_have() {
    // T0 aborted: the value 1 that T1 read has no writer, so no edge comes from T0.
    let aborted = "0 fail [[:append :x 1] [:r :y nil]]
                   1 ok [[:append :y 1] [:r :x [1]]]";
    let checked = check(aborted);
    assert!(
        checked.edges.iter().all(|e| e.from != 0 && e.to != 0),
        "{:?}",
        checked.edges
    );
    // An unknown (info) transaction's append counts when it was read.
    let unknown = "0 info [[:append :x 1] [:r :y nil]]
                   1 ok [[:append :y 1] [:r :x [1]]]";
    assert!(
        check(unknown).edges.iter().any(|e| e.from == 0),
        "its append was read"
    );
}

#[test]
fn reads_that_disagree_on_a_keys_order_are_reported() {
    let checked = check(
        "0 ok [[:append :x 1]]
         1 ok [[:append :x 2]]
         2 ok [[:r :x [1 2]]]
         3 ok [[:r :x [2]]]",
    );
    assert!(!checked.valid());
    assert!(
        checked.incompatible[0].contains("not a prefix"),
        "{:?}",
        checked.incompatible
    );
}

#[test]
fn a_step_that_is_not_list_append_is_refused_with_its_operation() {
    let ops = read(&history("0 ok [[:write :x 1]]"), Format::Edn).unwrap();
    let e = check_list_append(&ops).unwrap_err();
    assert_eq!(e.op, Some(0));
    assert!(
        e.at(&ops).contains("line 1:1") && e.message.contains(":append or :r"),
        "{e:?}"
    );
}

fn check_txn(name: &str, text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("clustersim-txn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["check-txn", file.to_str().unwrap()])
        .output()
        .expect("run clustersim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn check_txn_names_the_anomaly_and_explains_its_cycle_exit_1_and_passes_exit_0() {
    let skew = history(
        "0 ok [[:r :x nil] [:append :y 1]]
         1 ok [[:r :y nil] [:append :x 1]]
         2 ok [[:r :x [1]] [:r :y [1]]]",
    );
    let (code, out, err) = check_txn("skew.edn", &skew);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("3 transactions: 3 committed")
            && out.contains("FAIL G2-item (rules out repeatable-read")
            && out.contains("rw on :x: T0 read [] before T1 appended 1"),
        "{out}"
    );
    let fine = history(
        "0 ok [[:r :x nil] [:append :y 1]]
         1 ok [[:r :y [1]] [:append :x 1]]",
    );
    let (code, out, err) = check_txn("fine.edn", &fine);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("PASS: no G0, G1a, G1b, G1c, G-single or G2-item among 2"),
        "{out}"
    );
    let (code, _, err) = check_txn("bad.edn", &history("0 ok [[:append :x]]"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.edn:1:1:") && err.contains("[f key value]"),
        "{err}"
    );
}

#[test]
fn elles_own_history_gets_elles_anomaly_g2_item_and_no_g_single() {
    // Elle's histories/si-without-g-single.edn: Elle reports [:G2-item] and rules out
    // repeatable-read only. Two of its edges come from appends no read saw.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/histories/elle/si-without-g-single.edn"
    ))
    .unwrap();
    let ops = read(&text, Format::Edn).unwrap();
    let checked = check_list_append(&ops).unwrap();
    let mut found: Vec<Anomaly> = checked.cycles.iter().map(|c| c.anomaly).collect();
    found.dedup();
    assert_eq!(found, [Anomaly::G2Item], "{:?}", checked.cycles);
    assert!(
        checked
            .edges
            .iter()
            .any(|e| e.why.contains("which no read saw")),
        "{:?}",
        checked.edges
    );
}

#[test]
fn g1a_a_read_of_an_aborted_append_is_found_and_of_a_committed_one_is_not() {
    let aborted = check(
        "0 fail [[:append :x 1]]
         1 ok [[:r :x [1]]]",
    );
    assert!(!aborted.valid());
    assert!(
        aborted.aborted_reads[0].contains("read 1 in :x = [1], appended only by aborted T0"),
        "{:?}",
        aborted.aborted_reads
    );
    let committed = check(
        "0 ok [[:append :x 1]]
         1 ok [[:r :x [1]]]",
    );
    assert!(committed.valid() && committed.aborted_reads.is_empty());
}

#[test]
fn g1b_a_read_of_an_intermediate_state_is_found_and_of_the_final_one_is_not() {
    let intermediate = check(
        "0 ok [[:append :x 1] [:append :x 2]]
         1 ok [[:r :x [1]]]
         2 ok [[:r :x [1 2]]]",
    );
    assert!(!intermediate.valid());
    assert!(
        intermediate.intermediate_reads[0]
            .contains("which T0 (process 0, line 1:1) appended before appending 2"),
        "{:?}",
        intermediate.intermediate_reads
    );
    let final_state = check(
        "0 ok [[:append :x 1] [:append :x 2]]
         1 ok [[:r :x [1 2]]]
         2 ok [[:append :x 3] [:r :x [1 2 3]]]",
    );
    assert!(final_state.valid(), "{:?}", final_state.intermediate_reads);
}

#[test]
fn realtime_and_process_orders_find_stale_reads_only_when_asked_for() {
    use clustersim::txn::{check_list_append_with, Orders};
    // One after another in real time and on one client: T1 began after T0 completed, yet did
    // not see its append. No data cycle: serializable, but not strictly, nor in session order.
    let stale = history(
        "0 ok [[:append :x 1]]
         0 ok [[:r :x nil]]
         1 ok [[:r :x [1]]]",
    );
    let ops = read(&stale, Format::Edn).unwrap();
    let names = |orders: Orders| -> Vec<String> {
        let checked = check_list_append_with(&ops, orders).unwrap();
        checked.cycles.iter().map(|c| c.name()).collect()
    };
    assert_eq!(names(Orders::default()), Vec::<String>::new());
    let realtime = Orders {
        realtime: true,
        ..Orders::default()
    };
    assert_eq!(names(realtime), ["G-single-realtime"]);
    let process = Orders {
        process: true,
        ..Orders::default()
    };
    assert_eq!(names(process), ["G-single-process"]);
    // Concurrent transactions have no real-time order: the same reads pass.
    let concurrent = "{:process 0 :type :invoke :f :txn :value [[:append :x 1]]}\n\
                      {:process 1 :type :invoke :f :txn :value [[:r :x nil]]}\n\
                      {:process 0 :type :ok :f :txn :value [[:append :x 1]]}\n\
                      {:process 1 :type :ok :f :txn :value [[:r :x nil]]}\n\
                      {:process 2 :type :invoke :f :txn :value [[:r :x nil]]}\n\
                      {:process 2 :type :ok :f :txn :value [[:r :x [1]]]}\n";
    let ops = read(concurrent, Format::Edn).unwrap();
    let checked = check_list_append_with(&ops, realtime).unwrap();
    assert!(checked.valid(), "{:?}", checked.cycles);
    // The reduced real-time order keeps only the edges nothing else implies: 0 -> 2, 1 -> 2.
    let rt: Vec<(usize, usize)> = checked
        .edges
        .iter()
        .filter(|e| e.kind == clustersim::txn::EdgeKind::Realtime)
        .map(|e| (e.from, e.to))
        .collect();
    assert_eq!(rt, [(0, 2), (1, 2)]);
}
