//! Building a survey from image folders: N questions, each a reference and one image per
//! candidate method, drawn with a seed and copied into a new SQLite file.
//!
//! Candidate folders that are outputs for the same photos (files with the same name, up to
//! the extension, as `toongan cartoonize -o DIR` writes them) are matched: each question
//! shows every matched method's output for one photo. Folders that share no names with the
//! others (real anime frames, say) are drawn without repetition.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::params;
use sha2::{Digest, Sha256};

use super::error::SurveyError;
use super::store::{Store, now_ms};

/// Largest image file accepted, so one survey page stays loadable on a phone.
pub const MAX_IMAGE_BYTES: u64 = 16 << 20;

/// What `toongan survey create` needs.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Folder of reference images (the target style).
    pub reference: PathBuf,
    /// `(name, folder)` of each method under comparison, at least two.
    pub candidates: Vec<(String, PathBuf)>,
    /// Number of questions.
    pub questions: usize,
    /// Seed of every random draw, so the same inputs give the same survey.
    pub seed: u64,
}

/// What [`create_survey`] built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSummary {
    /// Questions written.
    pub questions: usize,
    /// Methods whose images were matched by file name.
    pub matched_by_name: Vec<String>,
    /// Methods whose images were drawn independently.
    pub drawn: Vec<String>,
    /// Distinct images stored.
    pub images: usize,
    /// Total bytes of the stored images.
    pub image_bytes: u64,
}

/// One image read from disk and ready to store.
struct LoadedImage {
    sha: String,
    mime: &'static str,
    width: u32,
    height: u32,
    bytes: Vec<u8>,
}

/// Builds the survey described by `opts` into a new database file `db`. The file is written
/// under a temporary name and renamed at the end, so a failed run leaves nothing behind, and
/// an existing file is never overwritten.
pub fn create_survey(db: &Path, opts: &CreateOptions) -> Result<CreateSummary, SurveyError> {
    validate(db, opts)?;
    let n = opts.questions;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);

    let references = list_images(&opts.reference)?;
    let reference_keys = draw(&references, n, &opts.reference, &mut rng)?;

    let listings: Vec<BTreeMap<String, PathBuf>> = opts
        .candidates
        .iter()
        .map(|(_, dir)| list_images(dir))
        .collect::<Result<_, _>>()?;
    let matched = matched_group(&listings, n);
    // picks[m][q] = file of method m for question q
    let mut picks: Vec<Vec<PathBuf>> = vec![Vec::new(); listings.len()];
    if !matched.is_empty() {
        let common = intersection(matched.iter().map(|&m| &listings[m]));
        let mut keys: Vec<&String> = common.iter().collect();
        keys.shuffle(&mut rng);
        for key in keys.into_iter().take(n) {
            for &m in &matched {
                picks[m].push(listings[m][key].clone());
            }
        }
    }
    for (m, listing) in listings.iter().enumerate() {
        if !matched.contains(&m) {
            let keys = draw(listing, n, &opts.candidates[m].1, &mut rng)?;
            picks[m] = keys.iter().map(|k| listing[k].clone()).collect();
        }
    }

    let parent = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |path: &Path, e: std::io::Error| SurveyError::Input {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".survey-")
        .suffix(".partial")
        .tempfile_in(parent)
        .map_err(|e| io_err(parent, e))?;
    let mut stored: BTreeSet<String> = BTreeSet::new();
    let mut image_bytes = 0u64;
    {
        let store = Store::open(tmp.path())?;
        let mut token_rng = rand::rng();
        // Read images outside the transaction's closure so I/O errors keep their own type.
        let mut questions = Vec::with_capacity(n);
        for (q, key) in reference_keys.iter().enumerate() {
            let reference = load_image(&references[key])?;
            let cands: Vec<(LoadedImage, String)> = picks
                .iter()
                .enumerate()
                .map(|(m, files)| {
                    let file = &files[q];
                    let rel = relative(file, &opts.candidates[m].1);
                    load_image(file).map(|img| (img, rel))
                })
                .collect::<Result<_, _>>()?;
            questions.push((
                relative(&references[key], &opts.reference),
                reference,
                cands,
            ));
        }
        store.write(|tx| {
            tx.execute(
                "INSERT INTO survey (id, seed, created_at_ms) VALUES (1, ?1, ?2)",
                params![opts.seed as i64, now_ms()],
            )?;
            let mut method_ids = Vec::new();
            for (name, dir) in &opts.candidates {
                tx.execute(
                    "INSERT INTO methods (name, source_dir) VALUES (?1, ?2)",
                    params![name, dir.display().to_string()],
                )?;
                method_ids.push(tx.last_insert_rowid());
            }
            let mut put_image = |img: &LoadedImage| -> rusqlite::Result<()> {
                if stored.insert(img.sha.clone()) {
                    image_bytes += img.bytes.len() as u64;
                    tx.execute(
                        "INSERT OR IGNORE INTO images (sha256, mime, width, height, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![img.sha, img.mime, img.width, img.height, img.bytes],
                    )?;
                }
                Ok(())
            };
            for (i, (ref_source, reference, cands)) in questions.iter().enumerate() {
                put_image(reference)?;
                tx.execute(
                    "INSERT INTO questions (number, reference_image, reference_source) VALUES (?1, ?2, ?3)",
                    params![i as i64 + 1, reference.sha, ref_source],
                )?;
                let qid = tx.last_insert_rowid();
                for ((img, source), mid) in cands.iter().zip(&method_ids) {
                    put_image(img)?;
                    let token = hex::encode(token_rng.random::<[u8; 8]>());
                    tx.execute(
                        "INSERT INTO candidates (token, question_id, method_id, image, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![token, qid, mid, img.sha, source],
                    )?;
                }
            }
            Ok(())
        })?;
        store.checkpoint()?;
    }
    tmp.persist_noclobber(db).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            SurveyError::AlreadyExists {
                path: db.to_path_buf(),
            }
        } else {
            io_err(db, e.error)
        }
    })?;
    let names = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..opts.candidates.len())
            .filter(|&m| pred(m))
            .map(|m| opts.candidates[m].0.clone())
            .collect()
    };
    Ok(CreateSummary {
        questions: n,
        matched_by_name: names(&|m| matched.contains(&m)),
        drawn: names(&|m| !matched.contains(&m)),
        images: stored.len(),
        image_bytes,
    })
}

fn validate(db: &Path, opts: &CreateOptions) -> Result<(), SurveyError> {
    if db.exists() {
        return Err(SurveyError::AlreadyExists {
            path: db.to_path_buf(),
        });
    }
    if opts.questions == 0 {
        return Err(SurveyError::Options(
            "--questions must be at least 1".into(),
        ));
    }
    if opts.candidates.len() < 2 {
        return Err(SurveyError::Options(
            "a survey compares at least two methods: give --candidate NAME=DIR at least twice"
                .into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for (name, _) in &opts.candidates {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(SurveyError::Options(format!(
                "candidate name {name:?} must be 1-64 characters of letters, digits, '-', '_' or '.'"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(SurveyError::Options(format!(
                "candidate name {name:?} is given twice; names must be unique"
            )));
        }
    }
    Ok(())
}

/// Image files under `dir` (recursively), keyed by their relative path without extension.
fn list_images(dir: &Path) -> Result<BTreeMap<String, PathBuf>, SurveyError> {
    const EXTS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp"];
    if !dir.is_dir() {
        return Err(SurveyError::Input {
            path: dir.to_path_buf(),
            message: "cannot list the folder: not a folder".into(),
        });
    }
    // The one folder walk of toongan: symlink loops are not followed.
    let found = crate::imageio::collect_files(&[dir.to_path_buf()], |p| {
        crate::imageio::collect::has_extension(p, EXTS)
    })
    .map_err(|e| SurveyError::Input {
        path: dir.to_path_buf(),
        message: format!("cannot list the folder: {e}"),
    })?;
    let mut out = BTreeMap::new();
    for file in found {
        let path = file.path;
        let key = relative(&path.with_extension(""), dir);
        if let Some(other) = out.insert(key, path.clone()) {
            return Err(SurveyError::Input {
                path: dir.to_path_buf(),
                message: format!(
                    "{} and {} have the same name up to the extension; keep one",
                    other.display(),
                    path.display()
                ),
            });
        }
    }
    Ok(out)
}

fn relative(path: &Path, dir: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `n` keys of `listing` drawn without repetition.
fn draw(
    listing: &BTreeMap<String, PathBuf>,
    n: usize,
    dir: &Path,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<String>, SurveyError> {
    if listing.len() < n {
        return Err(SurveyError::Input {
            path: dir.to_path_buf(),
            message: format!(
                "holds {} images (PNG, JPEG, WebP, GIF, BMP) but {n} questions need {n}; add images or lower --questions",
                listing.len()
            ),
        });
    }
    let mut keys: Vec<String> = listing.keys().cloned().collect();
    keys.shuffle(rng);
    keys.truncate(n);
    Ok(keys)
}

fn intersection<'a>(
    mut maps: impl Iterator<Item = &'a BTreeMap<String, PathBuf>>,
) -> BTreeSet<String> {
    let Some(first) = maps.next() else {
        return BTreeSet::new();
    };
    let mut common: BTreeSet<String> = first.keys().cloned().collect();
    for m in maps {
        common.retain(|k| m.contains_key(k));
    }
    common
}

/// The largest set of at least two candidate folders sharing at least `n` file names (ties:
/// more shared names, then earlier folders); empty when no two folders share `n` names.
fn matched_group(listings: &[BTreeMap<String, PathBuf>], n: usize) -> Vec<usize> {
    let k = listings.len();
    if k > 12 {
        return Vec::new();
    }
    let mut best: (usize, usize, Vec<usize>) = (0, 0, Vec::new());
    for mask in 1u32..(1 << k) {
        let members: Vec<usize> = (0..k).filter(|i| mask & (1 << i) != 0).collect();
        if members.len() < 2 {
            continue;
        }
        let shared = intersection(members.iter().map(|&m| &listings[m])).len();
        if shared < n {
            continue;
        }
        let better = members.len() > best.0
            || (members.len() == best.0 && shared > best.1)
            || (members.len() == best.0 && shared == best.1 && members < best.2);
        if better {
            best = (members.len(), shared, members);
        }
    }
    best.2
}

fn load_image(path: &Path) -> Result<LoadedImage, SurveyError> {
    let err = |message: String| SurveyError::Input {
        path: path.to_path_buf(),
        message,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > MAX_IMAGE_BYTES {
        return Err(err(format!(
            "is {len} bytes, over the {MAX_IMAGE_BYTES}-byte limit for survey images; downscale it"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let format = image::guess_format(&bytes)
        .map_err(|_| err("is not an image toongan can read".to_string()))?;
    let mime = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::WebP => "image/webp",
        image::ImageFormat::Gif => "image/gif",
        image::ImageFormat::Bmp => "image/bmp",
        other => {
            return Err(err(format!(
                "is {other:?}, which browsers cannot show; convert it to PNG or JPEG"
            )));
        }
    };
    let (width, height) = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|e| err(format!("cannot be decoded: {e}")))?;
    Ok(LoadedImage {
        sha: hex::encode(Sha256::digest(&bytes)),
        mime,
        width,
        height,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(keys: &[&str]) -> BTreeMap<String, PathBuf> {
        keys.iter()
            .map(|k| (k.to_string(), PathBuf::from(format!("{k}.png"))))
            .collect()
    }

    #[test]
    fn matched_group_picks_folders_of_the_same_photos() {
        let a = listing(&["p1", "p2", "p3"]);
        let b = listing(&["p1", "p2", "p3", "p4"]);
        let real = listing(&["f1", "f2", "f3"]);
        assert_eq!(
            matched_group(&[a.clone(), b.clone(), real.clone()], 3),
            vec![0, 1]
        );
        // Too few shared names for 4 questions: nothing is matched.
        assert!(matched_group(&[a, b, real], 4).is_empty());
    }
}
