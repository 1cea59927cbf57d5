//! Reports of experiments: result tables with confidence intervals and side-by-side sample
//! grids. Stands on its own: takes numbers and images, knows nothing of models.

mod compare_sheet;
pub(crate) mod font;
mod grid;
mod table;

pub use compare_sheet::{LABEL_BAR, compare_sheet};
pub use grid::SampleGrid;
pub use table::{MetricSummary, ResultTable};
