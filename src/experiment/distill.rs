//! A distillation benchmark's data, made from one folder of photos and a teacher style: the
//! photos are shuffled (seeded) and split into held-out test photos and two training halves;
//! the teacher, a published CartoonGAN style on toongan's fast CPU engine, cartoonizes one
//! half into the cartoon domain, the other half stays the photo domain, and its outputs on
//! the prepared test photos are the paired references (and the FID/KID set) every variant is
//! scored against. Everything is cached under `<out>/distill/` and `<out>/test-set/` with
//! manifests, so a second invocation (or another shard) reuses it.

use std::path::{Path, PathBuf};

use image::RgbImage;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::layout::Layout;
use super::plan::DistillData;
use super::test_set::{list_pngs, load_square, numbered_png};
use super::{ExperimentError, Scale};
use crate::backend::Cpu;
use crate::cartoonize::{TileOptions, cartoonize_image};
use crate::engine::CpuGenerator;
use crate::imageio::collect_images;
use crate::model::GeneratorConfig;
use crate::weights::{Style, StyleRegistry, load_published_generator};

/// File naming what a prepared folder was made from.
const MANIFEST: &str = "manifest.txt";

/// A published style on the fast CPU engine.
pub struct Teacher {
    generator: CpuGenerator,
}

impl Teacher {
    /// Loads `style` as `toongan cartoonize --style` does (`$TOONGAN_WEIGHTS_DIR`, the user
    /// cache, else a verified download). `plan` names the plan in errors.
    pub fn load(style: Style, plan: &Path) -> Result<Self, ExperimentError> {
        let field = |message: String| ExperimentError::Field {
            plan: plan.to_path_buf(),
            field: "data.teacher".into(),
            message,
        };
        let dir = StyleRegistry::default()
            .locate(style)
            .map_err(|e| field(e.to_string()))?;
        let g = load_published_generator::<Cpu>(&dir, &Default::default())
            .map_err(|e| field(e.to_string()))?;
        let generator = CpuGenerator::from_generator(&g, &GeneratorConfig::published())
            .map_err(|e| field(e.to_string()))?;
        Ok(Self { generator })
    }

    /// The teacher's output on an image (same size).
    pub fn translate(&self, img: &RgbImage) -> RgbImage {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let rgb: Vec<f32> = img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect();
        let out = cartoonize_image(&self.generator, &rgb, w, h, TileOptions::default());
        let bytes = out.iter().map(|&v| crate::imageio::to_u8(v)).collect();
        RgbImage::from_raw(img.width(), img.height(), bytes).unwrap_or_else(|| img.clone())
    }
}

/// The split of a distillation plan's photos, as source files.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Held-out test photos.
    pub test: Vec<PathBuf>,
    /// Training photos the teacher cartoonizes (the cartoon domain).
    pub cartoons: Vec<PathBuf>,
    /// Training photos kept as they are (the photo domain).
    pub photos: Vec<PathBuf>,
}

/// Splits the photos of `data`: seeded shuffle, the first `test_images` (default a fifth, at
/// least one) held out, the rest halved (the cartoon half gets the odd one). At tiny scale
/// each part is cut to the tiny limits (they stay disjoint).
pub fn split(data: &DistillData, scale: Scale, plan: &Path) -> Result<Split, ExperimentError> {
    let mut files: Vec<PathBuf> = collect_images(std::slice::from_ref(&data.photos))
        .map_err(|e| ExperimentError::io(&data.photos, e))?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let n = files.len();
    let n_test = data.test_images.unwrap_or((n / 5).max(1));
    if n < n_test + 2 {
        return Err(ExperimentError::Field {
            plan: plan.to_path_buf(),
            field: "data.photos".into(),
            message: format!(
                "{} holds {n} images: a distillation plan needs its {n_test} test photos plus \
                 at least 2 for training (one per domain); add photos or lower \
                 data.test_images",
                data.photos.display()
            ),
        });
    }
    files.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(data.split_seed));
    let rest = files.split_off(n_test);
    let half = rest.len().div_ceil(2);
    let mut s = Split {
        test: files,
        cartoons: rest[..half].to_vec(),
        photos: rest[half..].to_vec(),
    };
    if let Some(limit) = scale.train_limit() {
        s.cartoons.truncate(limit);
        s.photos.truncate(limit);
    }
    if let (Some(limit), _) = scale.test_limits() {
        s.test.truncate(limit);
    }
    Ok(s)
}

/// Makes (or reuses) `<out>/distill/`: `train/photos/` and `train/cartoons/` at
/// `size`x`size` (the teacher's outputs for the cartoon half), `test/photos/` at
/// `crop`x`crop`. Unreadable photos are skipped with a warning.
pub fn prepare_split(
    split: &Split,
    teacher: Style,
    plan: &Path,
    layout: &Layout,
    size: u32,
    crop: u32,
    log: &mut dyn FnMut(&str),
) -> Result<(), ExperimentError> {
    let root = layout.distill();
    let list = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let manifest = format!(
        "teacher {}\ntrain size {size}\ntest size {crop}\n[test]\n{}\n[cartoons]\n{}\n[photos]\n{}\n",
        teacher.name(),
        list(&split.test),
        list(&split.cartoons),
        list(&split.photos)
    );
    let manifest_path = root.join(MANIFEST);
    if std::fs::read_to_string(&manifest_path).is_ok_and(|m| m == manifest) {
        return Ok(());
    }
    log(&format!(
        "distillation data: {} test photos, {} photos the teacher '{}' cartoonizes, {} photos \
         (into {})",
        split.test.len(),
        split.cartoons.len(),
        teacher.name(),
        split.photos.len(),
        root.display()
    ));
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| ExperimentError::io(&root, e))?;
    }
    let teacher = Teacher::load(teacher, plan)?;
    let train = layout.distill_train();
    let parts: [(&[PathBuf], PathBuf, u32, bool); 3] = [
        (&split.test, layout.distill_test_photos(), crop, false),
        (&split.cartoons, train.join("cartoons"), size, true),
        (&split.photos, train.join("photos"), size, false),
    ];
    for (files, dest, side, cartoonize) in parts {
        std::fs::create_dir_all(&dest).map_err(|e| ExperimentError::io(&dest, e))?;
        let mut written = 0;
        for (i, path) in files.iter().enumerate() {
            let img = match load_square(path, side) {
                Ok(img) => img,
                Err(e) => {
                    log(&format!("warning: skipping photo {}: {e}", path.display()));
                    continue;
                }
            };
            let img = if cartoonize {
                teacher.translate(&img)
            } else {
                img
            };
            let out = dest.join(numbered_png(i, path));
            img.save(&out).map_err(|e| ExperimentError::io(&out, e))?;
            written += 1;
        }
        if written == 0 {
            return Err(ExperimentError::Field {
                plan: plan.to_path_buf(),
                field: "data.photos".into(),
                message: format!("no readable photo for {}", dest.display()),
            });
        }
    }
    crate::imageio::atomic_write(&manifest_path, manifest.as_bytes())
        .map_err(|e| ExperimentError::io(&manifest_path, e))
}

/// The teacher's outputs on the prepared test photos, under the same names in `dest`: the
/// paired references. Reused when its manifest (teacher and photo names) matches.
pub fn teacher_references(
    teacher: Style,
    plan: &Path,
    photos: &[PathBuf],
    dest: &Path,
) -> Result<Vec<PathBuf>, ExperimentError> {
    let names: Vec<String> = photos
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let manifest = format!("teacher {}\n{}\n", teacher.name(), names.join("\n"));
    let manifest_path = dest.join(MANIFEST);
    if std::fs::read_to_string(&manifest_path).is_ok_and(|m| m == manifest) {
        return list_pngs(dest);
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| ExperimentError::io(dest, e))?;
    }
    std::fs::create_dir_all(dest).map_err(|e| ExperimentError::io(dest, e))?;
    let teacher = Teacher::load(teacher, plan)?;
    for (photo, name) in photos.iter().zip(&names) {
        let img = image::open(photo)
            .map_err(|e| ExperimentError::io(photo, e))?
            .to_rgb8();
        let out = dest.join(name);
        teacher
            .translate(&img)
            .save(&out)
            .map_err(|e| ExperimentError::io(&out, e))?;
    }
    crate::imageio::atomic_write(&manifest_path, manifest.as_bytes())
        .map_err(|e| ExperimentError::io(&manifest_path, e))?;
    list_pngs(dest)
}
