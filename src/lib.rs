//! toongan: photo-to-cartoon translation with GANs: inference, training and evaluation.
//!
//! The library behind the `toongan` binary (whose `cli` module only parses arguments and calls
//! into this crate). Modules, from the bottom up; each imports only modules listed before it
//! (`tools/check_module_graph.py` checks this order and reports file-level cycles):
//!
//! - [`kernels`]: pure slice kernels (GEMM, Winograd, im2col, strided loops, padding
//!   geometry); imports nothing else of the crate. [`imageio`] (decoding, encoding, tiling),
//!   [`report`] (tables, grids, plots) and [`http`] (the hardened server under the web apps)
//!   stand on their own too.
//! - [`model`]: the networks, generic over the burn backend; [`survey`]: the human preference
//!   study's web app and store (on imageio and http).
//! - [`weights`]: reading and fetching weights and checkpoints; [`cartoonize`]: inference on
//!   images and batches of files, through the [`cartoonize::Translator`] trait.
//! - [`engine`] (the fast CPU inference generator, a `Translator` on kernels) and [`backend`]
//!   (burn backends: `FastCpu` on kernels, `--device` choice); neither imports the other.
//! - [`inference`] (which code runs a generator on which device: the engine or burn),
//!   [`bench`] (generator speed, engine vs burn), [`train`] (data, edge smoothing, losses, the
//!   model registry, the loop, checkpoints) and [`eval`] (FID and KID as pytorch-fid and
//!   torch-fidelity compute them).
//! - [`experiment`]: plans run end to end (train, cartoonize, score, report).
//! - [`studio`]: the local web app (cartoonize in the browser, watch runs and experiments).

pub mod backend;
pub mod bench;
pub mod cartoonize;
pub mod engine;
pub mod eval;
pub mod experiment;
#[cfg(feature = "survey")]
pub mod http;
pub mod imageio;
pub mod inference;
pub mod kernels;
pub mod model;
pub mod report;
#[cfg(feature = "studio")]
pub mod studio;
#[cfg(feature = "survey")]
pub mod survey;
pub mod train;
pub mod weights;
