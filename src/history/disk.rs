//! A history kept on disk: the store's full chunks go to a scratch file as the run records them
//! and come back a few at a time when read (the 16 read most recently stay), so a long run's history costs a few chunks of
//! memory instead of 24 bytes an entry. Every reader (checks, reports, pictures) reads it
//! through the same `History` methods.

use crate::error::Error;
use crate::output::FileId;
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
    /// The file this run created, so that only it is ever removed.
    id: Option<FileId>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Removed only while the path still names the file this run created: whatever was put
        // there since (a link, a FIFO, someone's file) is left alone.
        if self.id.is_some() && FileId::of_link(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl HistoryFile {
    /// Creates the scratch file at `path`, which must not exist yet (a link there, dangling or
    /// not, is not followed: it is refused like any existing file).
    pub fn create(path: &Path) -> Result<Self, Error> {
        crate::output::refuse_special(path)?;
        let file = crate::output::create_new(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: if e.kind() == std::io::ErrorKind::AlreadyExists {
                "cannot create the history file: something is already there".to_string()
            } else {
                format!("cannot create the history file: {e}")
            },
        })?;
        let id = FileId::of_file(&file);
        Ok(HistoryFile {
            inner: Arc::new(Scratch {
                path: path.to_path_buf(),
                file: Mutex::new(file),
                id,
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
