pub mod edge_smoothing;
pub mod smoothing_cache;
