//! The terminal space-time diagram: one column per node, time going down, one row per event
//! (message arrows drawn when they land, faults as bars across all columns, client operations
//! on their node's column), in plain ASCII or with ANSI colour.

use super::model::{Model, Window};
use crate::history::Phase;
use crate::node::NodeId;
use crate::time::{Duration, SimTime};
use std::fmt::Write as _;

/// Width of one node's column, in characters, when the picture has room.
const COL: usize = 12;
/// The narrowest column (an arrow between neighbours still shows its head).
const COL_MIN: usize = 3;
/// Room a row's text keeps before the columns narrow, when a width is set.
const TEXT_ROOM: usize = 40;
/// The narrowest text a row is folded to.
const TEXT_MIN: usize = 20;
/// The time column and the gap after the lanes.
const FIXED: usize = 12 + 2;
/// Longest message or operation text shown before it is cut.
const TEXT_MAX: usize = 48;

/// What part of the run to draw, and how.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TimelineOptions {
    /// First instant shown (default: the failure window, else the start).
    pub from: Option<SimTime>,
    /// Last instant shown (default: the failure window, else the end).
    pub to: Option<SimTime>,
    /// Only these nodes' columns (default: all).
    pub nodes: Option<Vec<NodeId>>,
    /// Use ANSI colour.
    pub color: bool,
    /// Fit every line in this many columns (the terminal's width): columns narrow and long
    /// texts fold onto continuation lines. `None`: columns of 12 and texts on one line.
    pub width: Option<usize>,
    /// Show only messages whose text starts with one of these names (e.g. `AppendEntries`);
    /// faults, operations and notes are always shown. Empty: every message.
    pub messages: Vec<String>,
    /// Most rows drawn; the rest are counted in a last line that says how to see them.
    /// `None`: every row.
    pub max_rows: Option<usize>,
}

setters!(TimelineOptions {
    from: Option<SimTime>,
    to: Option<SimTime>,
    nodes: Option<Vec<NodeId>>,
    color: bool,
    width: Option<usize>,
    messages: Vec<String>,
    max_rows: Option<usize>,
});

/// Most lanes drawn when no width is set; more nodes are summarised.
const LANES_MAX: usize = 64;

/// Column width and text width for `lanes` lanes in `width` columns.
fn layout(lanes: usize, width: Option<usize>) -> (usize, Option<usize>) {
    let Some(w) = width else {
        return (COL, None);
    };
    let lanes = lanes.max(1);
    let col = (w.saturating_sub(FIXED + TEXT_ROOM) / lanes).clamp(COL_MIN, COL);
    let text = w.saturating_sub(FIXED + lanes * col).max(TEXT_MIN);
    (col, Some(text))
}

/// `text` in pieces of at most `width` characters, cut at a space where one is near the end.
fn fold(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let end = start + width;
        let cut = (start + width / 2..end)
            .rev()
            .find(|&i| chars[i] == ' ')
            .map_or(end, |i| i + 1);
        pieces.push(
            chars[start..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        start = cut;
    }
    pieces.push(chars[start..].iter().collect());
    pieces
}

/// A lane's state, drawn where nothing else is: up `|`, crashed `:`, paused `.`, not a member
/// (a spare, or gone) blank.
#[derive(Copy, Clone, PartialEq)]
enum Lane {
    Up,
    Crashed,
    Paused,
    Absent,
}

impl Lane {
    fn glyph(self) -> u8 {
        match self {
            Lane::Up => b'|',
            Lane::Crashed => b':',
            Lane::Paused => b'.',
            Lane::Absent => b' ',
        }
    }
}

/// Colour of one row.
#[derive(Copy, Clone, PartialEq)]
enum Tone {
    Plain,
    Good,
    Bad,
    Unsure,
    Fault,
    Culprit,
}

impl Tone {
    fn ansi(self) -> &'static str {
        match self {
            Tone::Plain => "",
            Tone::Good => "\x1b[32m",
            Tone::Bad => "\x1b[31m",
            Tone::Unsure => "\x1b[33m",
            Tone::Fault => "\x1b[35;1m",
            Tone::Culprit => "\x1b[41;97;1m",
        }
    }
}

struct Row {
    time: SimTime,
    art: Art,
    text: String,
    tone: Tone,
}

/// What a row draws across the lanes, kept small: the line is built only when it is written.
enum Art {
    /// A message from column `from` to column `to`, ending in `head` (`0`: an arrow).
    Arrow { from: usize, to: usize, head: u8 },
    /// A fault across every lane, with an optional mark on one.
    Fault(Option<(usize, u8)>),
    /// One character on one lane.
    Mark(usize, u8),
}

impl Art {
    /// Draws the row into `line` (`width` bytes), with `center` giving each lane's column.
    fn draw(&self, line: &mut Vec<u8>, width: usize, center: impl Fn(usize) -> usize) {
        line.clear();
        match *self {
            Art::Arrow { from, to, head } => {
                line.resize(width, b' ');
                let (pa, pb) = (center(from), center(to));
                if pa < pb {
                    line[pa + 1..pb].fill(b'-');
                    line[pb - 1] = if head == 0 { b'>' } else { head };
                } else if pa > pb {
                    line[pb + 1..pa].fill(b'-');
                    line[pb + 1] = if head == 0 { b'<' } else { head };
                } else {
                    line[pa] = b'@';
                }
            }
            Art::Fault(mark) => {
                line.resize(width, b'=');
                if let Some((i, c)) = mark {
                    line[center(i)] = c;
                }
            }
            Art::Mark(i, c) => {
                line.resize(width, b' ');
                line[center(i)] = c;
            }
        }
    }
}

/// The window shown: explicit bounds, else the failure's window with some lead-in, else the run.
pub fn window(model: &Model, opts: &TimelineOptions) -> Window {
    if opts.from.is_none() && opts.to.is_none() {
        if let Some(f) = model.focus {
            // A lead-in as long as the window itself (100ms..1s) shows what led up to it.
            let lead = (f.to.0 - f.from.0).clamp(
                Duration::from_millis(100).as_nanos(),
                Duration::from_secs(1).as_nanos(),
            );
            return Window {
                from: SimTime(f.from.0.saturating_sub(lead)),
                to: SimTime(f.to.0 + Duration::from_millis(100).as_nanos()).min(model.end),
            };
        }
    }
    Window {
        from: opts.from.unwrap_or(SimTime(0)),
        to: opts.to.unwrap_or(model.end),
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() > TEXT_MAX {
        let mut t: String = s.chars().take(TEXT_MAX - 3).collect();
        t.push_str("...");
        t
    } else {
        s.to_string()
    }
}

/// The rows of the faults inside the window: those that come before what happens at their
/// instant, or (`inside`) the crashes that fell inside a handler, after what it did.
fn push_faults(
    model: &Model,
    win: &Window,
    col_of: &dyn Fn(NodeId) -> Option<usize>,
    rows: &mut Vec<Row>,
    inside: bool,
) {
    use crate::fault::Fault;
    for f in &model.faults {
        // What a handler brought about is drawn after its rows: a crash at one of its syncs,
        // a departure it asked for.
        let fell = matches!(
            f.fault,
            Fault::CrashAtSync { sync: 0, .. } | Fault::Departed(_)
        );
        if !win.contains(f.time) || fell != inside {
            continue;
        }
        let mark = match &f.fault {
            f if f.downed_node().is_some() => f.downed_node().map(|n| (*n, b'X')),
            Fault::Restart(n) => Some((*n, b'R')),
            Fault::Pause(n) => Some((*n, b'P')),
            Fault::Resume(n) => Some((*n, b'r')),
            Fault::Isolate(n) => Some((*n, b'I')),
            _ => None,
        };
        let mark = mark.and_then(|(n, c)| col_of(n).map(|i| (i, c)));
        rows.push(Row {
            time: f.time,
            art: Art::Fault(mark),
            text: format!("FAULT {}", f.text),
            tone: Tone::Fault,
        });
    }
}

/// Draws the timeline as text.
pub fn render(model: &Model, opts: &TimelineOptions) -> String {
    let mut out = Vec::new();
    let _ = render_to(model, opts, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Draws the timeline as text into `out`, a row at a time (a long run's picture is never
/// held whole in memory).
pub fn render_to(
    model: &Model,
    opts: &TimelineOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let win = window(model, opts);
    let nodes: Vec<NodeId> = opts
        .nodes
        .clone()
        .unwrap_or_else(|| (0..model.names.len() as u32).map(NodeId).collect());
    if too_many_lanes(nodes.len(), opts.width) {
        return render_summary(model, opts, &win, nodes.len(), out);
    }
    let col_of = |n: NodeId| nodes.iter().position(|&m| m == n);
    let (col, text_width) = layout(nodes.len(), opts.width);
    let width = nodes.len() * col;
    let center = |c: usize| c * col + col / 2;
    let mut rows: Vec<Row> = Vec::new();

    // Faults first: at one instant they come before the deliveries they make possible (a
    // resumed node's backlog is handled after its resume).
    push_faults(model, &win, &col_of, &mut rows, false);
    let shown = |text: &str| {
        opts.messages.is_empty()
            || opts
                .messages
                .iter()
                .any(|name| text.starts_with(name.as_str()))
    };
    for m in &model.messages {
        let Some(end) = m.end else { continue };
        if !win.contains(end) || !shown(&m.text) {
            continue;
        }
        let (Some(a), Some(b)) = (col_of(m.from), col_of(m.to)) else {
            continue;
        };
        let head = if m.dropped.is_some() { b'x' } else { 0 };
        let art = Art::Arrow {
            from: a,
            to: b,
            head,
        };
        let mut text = format!(
            "{} -> {} #{} {} (sent {})",
            model.name(m.from),
            model.name(m.to),
            m.id,
            cut(&m.text),
            m.sent
        );
        if let Some(r) = m.dropped {
            let _ = write!(text, " DROPPED: {}", r.label());
        }
        rows.push(Row {
            time: end,
            art,
            text,
            tone: if m.dropped.is_some() {
                Tone::Bad
            } else {
                Tone::Plain
            },
        });
    }
    for op in &model.ops {
        let Some(c) = col_of(op.node) else { continue };
        let mark = |ch: u8| Art::Mark(c, ch);
        let who = model.name(op.node);
        let flag = if op.culprit { "!! " } else { "" };
        if op.outcome == Phase::Event {
            if win.contains(op.start) {
                rows.push(Row {
                    time: op.start,
                    art: mark(b'*'),
                    text: format!("{flag}{who} event {}", cut(&op.text)),
                    tone: if op.culprit {
                        Tone::Culprit
                    } else {
                        Tone::Plain
                    },
                });
            }
            continue;
        }
        if win.contains(op.start) {
            rows.push(Row {
                time: op.start,
                art: mark(b'i'),
                text: format!("{flag}{who} invoke {}", cut(&op.text)),
                tone: if op.culprit {
                    Tone::Culprit
                } else {
                    Tone::Plain
                },
            });
        }
        if let Some(end) = op.end.filter(|e| win.contains(*e)) {
            let (ch, word, tone) = match op.outcome {
                Phase::Ok => (b'O', "ok", Tone::Good),
                Phase::Fail => (b'F', "fail", Tone::Bad),
                _ => (b'?', "info", Tone::Unsure),
            };
            rows.push(Row {
                time: end,
                art: mark(ch),
                text: format!(
                    "{flag}{who} {word} {} after {}",
                    cut(&op.text),
                    end.since(op.start)
                ),
                tone: if op.culprit { Tone::Culprit } else { tone },
            });
        }
    }
    for (t, n, text) in &model.notes {
        let Some(c) = col_of(*n) else { continue };
        if !win.contains(*t) {
            continue;
        }
        rows.push(Row {
            time: *t,
            art: Art::Mark(c, b'"'),
            text: format!("{} note: {}", model.name(*n), cut(text)),
            tone: Tone::Plain,
        });
    }
    // A crash inside a handler comes after the delivery and the operations of that handler.
    push_faults(model, &win, &col_of, &mut rows, true);
    // Stable: rows of one instant keep the order faults, messages, ops, notes, crashes inside.
    rows.sort_by_key(|r| r.time);

    let mut head_text = String::new();
    let names: Vec<&str> = nodes.iter().map(|&n| model.name(n)).collect();
    let _ = writeln!(
        head_text,
        "timeline {} .. {}  nodes: {}",
        win.from,
        win.to,
        names.join(" ")
    );
    for f in &model.failures {
        let _ = writeln!(head_text, "failed {f}");
    }
    if let (Some(f), None, None) = (model.focus, opts.from, opts.to) {
        let _ = writeln!(
            head_text,
            "showing the window around the failure ({} .. {})",
            f.from, f.to
        );
    }
    // The blank lane is in the legend only where a node was not a member at some time.
    let absent = model
        .bands
        .iter()
        .any(|b| b.kind == super::model::BandKind::Absent);
    let _ = writeln!(
        head_text,
        "legend: --> delivered  --x dropped  @ sent to itself  === fault  X crash  R restart  P pause  r resume  I isolate  i invoke  O ok  F fail  ? info  * event  \" note  !! counterexample  lanes: | up  : crashed  . paused{}",
        if absent { "  (blank) not a member" } else { "" }
    );
    let mut head = format!("{:>11} ", "time");
    for n in &names {
        let name: String = n.chars().take(col - 1).collect();
        let _ = write!(head, "{name:^col$}");
    }
    if let Some(w) = opts.width {
        // Header lines fold too, their continuations indented.
        let mut folded = String::new();
        for line in head_text.lines() {
            for (k, piece) in fold(line, w - 2).iter().enumerate() {
                let _ = writeln!(folded, "{}{piece}", if k == 0 { "" } else { "  " });
            }
        }
        head_text = folded;
    }
    let _ = writeln!(head_text, "{}", head.trim_end());
    out.write_all(head_text.as_bytes())?;

    let mut lanes = vec![Lane::Up; nodes.len()];
    let changes = lane_changes(model);
    let mut change_i = 0;
    let mut art: Vec<u8> = Vec::with_capacity(width);
    let budget = opts.max_rows.unwrap_or(usize::MAX);
    // Over budget around a failure: the lead-in goes first, so the failure's window is drawn.
    let skip = match (model.focus, opts.from, opts.to) {
        (Some(f), None, None) if rows.len() > budget => {
            rows.iter().position(|r| r.time >= f.from).unwrap_or(0)
        }
        _ => 0,
    };
    if skip > 0 {
        writeln!(
            out,
            "... {skip} rows of the lead-in left out (--lines 0 draws them)"
        )?;
    }
    let mut lines = 0usize;
    let mut drawn = 0usize;
    for row in &rows[skip..] {
        // The lanes as the model's bands say (never the faults replayed here: a resume of a
        // crashed node, which the engine ignores, would draw it up).
        while let Some(&(_, node, lane)) = changes.get(change_i).filter(|c| c.0 <= row.time) {
            if let Some(i) = col_of(node) {
                lanes[i] = lane;
            }
            change_i += 1;
        }
        row.art.draw(&mut art, width, center);
        for (i, lane) in lanes.iter().enumerate() {
            let p = center(i);
            if art[p] == b' ' {
                art[p] = lane.glyph();
            }
        }
        let pieces = match text_width {
            Some(w) => fold(&row.text, w),
            None => vec![row.text.clone()],
        };
        if lines + pieces.len() > budget {
            break;
        }
        lines += pieces.len();
        drawn += 1;
        let colored = opts.color && row.tone != Tone::Plain;
        for (k, piece) in pieces.iter().enumerate() {
            if colored {
                out.write_all(row.tone.ansi().as_bytes())?;
            }
            if k == 0 {
                write!(out, "{:>11} ", row.time.to_string())?;
                out.write_all(&art)?;
            } else {
                // A continuation: the lanes as they stand, and the rest of the text.
                out.write_all(&[b' '; 12])?;
                let mut bare = vec![b' '; width];
                for (i, lane) in lanes.iter().enumerate() {
                    bare[center(i)] = lane.glyph();
                }
                out.write_all(&bare)?;
            }
            write!(out, "  {piece}")?;
            if colored {
                out.write_all(b"\x1b[0m")?;
            }
            out.write_all(b"\n")?;
        }
    }
    if skip + drawn < rows.len() {
        let upto = match drawn {
            0 => String::new(),
            n => format!(", up to {}", rows[skip + n - 1].time),
        };
        let notice = format!(
            "TRUNCATED: {drawn} of {} rows drawn{upto}; --lines N draws more (0: all), \
             --from/--to or --nodes draw a part",
            rows.len()
        );
        for (k, piece) in fold(&notice, opts.width.map_or(usize::MAX, |w| w - 2))
            .iter()
            .enumerate()
        {
            writeln!(out, "{}{piece}", if k == 0 { "" } else { "  " })?;
        }
        return Ok(());
    }
    writeln!(out, "{} rows", rows.len())
}

/// When each node's lane changes, from the model's crash and pause bands: (time, node, lane),
/// in time order. At one instant, the ends of bands that began earlier come first, then the
/// bands that begin there in the order their faults came, each followed by its own end when it
/// ends there too (a crash and a restart at one instant: the lane is up again).
fn lane_changes(model: &Model) -> Vec<(SimTime, NodeId, Lane)> {
    use super::model::BandKind;
    // (time, 0 for an earlier band's end or 1, the band's place, 0 start or 1 own end, ..)
    let mut changes: Vec<(SimTime, u8, usize, u8, NodeId, Lane)> = Vec::new();
    for (i, b) in model.bands.iter().enumerate() {
        let (Some(node), lane) = (
            b.node,
            match b.kind {
                BandKind::Crash => Lane::Crashed,
                BandKind::Pause => Lane::Paused,
                BandKind::Absent => Lane::Absent,
                BandKind::Network => continue,
            },
        ) else {
            continue;
        };
        changes.push((b.start, 1, i, 0, node, lane));
        if let Some(end) = b.end {
            let (class, sub) = if end == b.start { (1, 1) } else { (0, 0) };
            changes.push((end, class, i, sub, node, Lane::Up));
        }
    }
    changes.sort_by_key(|c| (c.0, c.1, c.2, c.3));
    changes
        .into_iter()
        .map(|(t, _, _, _, n, l)| (t, n, l))
        .collect()
}

/// True when `lanes` lanes cannot be drawn readably: narrower than the narrowest column in
/// `width` columns, or more than [`LANES_MAX`] without a width.
fn too_many_lanes(lanes: usize, width: Option<usize>) -> bool {
    match width {
        Some(w) => lanes * COL_MIN + FIXED + TEXT_MIN > w,
        None => lanes > LANES_MAX,
    }
}

/// A step of 1, 2 or 5 times a power of ten nanoseconds, at least `span / rows`.
fn bucket_for(span: u64, rows: usize) -> u64 {
    let want = (span / rows.max(1) as u64).max(1);
    let mut step = 1u64;
    loop {
        for k in [1, 2, 5] {
            if step.saturating_mul(k) >= want {
                return step.saturating_mul(k);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The timeline of a run with more nodes than lanes fit: per interval, the messages sent,
/// delivered and dropped, the operations that ended and how, and the faults.
fn render_summary(
    model: &Model,
    opts: &TimelineOptions,
    win: &Window,
    lanes: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    #[derive(Default, Clone)]
    struct Bucket {
        sent: u64,
        delivered: u64,
        dropped: u64,
        ok: u64,
        fail: u64,
        info: u64,
        faults: Vec<String>,
    }
    let rows = opts.max_rows.unwrap_or(100).clamp(1, 100);
    let span = win.to.0.saturating_sub(win.from.0).max(1);
    let step = bucket_for(span, rows);
    let count = (span.div_ceil(step) as usize).max(1);
    let mut buckets = vec![Bucket::default(); count];
    let at = |t: SimTime| -> Option<usize> {
        win.contains(t)
            .then(|| ((t.0 - win.from.0) / step) as usize)
            .map(|i| i.min(count - 1))
    };
    let shown = |text: &str| {
        opts.messages.is_empty() || opts.messages.iter().any(|n| text.starts_with(n.as_str()))
    };
    for m in model.messages.iter().filter(|m| shown(&m.text)) {
        if let Some(i) = at(m.sent) {
            buckets[i].sent += 1;
        }
        if let Some(i) = m.end.and_then(at) {
            if m.dropped.is_some() {
                buckets[i].dropped += 1;
            } else {
                buckets[i].delivered += 1;
            }
        }
    }
    for op in &model.ops {
        if let Some(i) = op.end.and_then(at) {
            match op.outcome {
                Phase::Ok => buckets[i].ok += 1,
                Phase::Fail => buckets[i].fail += 1,
                Phase::Info => buckets[i].info += 1,
                _ => {}
            }
        }
    }
    for f in &model.faults {
        if let Some(i) = at(f.time) {
            buckets[i].faults.push(f.text.clone());
        }
    }
    let mut roles: Vec<(&str, usize)> = Vec::new();
    for r in &model.roles {
        match roles.iter_mut().find(|(name, _)| name == r) {
            Some((_, n)) => *n += 1,
            None => roles.push((r.as_str(), 1)),
        }
    }
    let groups: Vec<String> = roles.iter().map(|(r, n)| format!("{r} x{n}")).collect();
    let width = opts.width.unwrap_or(100).max(40);
    let mut head = String::new();
    let _ = writeln!(head, "timeline {} .. {}", win.from, win.to);
    let _ = writeln!(
        head,
        "{lanes} nodes ({}): too many for one lane each in {}; a summary every {}",
        groups.join(", "),
        opts.width
            .map_or(format!("{LANES_MAX} lanes"), |w| format!("{w} columns")),
        Duration(step)
    );
    let _ = writeln!(
        head,
        "draw lanes for some nodes with --nodes a,b,c (up to {} here)",
        opts.width
            .map_or(LANES_MAX, |w| (w.saturating_sub(FIXED + TEXT_MIN)
                / COL_MIN)
                .max(1))
    );
    for f in &model.failures {
        let _ = writeln!(head, "failed {f}");
    }
    let _ = writeln!(
        head,
        "{:>11} {:>7} {:>7} {:>7} {:>6} {:>5} {:>5}  faults",
        "from", "sent", "deliv", "dropped", "ok", "fail", "info"
    );
    for line in head.lines() {
        for (k, piece) in fold(line, width - 2).iter().enumerate() {
            writeln!(out, "{}{piece}", if k == 0 { "" } else { "  " })?;
        }
    }
    let room = width.saturating_sub(11 + 8 * 3 + 7 + 6 + 6 + 2).max(8);
    for (i, b) in buckets.iter().enumerate() {
        let from = SimTime(win.from.0 + i as u64 * step);
        let faults = b.faults.join("; ");
        let faults = if faults.chars().count() > room {
            let mut t: String = faults.chars().take(room.saturating_sub(3)).collect();
            t.push_str("...");
            t
        } else {
            faults
        };
        let line = format!(
            "{:>11} {:>7} {:>7} {:>7} {:>6} {:>5} {:>5}  {faults}",
            from.to_string(),
            b.sent,
            b.delivered,
            b.dropped,
            b.ok,
            b.fail,
            b.info
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out, "{} intervals of {}", count, Duration(step))
}
