//! Where a command may write: every output path of every command passes here. An existing
//! file is kept unless `--force`; the input scenario is never an output, even with `--force`,
//! whatever path names it (a hard link or a symlink to it is the same file); two outputs of one
//! command never name the same file; nothing but a regular file is ever replaced (a FIFO or a
//! device is refused); files are written beside their final name and moved into place, so a
//! link there is replaced, never followed (`crate::output`). File stems from scenario names
//! are `explore::file_stem`, which keeps them inside the folder the user named.

use crate::output::{self, Existing, FileId};
use crate::Error;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The path as the file system will resolve it, whether or not the file exists yet: symlinks
/// are followed (a dangling one to where it points), the folder made absolute.
fn resolved(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    // A chain of links, as the kernel would follow it (it gives up after 40).
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Err(_) => break,
        }
    }
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}

/// One command's output rules: its input and whether `--force` was given.
pub(crate) struct Outputs {
    input: PathBuf,
    input_at: PathBuf,
    input_id: Option<FileId>,
    force: bool,
}

impl Outputs {
    /// The rules for a command reading `input`.
    pub(crate) fn new(input: &Path, force: bool) -> Self {
        Outputs {
            input: input.to_path_buf(),
            input_at: resolved(input),
            input_id: FileId::of(input),
            force,
        }
    }

    /// Checks a command's outputs (flag, path) before anything runs: none is the input, no two
    /// are the same file, none is anything but a regular file or a link, none exists unless
    /// `--force`.
    pub(crate) fn check(&self, outputs: &[(&str, PathBuf)]) -> Result<(), Error> {
        let mut seen: Vec<(&str, PathBuf, Option<FileId>)> = Vec::new();
        for (flag, path) in outputs {
            let at = resolved(path);
            let id = FileId::of(path);
            if at == self.input_at || (id.is_some() && id == self.input_id) {
                return Err(Error::Usage(format!(
                    "{flag} {} would overwrite the scenario being run (it is the file {}); \
                     write it somewhere else",
                    path.display(),
                    self.input.display()
                )));
            }
            if let Some((other, _, _)) = seen
                .iter()
                .find(|(_, p, i)| *p == at || (id.is_some() && *i == id))
            {
                return Err(Error::Usage(format!(
                    "{flag} and {other} both name the file {}; one would overwrite the other",
                    path.display()
                )));
            }
            match output::existing(path) {
                Existing::Nothing => {}
                Existing::Other(what) => {
                    return Err(Error::Usage(format!(
                        "{flag} {} is {what}; an output must be a regular file (or not exist yet)",
                        path.display()
                    )))
                }
                Existing::File | Existing::Link if !self.force => {
                    return Err(Error::Exists(path.display().to_string()))
                }
                Existing::File | Existing::Link => {}
            }
            seen.push((flag, at, id));
        }
        Ok(())
    }

    /// Writes the output `path` (named by `flag`) through `body`, under the rules: checked
    /// again, written beside it, moved into place.
    pub(crate) fn write_with(
        &self,
        flag: &str,
        path: &Path,
        body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.check(&[(flag, path.to_path_buf())])?;
        output::write_with(path, self.force, body)
    }

    /// Writes `text` to the output `path` as `write_with` does.
    pub(crate) fn write_text(&self, flag: &str, path: &Path, text: &str) -> Result<(), Error> {
        self.check(&[(flag, path.to_path_buf())])?;
        output::write_text(path, self.force, text)
    }

    /// Creates the folder `dir` (an `--out` or `--plots`) and its parents when missing.
    pub(crate) fn create_dir(&self, flag: &str, dir: &Path) -> Result<(), Error> {
        check_dir(flag, dir)?;
        output::create_dir(dir)
    }

    /// Makes way for the scratch file `path` (`--history-on-disk`): an existing regular file
    /// or link there is removed (it passed `check`, so only with `--force`); nothing else is.
    pub(crate) fn clear_scratch(&self, flag: &str, path: &Path) -> Result<(), Error> {
        self.check(&[(flag, path.to_path_buf())])?;
        match output::existing(path) {
            Existing::File | Existing::Link => std::fs::remove_file(path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!("cannot replace the file: {e}"),
            }),
            _ => Ok(()),
        }
    }
}

/// Checks that `dir` (an `--out` or `--plots` folder) is a directory or can become one.
pub(crate) fn check_dir(flag: &str, dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {} is a file, not a directory; name a directory (it is created if missing)",
            dir.display()
        )));
    }
    if !dir.exists() && output::existing(dir) == Existing::Link {
        return Err(Error::Usage(format!(
            "{flag} {} is a link to nothing; name a directory (it is created if missing)",
            dir.display()
        )));
    }
    if !dir.exists() {
        // Said now, not after a long search: the folder is made and taken away again, with
        // every parent it needed, so nothing is left behind if the command writes nothing.
        let mut made = Vec::new();
        let mut d = dir;
        while !d.as_os_str().is_empty() && !d.exists() {
            made.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(Error::Usage(format!(
                "{flag} {}: cannot create it ({e}); name a directory that can be made",
                dir.display()
            )));
        }
        for m in &made {
            let _ = std::fs::remove_dir(m);
        }
    }
    Ok(())
}
