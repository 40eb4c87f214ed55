//! The standalone HTML page of a recorded run (`--html`): the interactive page of `page.rs`
//! with every event embedded, so it steps through the run without an engine or a server.

use super::model::{Model, Window};
use crate::check::Verdict;

/// The run as a standalone HTML page titled `title`, opening on `win` when given (else the
/// failure's window, else the whole run), with the counterexample of each failing verdict
/// drawn under the diagram.
pub fn render(model: &Model, verdicts: &[Verdict], win: Option<Window>, title: &str) -> String {
    let figures = super::lin::all(model, verdicts).concat();
    super::page::recorded(model, win, title, &figures)
}
