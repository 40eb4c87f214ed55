//! The book says only what is true: every chapter in SUMMARY.md exists, every `{{#include}}`
//! names a real file (and a real anchor or line range), every path the text mentions exists,
//! and every `clustersim` / `cargo run --` command in a `console` block runs with the exit code
//! its `# exits N` comment states and prints the output lines shown under it, in order.
//! No block may be marked `pending`: everything the book shows has landed and is run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chapters() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root().join("book/src")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read book/src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A fenced code block: its info string, first line number and lines.
struct Block {
    info: String,
    line: usize,
    lines: Vec<String>,
}

/// Splits markdown into prose (with code blocks blanked) and fenced blocks.
fn parse(text: &str) -> (String, Vec<Block>) {
    let mut prose = String::new();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                open = Some(Block {
                    info: line.trim_start().trim_start_matches('`').trim().to_string(),
                    line: i + 1,
                    lines: Vec::new(),
                })
            }
            (Some(_), true) => blocks.push(open.take().expect("open block")),
            (Some(b), false) => b.lines.push(line.to_string()),
            (None, false) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(open.is_none(), "unclosed code block");
    (prose, blocks)
}

fn is_pending(b: &Block) -> bool {
    b.info.split(',').any(|p| p.trim() == "pending")
}

#[test]
fn summary_lists_only_existing_chapters_and_every_chapter_is_listed() {
    let summary = fs::read_to_string(root().join("book/src/SUMMARY.md")).expect("SUMMARY.md");
    let mut listed = Vec::new();
    for part in summary.split("](").skip(1) {
        let target = part.split(')').next().unwrap_or_default();
        let path = root().join("book/src").join(target);
        assert!(
            path.exists(),
            "SUMMARY.md links {target}, which does not exist"
        );
        listed.push(path);
    }
    for ch in chapters() {
        if ch.ends_with("SUMMARY.md") {
            continue;
        }
        assert!(
            listed.contains(&ch),
            "{} is not in SUMMARY.md",
            ch.display()
        );
    }
    assert!(
        listed.len() >= 9,
        "introduction, 8 chapters and the exercises"
    );
}

/// What is wrong with an include of `file` with the parts after it (`["name"]` for an anchor),
/// given the included file's text: line numbers drift, a whole source file says too much.
fn include_problem(file: &str, rest: &[&str], body: &str) -> Option<String> {
    match rest {
        [] if file.ends_with(".rs") => Some(format!(
            "includes the whole of {file}; include an anchored part (`{file}:name`)"
        )),
        [] => None,
        [anchor] if anchor.parse::<usize>().is_err() => {
            let marked = body.contains(&format!("ANCHOR: {anchor}"))
                && body.contains(&format!("ANCHOR_END: {anchor}"));
            (!marked).then(|| format!("no anchor `{anchor}` in {file}"))
        }
        _ => Some(format!(
            "includes {file} by line numbers, which drift when the file changes; mark the lines \
             with `ANCHOR: name` / `ANCHOR_END: name` comments and include `{file}:name`"
        )),
    }
}

#[test]
fn every_include_names_a_real_file_and_anchor() {
    let mut count = 0;
    for ch in chapters() {
        let text = fs::read_to_string(&ch).expect("chapter");
        for piece in text.split("{{#").skip(1) {
            let directive = piece.split("}}").next().unwrap_or_default();
            let mut words = directive.split_whitespace();
            let kind = words.next().unwrap_or_default();
            if kind != "include" && kind != "rustdoc_include" {
                continue;
            }
            count += 1;
            let spec = words.next().unwrap_or_default();
            let mut parts = spec.split(':');
            let file = parts.next().unwrap_or_default();
            let path = ch.parent().expect("dir").join(file);
            let at = format!("{}: {{{{#{directive}}}}}", ch.display());
            let body = fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{at}: {} does not exist", path.display()));
            let rest: Vec<&str> = parts.collect();
            if let Some(problem) = include_problem(file, &rest, &body) {
                panic!("{at}: {problem}");
            }
        }
    }
    assert!(
        count >= 20,
        "the book includes real code and scenarios ({count} includes)"
    );
}

/// Paths like `scenarios/x.ron` or `exercises/y.rs` mentioned in the text or its blocks.
fn mentioned_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 10] = [
        "scenarios/",
        "maelstrom/",
        "exercises/",
        "solutions/",
        "examples/",
        "src/",
        "tests/",
        "benches/",
        ".ci/",
        "batch/",
    ];
    const EXTS: [&str; 10] = [
        ".ron", ".rs", ".toml", ".sh", ".md", ".yml", ".yaml", ".sbatch", ".py", ".go",
    ];
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (start, _) in text.char_indices() {
        let Some(prefix) = ROOTS.iter().find(|r| text[start..].starts_with(**r)) else {
            continue;
        };
        if start > 0 {
            let before = bytes[start - 1] as char;
            if before.is_alphanumeric() || "_-/.".contains(before) {
                continue;
            }
        }
        let len = text[start..]
            .find(|c: char| !(c.is_alphanumeric() || "_./-".contains(c)))
            .unwrap_or(text.len() - start);
        let path = text[start..start + len].trim_end_matches('.');
        // `scenarios/exercises/NAME.ron` is a pattern, not a file.
        let pattern = path.contains("NAME");
        if !pattern && path.len() > prefix.len() && EXTS.iter().any(|e| path.ends_with(e)) {
            found.push(path.to_string());
        }
    }
    found
}

#[test]
fn every_mentioned_file_exists() {
    let mut count = 0;
    for ch in chapters() {
        let text = fs::read_to_string(&ch).expect("chapter");
        let (prose, blocks) = parse(&text);
        let mut checked = prose;
        for b in &blocks {
            checked.push_str(&b.lines.join("\n"));
            checked.push('\n');
        }
        for path in mentioned_paths(&checked) {
            count += 1;
            assert!(
                root().join(&path).exists(),
                "{} mentions {path}, which does not exist",
                ch.display()
            );
        }
    }
    assert!(count >= 20, "the book points at real files ({count} paths)");
}

/// One command shown in the book, with what the text promises about it.
struct Shown {
    chapter: String,
    line: usize,
    text: String,
    /// `clustersim`, or a workspace crate's binary built on it (`PROGRAMS`).
    program: &'static str,
    args: Vec<String>,
    exit: i32,
    /// The listing under the command as written (trailing blank lines dropped); a line `...`
    /// stands for any number of printed lines.
    output: Vec<String>,
    /// The file lines (1-based, end exclusive) the listing occupies.
    span: (usize, usize),
}

fn split_args(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        args.push(cur);
    }
    args
}

/// The binaries book commands may run: the simulator's and the workspace crates built on it.
const PROGRAMS: [&str; 4] = [
    "clustersim",
    "clustersim-exercises",
    "clustersim-solutions",
    "lock-service",
];

fn shown_commands() -> Vec<Shown> {
    let mut shown = Vec::new();
    for ch in chapters() {
        let text = fs::read_to_string(&ch).expect("chapter");
        let name = ch.file_name().expect("name").to_string_lossy().to_string();
        let (_, blocks) = parse(&text);
        for b in blocks.iter().filter(|b| b.info.starts_with("console")) {
            let mut current: Option<Shown> = None;
            for (k, line) in b.lines.iter().enumerate() {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    if let Some(mut s) = current.take() {
                        s.output.truncate(s.span.1 - s.span.0);
                        shown.push(s);
                    }
                    let (cmd, comment) = match cmd.find(" # ") {
                        Some(i) => (&cmd[..i], cmd[i + 3..].trim()),
                        None => (cmd, ""),
                    };
                    let words = split_args(cmd);
                    let first = words.first().map(String::as_str).unwrap_or_default();
                    let (program, args): (&'static str, Vec<String>) = match first {
                        _ if PROGRAMS.contains(&first) => {
                            let p = PROGRAMS.iter().find(|p| **p == first).expect("listed");
                            (*p, words[1..].to_vec())
                        }
                        "cargo" if words.get(1).map(String::as_str) == Some("run") => {
                            // `cargo run -p NAME -- ...` runs that crate's binary.
                            let program = words
                                .iter()
                                .position(|w| w == "-p" || w == "--package")
                                .and_then(|i| words.get(i + 1))
                                .and_then(|n| PROGRAMS.iter().find(|p| **p == n.as_str()))
                                .copied()
                                .unwrap_or("clustersim");
                            match words.iter().position(|w| w == "--") {
                                Some(i) => (program, words[i + 1..].to_vec()),
                                None => panic!(
                                    "{name}:{}: `{cmd}` needs `--` before the arguments",
                                    b.line + k + 1
                                ),
                            }
                        }
                        _ => continue,
                    };
                    let at = format!("{name}:{}", b.line + k + 1);
                    assert!(
                        !args
                            .iter()
                            .any(|a| ["|", ">", "<", ";", "&&", "2>&1"].contains(&a.as_str())),
                        "{at}: `{cmd}` uses shell syntax; show one plain command"
                    );
                    let exit = comment
                        .strip_prefix("exits ")
                        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| {
                            panic!("{at}: `{cmd}` must say its exit status, e.g. `# exits 0`")
                        });
                    current = Some(Shown {
                        chapter: name.clone(),
                        line: b.line + k + 1,
                        text: cmd.to_string(),
                        program,
                        args,
                        exit,
                        output: Vec::new(),
                        span: (b.line + k + 2, b.line + k + 2),
                    });
                } else if let Some(s) = current.as_mut() {
                    s.output.push(line.trim_end().to_string());
                    if !line.trim().is_empty() {
                        s.span.1 = b.line + k + 2;
                    }
                }
            }
            if let Some(mut s) = current.take() {
                s.output.truncate(s.span.1 - s.span.0);
                shown.push(s);
            }
        }
    }
    shown
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let dest = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            fs::copy(&path, &dest).expect("copy");
        }
    }
}

/// A scratch directory holding a copy of `scenarios/` (and the worked example's), so commands that write files (traces,
/// pictures, shrunk scenarios) never touch the repository.
fn scratch(chapter: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "clustersim-book-{}-{}",
        std::process::id(),
        chapter.trim_end_matches(".md")
    ));
    let _ = fs::remove_dir_all(&dir);
    copy_dir(&root().join("scenarios"), &dir.join("scenarios"));
    let example = "examples/lock-service/scenarios";
    copy_dir(&root().join(example), &dir.join(example));
    // The Maelstrom chapter's Python nodes and their scenarios.
    copy_dir(&root().join("maelstrom"), &dir.join("maelstrom"));
    dir
}

/// The binary a book command runs: this package's `clustersim`, or the exercises crate's
/// `clustersim-exercises` beside it (built by `cargo test --workspace`).
fn binary(program: &str) -> PathBuf {
    let main = PathBuf::from(env!("CARGO_BIN_EXE_clustersim"));
    if program == "clustersim" {
        return main;
    }
    let other = main.with_file_name(format!("{program}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        other.exists(),
        "the book runs `{program}`, which is not built: run the tests with `--workspace` \
         (or `cargo build -p {program}` first)"
    );
    other
}

/// A command's output as the listing compares it: lines without trailing spaces, trailing blank
/// lines dropped.
fn printed_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Whether `listing` shows `printed` truly: every listed line is a printed line, whole, in
/// order, adjacent to its neighbours unless a `...` line stands between them; without a `...` at
/// its start (end) the listing starts (ends) where the output does.
fn compare_listing(printed: &[String], listing: &[String]) -> Result<(), String> {
    let elided = |l: &String| l.trim() == "...";
    let segments: Vec<&[String]> = listing.split(elided).collect();
    let (open_start, open_end) = (
        listing.first().is_none_or(elided),
        listing.last().is_none_or(elided),
    );
    if listing.is_empty() && !printed.is_empty() {
        return Err("nothing is listed but it printed something; write `...`".into());
    }
    let mut from = 0;
    let last = segments.len() - 1;
    for (k, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            continue;
        }
        let at = |i: usize| {
            printed
                .get(i..i + seg.len())
                .is_some_and(|run| run.iter().zip(seg.iter()).all(|(p, l)| line_matches(l, p)))
        };
        let found = match (k == 0 && !open_start, k == last && !open_end) {
            (true, true) => (printed.len() == seg.len() && at(0)).then_some(0),
            (true, false) => at(0).then_some(0),
            (false, true) => printed
                .len()
                .checked_sub(seg.len())
                .filter(|&i| i >= from && at(i)),
            (false, false) => (from..=printed.len().saturating_sub(seg.len())).find(|&i| at(i)),
        };
        match found {
            Some(i) => from = i + seg.len(),
            None => {
                // Name the first listed line of this run that is not where it should be.
                let bad = seg
                    .iter()
                    .find(|l| !printed[from..].iter().any(|p| line_matches(l, p)))
                    .unwrap_or(&seg[0]);
                let whole = if k == 0 && !open_start {
                    " (the listing has no `...` before it, so it must be the first line)"
                } else if k == last && !open_end {
                    " (the listing has no `...` after it, so the output must end there)"
                } else {
                    ""
                };
                return Err(format!(
                    "these lines do not appear whole, together and in order{whole}:\n    {}\n(first: {bad:?})",
                    seg.join("\n    ")
                ));
            }
        }
    }
    Ok(())
}

/// Whether a listed line shows a printed one: equal, where `[..]` in the listing stands for any
/// text within the line (a wall-clock time, which no two runs share).
fn line_matches(listed: &str, printed: &str) -> bool {
    let mut pieces = listed.split("[..]");
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = printed.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A listing rewritten to show `printed` truly: each line of `old` that some printed line
/// contains (in order) becomes that whole line, and `...` marks what is left out between them.
/// `None` when a listed line is not in the output at all (a real difference, not an elision).
fn fix_listing(printed: &[String], old: &[String]) -> Option<Vec<String>> {
    let mut picked = Vec::new();
    let mut from = 0;
    for want in old
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && *l != "...")
    {
        let i = from + printed[from..].iter().position(|p| p.contains(want))?;
        picked.push(i);
        from = i + 1;
    }
    let mut out = Vec::new();
    let mut next = 0;
    for i in picked {
        let gap = &printed[next..i];
        if gap.iter().all(|l| l.is_empty()) {
            out.extend(gap.iter().cloned());
        } else {
            out.push("...".to_string());
        }
        out.push(printed[i].clone());
        next = i + 1;
    }
    if next < printed.len() {
        out.push("...".to_string());
    }
    Some(out)
}

/// Writes rewritten listings back into their chapters (`BOOK_FIX=1`), last first so spans hold.
fn apply_fixes(mut fixes: Vec<(String, (usize, usize), Vec<String>)>) {
    fixes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)).reverse());
    for (chapter, (start, end), listing) in fixes {
        let path = root().join("book/src").join(&chapter);
        let text = fs::read_to_string(&path).expect("chapter");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.splice(start - 1..end - 1, listing);
        fs::write(&path, lines.join("\n") + "\n").expect("write chapter");
        eprintln!("rewrote the listing at {chapter}:{start}");
    }
}

#[test]
fn every_command_runs_as_the_text_says() {
    let shown = shown_commands();
    assert!(
        shown.len() >= 25,
        "the book shows runnable commands ({})",
        shown.len()
    );
    // `BOOK_CHAPTER=ch11` runs only the commands of the chapters whose file names contain it.
    let only = std::env::var("BOOK_CHAPTER").unwrap_or_default();
    let shown: Vec<_> = shown
        .into_iter()
        .filter(|s| s.chapter.contains(only.as_str()))
        .collect();
    let mut failures = Vec::new();
    let fixing = std::env::var_os("BOOK_FIX").is_some();
    let mut fixes = Vec::new();
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for s in &shown {
        let dir = match dirs.iter().find(|(c, _)| *c == s.chapter) {
            Some((_, d)) => d.clone(),
            None => {
                let d = scratch(&s.chapter);
                dirs.push((s.chapter.clone(), d.clone()));
                d
            }
        };
        // The book's listings are drawn without a terminal width.
        let out = Command::new(binary(s.program))
            .env_remove("COLUMNS")
            .args(&s.args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("run clustersim");
        let code = out.status.code().unwrap_or(-1);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let at = format!("{}:{}: `{}`", s.chapter, s.line, s.text);
        if code != s.exit {
            failures.push(format!(
                "{at} exited {code}, the book says {}\n{text}",
                s.exit
            ));
            continue;
        }
        let printed = printed_lines(&text);
        if let Err(why) = compare_listing(&printed, &s.output) {
            match fix_listing(&printed, &s.output) {
                Some(listing) if fixing => fixes.push((s.chapter.clone(), s.span, listing)),
                _ => failures.push(format!(
                    "{at}: the listing under it is not what it printed: {why}\n\
                     (a listing shows printed lines whole and in order; write `...` on a line \
                     of its own where lines are left out; BOOK_FIX=1 rewrites listings whose \
                     lines all appear in the output)\nit printed:\n{text}"
                )),
            }
        }
    }
    apply_fixes(fixes);
    for (_, d) in dirs {
        let _ = fs::remove_dir_all(d);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn no_block_is_pending() {
    for ch in chapters() {
        let text = fs::read_to_string(&ch).expect("chapter");
        if let Some(b) = parse(&text).1.iter().find(|b| is_pending(b)) {
            panic!(
                "{}:{}: a `pending` block; show only commands that run",
                ch.display(),
                b.line
            );
        }
    }
}

#[test]
fn the_walker_catches_what_it_should() {
    // The checks above must be able to fail: a missing path is found, a command without an
    // exit status is rejected, quoting is honoured.
    assert_eq!(
        mentioned_paths("see `scenarios/nope.ron` and ../../src/x.rs and src/protocols/"),
        vec!["scenarios/nope.ron".to_string()]
    );
    assert_eq!(
        split_args("run 'a b' --seed 3"),
        vec!["run".to_string(), "a b".into(), "--seed".into(), "3".into()]
    );
    let (prose, blocks) = parse("text\n```console,pending\n$ clustersim x   # exits 1\n```\n");
    assert_eq!(prose, "text\n");
    assert!(is_pending(&blocks[0]));
    assert!(!is_pending(
        &parse("```console\n$ clustersim x\n```\n").1[0]
    ));
    assert!(!root().join("scenarios/nope.ron").exists());

    // A listing shows whole lines: one that drops a line without `...`, cuts a line short or
    // strips its indentation fails; the same with `...` where lines are left out passes.
    let printed: Vec<String> = [
        "summary",
        "  PASS A: fine",
        "  PASS B: fine",
        "  FAIL C: bad",
    ]
    .map(String::from)
    .to_vec();
    let listing = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(compare_listing(&printed, &printed).is_ok());
    for wrong in [
        listing(&["summary", "  PASS A: fine", "  FAIL C: bad"]),
        listing(&["summary", "PASS A: fine", "...", "  FAIL C: bad"]),
        listing(&["summary", "  PASS A", "..."]),
        listing(&["  PASS A: fine", "..."]),
        listing(&["...", "  PASS B: fine"]),
        listing(&["...", "  FAIL C: bad", "  PASS B: fine"]),
        listing(&[]),
    ] {
        assert!(
            compare_listing(&printed, &wrong).is_err(),
            "{wrong:?} passed"
        );
    }
    for right in [
        listing(&["summary", "...", "  FAIL C: bad"]),
        listing(&["...", "  PASS B: fine", "..."]),
        listing(&["...", "  FAIL C: [..]"]),
        listing(&["..."]),
    ] {
        assert!(
            compare_listing(&printed, &right).is_ok(),
            "{right:?} failed"
        );
    }
    assert_eq!(
        fix_listing(&printed, &listing(&["summary", "PASS B", "FAIL C"])),
        Some(listing(&[
            "summary",
            "...",
            "  PASS B: fine",
            "  FAIL C: bad"
        ]))
    );
    assert_eq!(fix_listing(&printed, &listing(&["PASS D"])), None);

    // Included code is named by an anchor, never by line numbers or whole.
    let body = "a\n// ANCHOR: part\nb\n// ANCHOR_END: part\n";
    assert_eq!(include_problem("x.rs", &["part"], body), None);
    assert_eq!(include_problem("x.ron", &[], body), None);
    assert!(include_problem("x.rs", &["2", "3"], body).is_some());
    assert!(include_problem("x.rs", &["2"], body).is_some());
    assert!(include_problem("x.rs", &[], body).is_some());
    assert!(include_problem("x.rs", &["other"], body).is_some());
}

/// A knee figure, `figures/load-NAME.svg`, is what the `clustersim load` command in the header
/// of `scenarios/capacity/NAME.ron` draws with `--plot`.
fn check_load_figure(figure: &Path, name: &str) {
    let scenario = format!("scenarios/capacity/{name}.ron");
    let text = fs::read_to_string(root().join(&scenario)).expect("the figure's scenario");
    let line = text
        .lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .find_map(|l| {
            l.trim_start_matches(['/', ' '])
                .strip_prefix("clustersim load ")
        })
        .unwrap_or_else(|| panic!("{scenario} has no `clustersim load` line in its header"));
    let words: Vec<&str> = line.split_whitespace().collect();
    // Its own --plot (if any) is replaced by a scratch file.
    let mut args: Vec<String> = vec!["load".into()];
    let mut i = 0;
    while i < words.len() {
        if words[i] == "--plot" {
            i += 2;
            continue;
        }
        args.push(words[i].to_string());
        i += 1;
    }
    let out = std::env::temp_dir().join(format!(
        "clustersim-figure-{}-load-{name}.svg",
        std::process::id()
    ));
    let _ = fs::remove_file(&out);
    let status = Command::new(binary("clustersim"))
        .args(&args)
        .arg("--plot")
        .arg(&out)
        .current_dir(root())
        .output()
        .expect("run clustersim");
    assert!(status.status.success(), "{name}: {status:?}");
    let drawn = fs::read_to_string(&out).expect("drawn");
    let kept = fs::read_to_string(figure).expect("figure");
    let _ = fs::remove_file(&out);
    assert!(
        drawn == kept,
        "{} is not what `clustersim {} --plot FILE` draws now; copy FILE over it",
        figure.display(),
        args.join(" ")
    );
}

/// A screenshot, `figures/WHAT-WIDTH.png`, made by `.ci/screenshots.sh` (it needs chromium, so
/// it is not made here): a PNG WIDTH pixels wide and 1000 high, with something drawn in it.
fn check_screenshot(figure: &Path, name: &str) {
    let width: u32 = name
        .trim_end_matches(".png")
        .rsplit_once('-')
        .and_then(|(_, w)| w.parse().ok())
        .unwrap_or_else(|| panic!("{name}: screenshots are named WHAT-WIDTH.png"));
    let bytes = fs::read(figure).expect("screenshot");
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{name} is not a PNG; run .ci/screenshots.sh"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!(
        (be(&bytes[16..20]), be(&bytes[20..24])),
        (width, 1000),
        "{name}: a {width}x1000 screenshot"
    );
    assert!(bytes.len() > 20_000, "{name} is nearly blank");
}

/// The book's figures are the files `clustersim run --plots` draws: each `figures/SCENARIO-CHART.svg`
/// is regenerated from `scenarios/article/SCENARIO.ron` and compared byte for byte (a knee
/// figure from its `clustersim load` line, a screenshot checked for its size), and every figure
/// is shown by some chapter.
#[test]
fn every_figure_is_what_the_tool_draws_and_is_shown() {
    let dir = root().join("book/src/figures");
    let chapters: String = chapters()
        .iter()
        .map(|c| fs::read_to_string(c).expect("chapter"))
        .collect();
    let mut count = 0;
    for entry in fs::read_dir(&dir).expect("book/src/figures") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if name.ends_with(".png") {
            check_screenshot(&path, &name);
            assert!(
                chapters.contains(&format!("](figures/{name})")),
                "no chapter shows figures/{name}"
            );
            continue;
        }
        if let Some(load) = name.strip_prefix("load-") {
            check_load_figure(&path, load.trim_end_matches(".svg"));
            assert!(
                chapters.contains(&format!("](figures/{name})")),
                "no chapter shows figures/{name}"
            );
            continue;
        }
        let (scenario, chart) = name
            .trim_end_matches(".svg")
            .rsplit_once('-')
            .unwrap_or_else(|| panic!("{name}: figures are named SCENARIO-CHART.svg"));
        let out =
            std::env::temp_dir().join(format!("clustersim-figure-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&out);
        let status = Command::new(binary("clustersim"))
            .args([
                "run",
                &format!("scenarios/article/{scenario}.ron"),
                "--quiet",
                "--plots",
            ])
            .arg(&out)
            .current_dir(root())
            .output()
            .expect("run clustersim");
        assert!(status.status.success(), "{name}: {status:?}");
        let drawn = fs::read_to_string(out.join(format!("{chart}.svg"))).expect("drawn");
        let kept = fs::read_to_string(&path).expect("figure");
        assert!(
            drawn == kept,
            "{name} is not what `clustersim run scenarios/article/{scenario}.ron --plots DIR` draws \
             now; copy DIR/{chart}.svg over it"
        );
        assert!(
            chapters.contains(&format!("](figures/{name})")),
            "no chapter shows figures/{name}"
        );
        let _ = fs::remove_dir_all(&out);
        count += 1;
    }
    assert!(
        count >= 3,
        "the performance section embeds the figures it discusses"
    );
}
