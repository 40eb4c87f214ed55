//! A history kept on disk: the store's full chunks go to a scratch file as the run records them
//! and come back a few at a time when read (the 16 read most recently stay), so a long run's history costs a few chunks of
//! memory instead of 24 bytes an entry. Every reader (checks, reports, pictures) reads it
//! through the same `History` methods.

use crate::error::Error;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Chunks read back and kept in memory at once (16 of 8,192 records: 3 MiB).
pub(super) const CACHED: usize = 16;

/// A scratch file that holds a history's entries while its run lasts; removed when the last
/// history using it is dropped. One run per file.
#[derive(Clone, Debug)]
pub struct HistoryFile {
    inner: Arc<Scratch>,
}

#[derive(Debug)]
struct Scratch {
    path: PathBuf,
    file: Mutex<File>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A scratch file: nothing of the user's is in it, and a failure to remove it leaves
        // only a file the user named.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl HistoryFile {
    /// Creates (or empties) the scratch file at `path`.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!("cannot create the history file: {e}"),
            })?;
        Ok(HistoryFile {
            inner: Arc::new(Scratch {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            }),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Writes `bytes` at `offset`.
    pub(super) fn write_at(&self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = self.lock();
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub(super) fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let mut f = self.lock();
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        // A reader that panicked mid-read left the file as it was: its offset is set anew by
        // every call.
        self.inner
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
