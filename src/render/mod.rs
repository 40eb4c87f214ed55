//! Renderers: turn a finished run's trace and history (plus verdicts) into pictures.
//!
//! Every renderer reads a `Model` built from `RunOutcome`'s recorded trace and history only;
//! none of them touches the engine. `model.rs` is the shared layout that the terminal timeline,
//! the SVG and the HTML page all draw from.

pub mod html;
pub mod knee;
pub mod lin;
pub mod model;
pub mod page;
pub mod plots;
pub mod svg;
pub mod timeline;

pub use model::{Model, Window};
