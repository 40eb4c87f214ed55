//! Writing files safely: a file is written under a fresh name beside its final one and moved
//! into place, so a link at the final name is replaced, never followed, and anything that is
//! not a regular file (a FIFO, a device, a folder) is refused, never opened. Files are compared
//! by identity (device and inode), not by path, so a hard link or a symlink to the input is
//! seen for what it is.

use crate::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file's identity: the device and inode it lives at, whatever path names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of what `path` names, following symlinks; `None` if nothing is there.
    pub fn of(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().map(|m| FileId::from_meta(&m))
    }

    /// The identity of an open file.
    pub fn of_file(file: &File) -> Option<FileId> {
        file.metadata().ok().map(|m| FileId::from_meta(&m))
    }

    /// The identity of the link itself at `path` (a symlink is not followed).
    pub fn of_link(path: &Path) -> Option<FileId> {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| FileId::from_meta(&m))
    }

    fn from_meta(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// What is at an output path before anything is written there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: the file will be created.
    Nothing,
    /// A regular file, replaced only when allowed.
    File,
    /// A symlink (dangling or not): replaced by the new file, never written through.
    Link,
    /// A folder, FIFO, socket or device: never an output.
    Other(&'static str),
}

/// What is at `path` now, without following a symlink there.
pub fn existing(path: &Path) -> Existing {
    match std::fs::symlink_metadata(path) {
        Err(_) => Existing::Nothing,
        Ok(m) => {
            let t = m.file_type();
            if t.is_file() {
                Existing::File
            } else if t.is_symlink() {
                Existing::Link
            } else {
                Existing::Other(kind(&t))
            }
        }
    }
}

/// A word for a file type that is not a regular file or a link.
fn kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    }
}

/// Refuses `path` as an output when it is anything but nothing, a regular file or a link.
pub fn refuse_special(path: &Path) -> Result<(), Error> {
    if let Existing::Other(what) = existing(path) {
        return Err(Error::Usage(format!(
            "{} is {what}; an output must be a regular file (or not exist yet)",
            path.display()
        )));
    }
    Ok(())
}

/// Creates `path` as a new, empty file for reading and writing: never over anything already
/// there, a symlink included (`O_CREAT | O_EXCL` does not follow one, dangling or not).
pub fn create_new(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

/// A fresh name in `path`'s folder for the file being written.
fn temporary_beside(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let tmp = format!(".{name}.{}-{n}.tmp", std::process::id());
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Writes `path` through `body`: into a new file beside it, then moved into place. An existing
/// regular file or link at `path` is replaced only when `replace` (a link is replaced, never
/// followed); anything else there is refused and left alone. Nothing is left behind on error.
pub fn write_with(
    path: &Path,
    replace: bool,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    refuse_special(path)?;
    if !replace && existing(path) != Existing::Nothing {
        return Err(Error::Exists(path.display().to_string()));
    }
    let tmp = temporary_beside(path);
    let file = create_new(&tmp).map_err(|e| io(path, "cannot write", e))?;
    let mut w = BufWriter::new(file);
    let written = body(&mut w)
        .and_then(|_| w.flush())
        .map_err(|e| io(path, "cannot write", e));
    drop(w);
    let placed = written.and_then(|_| place(&tmp, path, replace));
    if placed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    placed
}

/// Writes `text` to `path` as `write_with` does.
pub fn write_text(path: &Path, replace: bool, text: &str) -> Result<(), Error> {
    write_with(path, replace, |w| w.write_all(text.as_bytes()))
}

/// Moves the finished `tmp` to `path`: a rename when replacing (it replaces a link rather than
/// following it), else a hard link that fails if anything appeared at `path` meanwhile.
fn place(tmp: &Path, path: &Path, replace: bool) -> Result<(), Error> {
    // Checked again just before: something may have appeared while the file was written.
    refuse_special(path)?;
    if replace {
        return std::fs::rename(tmp, path).map_err(|e| io(path, "cannot write", e));
    }
    match std::fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::Exists(path.display().to_string()))
        }
        // A file system without hard links: the check above is the best there is.
        Err(_) if existing(path) == Existing::Nothing => {
            std::fs::rename(tmp, path).map_err(|e| io(path, "cannot write", e))
        }
        Err(_) => Err(Error::Exists(path.display().to_string())),
    }
}

/// Creates the folder `dir` and its parents when missing; refuses a path that is not a folder.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create the folder", e))?;
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a folder; name a folder (it is created if missing)",
            dir.display()
        )));
    }
    Ok(())
}
