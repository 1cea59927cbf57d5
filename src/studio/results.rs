//! Recent results kept in memory (bounded in count and bytes, oldest dropped first) so the
//! page can fetch "download all" as one zip built here with the `zip` crate.

use std::collections::{HashSet, VecDeque};
use std::io::{Cursor, Write};
use std::sync::Mutex;

use rand::Rng;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::StudioError;

/// One cartoonized image.
#[derive(Debug, Clone)]
pub struct StoredResult {
    /// Random id (32 hex digits) the page names it by.
    pub id: String,
    /// File name inside the zip.
    pub name: String,
    /// The PNG.
    pub png: Vec<u8>,
}

/// The last results, at most `max_entries` and `max_bytes` in all.
#[derive(Debug)]
pub struct ResultStore {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<VecDeque<StoredResult>>,
}

/// Makes an upload's name safe as a file name in a zip: letters, digits, `-`, `_` and `.`
/// kept (others become `_`), no leading dot, at most 96 characters, ending in `.png`.
pub fn safe_name(name: &str) -> String {
    let stem = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = stem
        .strip_suffix(".png")
        .or_else(|| stem.strip_suffix(".PNG"))
        .unwrap_or(stem);
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(92)
        .collect();
    clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        clean = "cartoon".into();
    }
    format!("{clean}.png")
}

impl ResultStore {
    /// A store of at most `max_entries` results and `max_bytes` of PNG.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries,
            max_bytes,
            inner: Mutex::new(VecDeque::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<StoredResult>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `png` under `name` (made safe) and returns its id.
    pub fn put(&self, name: &str, png: Vec<u8>) -> String {
        let id = hex::encode(rand::rng().random::<[u8; 16]>());
        let mut q = self.lock();
        q.push_back(StoredResult {
            id: id.clone(),
            name: safe_name(name),
            png,
        });
        let mut bytes: usize = q.iter().map(|r| r.png.len()).sum();
        while q.len() > 1 && (q.len() > self.max_entries || bytes > self.max_bytes) {
            if let Some(old) = q.pop_front() {
                bytes -= old.png.len();
            }
        }
        id
    }

    /// The result with this id, if still kept.
    pub fn get(&self, id: &str) -> Option<StoredResult> {
        self.lock().iter().find(|r| r.id == id).cloned()
    }

    /// A zip of the results `ids` (stored, since PNG is compressed already); names that
    /// repeat get `-2`, `-3`, ... before the extension.
    pub fn zip(&self, ids: &[&str]) -> Result<Vec<u8>, StudioError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.push(self.get(id).ok_or_else(|| {
                StudioError::NotFound(format!(
                    "result {id} is no longer kept (the studio keeps the last {} results); cartoonize it again",
                    self.max_entries
                ))
            })?);
        }
        let err = |e: &dyn std::fmt::Display| StudioError::Model(format!("building the zip: {e}"));
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        let mut used = HashSet::new();
        for r in &found {
            let stem = r.name.trim_end_matches(".png");
            let mut name = r.name.clone();
            let mut k = 2;
            while !used.insert(name.clone()) {
                name = format!("{stem}-{k}.png");
                k += 1;
            }
            zip.start_file(name, options).map_err(|e| err(&e))?;
            zip.write_all(&r.png).map_err(|e| err(&e))?;
        }
        Ok(zip.finish().map_err(|e| err(&e))?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("cat_hayao.png"), "cat_hayao.png");
        assert_eq!(safe_name("../../etc/passwd"), "passwd.png");
        assert_eq!(safe_name("..\\x y.jpg"), "x_y.jpg.png");
        assert_eq!(safe_name("..."), "cartoon.png");
        assert_eq!(safe_name("été"), "_t_.png");
    }

    #[test]
    fn store_is_bounded_and_zips_by_id() {
        let s = ResultStore::new(2, 1 << 20);
        let a = s.put("a", vec![1, 2, 3]);
        let b = s.put("a", vec![4]);
        let c = s.put("c", vec![5, 6]);
        assert!(s.get(&a).is_none(), "oldest dropped");
        let zip = s.zip(&[&b, &c, &b]).expect("zip");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("read zip");
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).expect("entry").name().to_string())
            .collect();
        assert_eq!(names, ["a.png", "c.png", "a-2.png"]);
        assert!(matches!(s.zip(&[&a]), Err(StudioError::NotFound(_))));
    }
}
