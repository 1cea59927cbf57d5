//! toongan: photo-to-cartoon translation with GANs.
//!
//! The library behind the `toongan` binary: the CartoonGAN generator and its published
//! weights ([`model`], [`weights`]), image decoding and tiling ([`imageio`]), and inference
//! ([`cartoonize`]). Training, evaluation and the survey join as sibling modules.
//!
//! Dependencies point one way: the binary's `cli` → `cartoonize` → `weights` → `model`; `imageio` stands
//! on its own.

pub mod backend;
pub mod cartoonize;
pub mod engine;
pub mod eval;
pub mod experiment;
pub mod imageio;
pub mod kernels;
pub mod model;
pub mod report;
pub mod studio;
pub mod survey;
pub mod train;
pub mod weights;
