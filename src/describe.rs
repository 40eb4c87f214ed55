//! A node's state as a tree a person reads (`Node::describe_tree`): labelled fields, each a
//! value, more fields beneath it, or both. Node ids stay ids until something that knows the
//! roster shows them (the debugger's page names them as its lanes do), and configuration is
//! kept apart from live state, so it is always shown last.

use crate::node::NodeId;
use std::fmt::{Display, Write as _};

/// One piece of a field's value: text, or a node the reader names from the roster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Text as written.
    Text(String),
    /// A node, shown by its name.
    Node(NodeId),
}

/// One labelled field: its value (possibly empty) and the fields beneath it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Field {
    /// What the field is (the protocol's own name for it).
    pub label: String,
    /// Its value, in pieces; empty for a field that only groups others.
    pub value: Vec<Part>,
    /// The fields beneath it.
    pub children: Describe,
}

/// A node's state as a tree: live fields in the order written, configuration after them.
///
/// ```
/// use clustersim::describe::Describe;
/// use clustersim::node::NodeId;
///
/// let mut log = Describe::new();
/// log.field("1", "put k0 = 5 (term 1)");
/// let mut d = Describe::new();
/// d.field("term", 2)
///     .node("leader", Some(NodeId(1)))
///     .section("log", "1 entry", log)
///     .config("election timeout", "150ms");
/// let names = ["server1".to_string(), "server2".to_string()];
/// assert_eq!(
///     d.to_text(&names),
///     "term: 2\nleader: server2\nlog: 1 entry\n  1: put k0 = 5 (term 1)\nconfiguration:\n  election timeout: 150ms"
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Describe {
    live: Vec<Field>,
    config: Vec<Field>,
}

impl Describe {
    /// An empty tree.
    pub fn new() -> Describe {
        Describe::default()
    }

    /// A tree of one unlabelled text field: what a protocol's `describe` string becomes.
    pub fn text(text: impl Into<String>) -> Describe {
        let mut d = Describe::new();
        d.live.push(Field {
            label: String::new(),
            value: vec![Part::Text(text.into())],
            children: Describe::new(),
        });
        d
    }

    /// A field whose value is `value` as displayed.
    pub fn field(&mut self, label: impl Into<String>, value: impl Display) -> &mut Describe {
        self.live.push(Field {
            label: label.into(),
            value: vec![Part::Text(value.to_string())],
            children: Describe::new(),
        });
        self
    }

    /// A field naming a node, or "none".
    pub fn node(&mut self, label: impl Into<String>, node: Option<NodeId>) -> &mut Describe {
        self.live.push(Field {
            label: label.into(),
            value: vec![node.map_or(Part::Text("none".into()), Part::Node)],
            children: Describe::new(),
        });
        self
    }

    /// A field naming several nodes, comma-separated ("none" for no node).
    pub fn nodes(
        &mut self,
        label: impl Into<String>,
        nodes: impl IntoIterator<Item = NodeId>,
    ) -> &mut Describe {
        self.live.push(Field {
            label: label.into(),
            value: node_list(nodes),
            children: Describe::new(),
        });
        self
    }

    /// A field made of pieces (text and nodes), such as "sent to server2 at 1.5s".
    pub fn parts(&mut self, label: impl Into<String>, value: Vec<Part>) -> &mut Describe {
        self.live.push(Field {
            label: label.into(),
            value,
            children: Describe::new(),
        });
        self
    }

    /// A field with a summary and the fields beneath it (a log, a table, a sub-state).
    pub fn section(
        &mut self,
        label: impl Into<String>,
        summary: impl Display,
        children: Describe,
    ) -> &mut Describe {
        let summary = summary.to_string();
        self.live.push(Field {
            label: label.into(),
            value: if summary.is_empty() {
                Vec::new()
            } else {
                vec![Part::Text(summary)]
            },
            children,
        });
        self
    }

    /// A configuration field (the same all run long): shown after every live field.
    pub fn config(&mut self, label: impl Into<String>, value: impl Display) -> &mut Describe {
        self.config.push(Field {
            label: label.into(),
            value: vec![Part::Text(value.to_string())],
            children: Describe::new(),
        });
        self
    }

    /// A configuration field naming several nodes.
    pub fn config_nodes(
        &mut self,
        label: impl Into<String>,
        nodes: impl IntoIterator<Item = NodeId>,
    ) -> &mut Describe {
        self.config.push(Field {
            label: label.into(),
            value: node_list(nodes),
            children: Describe::new(),
        });
        self
    }

    /// The live fields, in the order written.
    pub fn live(&self) -> &[Field] {
        &self.live
    }

    /// The configuration fields, in the order written.
    pub fn configuration(&self) -> &[Field] {
        &self.config
    }

    /// True when the tree has no field.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.config.is_empty()
    }

    /// The tree as indented lines, nodes by their `names` (`#3` for an id past them), live
    /// fields first, then a `configuration:` field holding the configuration.
    pub fn to_text(&self, names: &[String]) -> String {
        let mut out = String::new();
        self.write(&mut out, names, 0);
        out.pop();
        out
    }

    fn write(&self, out: &mut String, names: &[String], depth: usize) {
        for f in &self.live {
            let value = value_text(&f.value, names);
            let indent = "  ".repeat(depth);
            let _ = match (f.label.is_empty(), value.is_empty()) {
                (true, _) => writeln!(out, "{indent}{value}"),
                (false, true) => writeln!(out, "{indent}{}:", f.label),
                (false, false) => writeln!(out, "{indent}{}: {value}", f.label),
            };
            f.children.write(out, names, depth + 1);
        }
        if !self.config.is_empty() {
            let _ = writeln!(out, "{}configuration:", "  ".repeat(depth));
            Describe {
                live: self.config.clone(),
                config: Vec::new(),
            }
            .write(out, names, depth + 1);
        }
    }
}

/// A value's pieces as text, nodes by their `names`.
pub fn value_text(value: &[Part], names: &[String]) -> String {
    let mut out = String::new();
    for p in value {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Node(n) => match names.get(n.index()) {
                Some(name) => out.push_str(name),
                None => {
                    let _ = write!(out, "#{}", n.0);
                }
            },
        }
    }
    out
}

fn node_list(nodes: impl IntoIterator<Item = NodeId>) -> Vec<Part> {
    let mut value = Vec::new();
    for n in nodes {
        if !value.is_empty() {
            value.push(Part::Text(", ".into()));
        }
        value.push(Part::Node(n));
    }
    if value.is_empty() {
        value.push(Part::Text("none".into()));
    }
    value
}
