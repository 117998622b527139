//! Content-addressed blobs and reproducible layers. A layer is a gzipped tar whose entries are sorted by path,
//! owned by root, with one fixed mtime (`SOURCE_DATE_EPOCH`, else 0) and normalised modes, so the same files
//! always give the same digests. Blobs are written to a temporary file and renamed to `blobs/sha256/<hex>`:
//! a blob path never holds partial content.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{ImageError, Result};
use crate::fetch::hex;

/// A blob in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A layer blob and the digest of its uncompressed tar (the config's `diff_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The gzipped blob.
    pub blob: Blob,
    /// `sha256:<hex>` of the tar.
    pub diff_id: String,
}

/// A directory of blobs laid out as an OCI layout's `blobs/` (`<root>/blobs/sha256/<hex>`).
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// A store under `root` (created when missing).
    pub fn new(root: &Path) -> Result<BlobStore> {
        let dir = root.join("blobs/sha256");
        std::fs::create_dir_all(&dir).map_err(ImageError::io(&dir))?;
        Ok(BlobStore { root: root.to_path_buf() })
    }

    /// The store's root (an OCI layout's directory once `index.json` is added).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob of `digest` lives.
    pub fn path(&self, digest: &str) -> PathBuf {
        blob_path(&self.root, digest)
    }

    /// Stores `bytes`.
    pub fn put(&self, bytes: &[u8]) -> Result<Blob> {
        let digest = format!("sha256:{}", hex(&Sha256::digest(bytes)));
        let path = self.path(&digest);
        if !path.exists() {
            let temp = self.temp_path();
            std::fs::write(&temp, bytes).map_err(ImageError::io(&temp))?;
            std::fs::rename(&temp, &path).map_err(ImageError::io(&path))?;
        }
        Ok(Blob { digest, size: bytes.len() as u64 })
    }

    /// Copies (or hard-links) the blob `digest` of another store's file `source` into this one, checking its
    /// digest when `verify` (blobs from outside the build).
    pub fn import(&self, source: &Path, digest: &str, verify: bool) -> Result<Blob> {
        let path = self.path(digest);
        if verify {
            let actual = sha256_of(source).map_err(ImageError::io(source))?;
            if actual != digest {
                return Err(ImageError::Io {
                    path: source.to_path_buf(),
                    source: std::io::Error::other(format!("the blob's content is {actual}, not {digest}")),
                });
            }
        }
        if !path.exists() {
            let temp = self.temp_path();
            if std::fs::hard_link(source, &temp).is_err() {
                std::fs::copy(source, &temp).map_err(ImageError::io(source))?;
            }
            std::fs::rename(&temp, &path).map_err(ImageError::io(&path))?;
        }
        let size = std::fs::metadata(&path).map_err(ImageError::io(&path))?.len();
        Ok(Blob { digest: digest.to_string(), size })
    }

    /// Writes a reproducible gzipped layer of `entries`.
    pub fn layer(&self, entries: &mut Vec<Entry>) -> Result<Layer> {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        let temp = self.temp_path();
        let file = File::create(&temp).map_err(ImageError::io(&temp))?;
        let compressed = Hashing::new(BufWriter::new(file));
        let gzip = flate2::GzBuilder::new().mtime(0).write(compressed, flate2::Compression::default());
        let mut tar = tar::Builder::new(Hashing::new(gzip));
        tar.mode(tar::HeaderMode::Deterministic);
        let mtime = source_date_epoch();
        for entry in entries.iter() {
            write_entry(&mut tar, entry, mtime)?;
        }
        let uncompressed = tar.into_inner().map_err(ImageError::io(&temp))?;
        let (gzip, diff_id, _) = uncompressed.finish();
        let compressed = gzip.finish().map_err(ImageError::io(&temp))?;
        let (mut out, digest, size) = compressed.finish();
        out.flush().map_err(ImageError::io(&temp))?;
        drop(out);
        let digest = format!("sha256:{digest}");
        let path = self.path(&digest);
        std::fs::rename(&temp, &path).map_err(ImageError::io(&path))?;
        Ok(Layer { blob: Blob { digest, size }, diff_id: format!("sha256:{diff_id}") })
    }

    fn temp_path(&self) -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        self.root.join(format!(".tmp-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
    }
}

/// The path of blob `digest` in the layout at `root`.
pub fn blob_path(root: &Path, digest: &str) -> PathBuf {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    root.join("blobs").join(algorithm).join(hex)
}

/// The sha256 of a file as `sha256:<hex>`.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

/// The sha256 of bytes as `sha256:<hex>`.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org) when set, else the Unix epoch: the time of every entry and of
/// the image.
pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// One entry of a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its path in the image, relative (`opt/connect/plugins/x`).
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its owner (uid and gid).
    pub owner: u64,
}

/// The kinds of layer entries.
#[derive(Debug, Clone)]
pub enum EntryKind {
    /// A directory with its mode.
    Dir(u32),
    /// A file from the disk with its mode.
    File(PathBuf, u32),
    /// A file from memory with its mode.
    Bytes(Vec<u8>, u32),
    /// A symbolic link to a target.
    Symlink(String),
}

impl Entry {
    /// A root-owned directory.
    pub fn dir(path: &str, mode: u32) -> Entry {
        Entry { path: trim(path), kind: EntryKind::Dir(mode), owner: 0 }
    }

    /// A root-owned file copied from `source`.
    pub fn file(path: &str, source: &Path, mode: u32) -> Entry {
        Entry { path: trim(path), kind: EntryKind::File(source.to_path_buf(), mode), owner: 0 }
    }

    /// A root-owned file with the given content.
    pub fn bytes(path: &str, content: impl Into<Vec<u8>>, mode: u32) -> Entry {
        Entry { path: trim(path), kind: EntryKind::Bytes(content.into(), mode), owner: 0 }
    }

    /// A symbolic link.
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry { path: trim(path), kind: EntryKind::Symlink(target.into()), owner: 0 }
    }

    /// The same entry owned by `uid` (group 0, as OpenShift's arbitrary users expect).
    pub fn owned_by(mut self, uid: u64) -> Entry {
        self.owner = uid;
        self
    }
}

fn trim(path: &str) -> String {
    path.trim_matches('/').to_string()
}

/// The directories leading to `path` (`a`, `a/b` for `a/b/c`), root-owned 0755.
pub fn parents(path: &str) -> Vec<Entry> {
    let path = trim(path);
    let parts: Vec<&str> = path.split('/').collect();
    (1..parts.len()).map(|n| Entry::dir(&parts[..n].join("/"), 0o755)).collect()
}

/// The entries of a directory tree on disk, placed under `prefix` (the tree's root directory included).
/// Modes are normalised (0755 for directories and executables, 0644 otherwise); links are kept as links.
pub fn tree_entries(source: &Path, prefix: &str) -> Result<Vec<Entry>> {
    let mut entries = vec![Entry::dir(prefix, 0o755)];
    walk(source, &trim(prefix), &mut entries)?;
    Ok(entries)
}

fn walk(dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let list = std::fs::read_dir(dir).map_err(ImageError::io(dir))?;
    for item in list {
        let item = item.map_err(ImageError::io(dir))?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        let target = format!("{prefix}/{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(ImageError::io(&path))?;
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&path).map_err(ImageError::io(&path))?;
            entries.push(Entry::symlink(&target, &link.to_string_lossy()));
        } else if meta.is_dir() {
            entries.push(Entry::dir(&target, 0o755));
            walk(&path, &target, entries)?;
        } else if meta.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
            entries.push(Entry::file(&target, &path, mode));
        }
    }
    Ok(())
}

fn write_entry<W: Write>(tar: &mut tar::Builder<W>, entry: &Entry, mtime: u64) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mtime(mtime);
    header.set_uid(entry.owner);
    header.set_gid(0);
    let io = |e| ImageError::Output { output: format!("layer entry {}", entry.path), reason: format!("{e}") };
    match &entry.kind {
        EntryKind::Dir(mode) => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(*mode);
            header.set_size(0);
            tar.append_data(&mut header, format!("{}/", entry.path), std::io::empty()).map_err(io)
        }
        EntryKind::File(source, mode) => {
            let file = File::open(source).map_err(ImageError::io(source))?;
            let size = file.metadata().map_err(ImageError::io(source))?.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(*mode);
            header.set_size(size);
            tar.append_data(&mut header, &entry.path, file).map_err(io)
        }
        EntryKind::Bytes(content, mode) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(*mode);
            header.set_size(content.len() as u64);
            tar.append_data(&mut header, &entry.path, content.as_slice()).map_err(io)
        }
        EntryKind::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, &entry.path, target).map_err(io)
        }
    }
}

/// A writer that hashes (sha256) and counts what goes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing { inner, hasher: Sha256::new(), count: 0 }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.count)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_files_give_the_same_layer_whatever_their_mtime_or_order() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("b")).unwrap();
        std::fs::write(tree.join("b/x.so"), b"x").unwrap();
        std::fs::write(tree.join("a"), b"a").unwrap();
        let store = BlobStore::new(&dir.path().join("store")).unwrap();
        let first = store.layer(&mut tree_entries(&tree, "opt/connect/plugins/p").unwrap()).unwrap();
        filetime_touch(&tree.join("a"));
        let mut entries = tree_entries(&tree, "opt/connect/plugins/p").unwrap();
        entries.reverse();
        let second = store.layer(&mut entries).unwrap();
        assert_eq!(first, second);
        assert_eq!(sha256_of(&store.path(&first.blob.digest)).unwrap(), first.blob.digest);

        // The tar lists parents before children, all owned by root with the fixed mtime.
        let file = File::open(store.path(&first.blob.digest)).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().uid().unwrap(), 0);
                assert_eq!(e.header().mtime().unwrap(), source_date_epoch());
                e.path().unwrap().display().to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "opt/connect/plugins/p/",
                "opt/connect/plugins/p/a",
                "opt/connect/plugins/p/b/",
                "opt/connect/plugins/p/b/x.so"
            ]
        );
    }

    fn filetime_touch(path: &Path) {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600)).unwrap();
    }
}
