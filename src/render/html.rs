//! The standalone HTML page of a recorded run (`--html`): the interactive page of `page.rs`
//! with every event embedded, so it steps through the run without an engine or a server.

use super::model::{Model, Window};

/// The run as a standalone HTML page titled `title`, opening on `win` when given (else the
/// failure's window, else the whole run).
pub fn render(model: &Model, win: Option<Window>, title: &str) -> String {
    super::page::recorded(model, win, title)
}
