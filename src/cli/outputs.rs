//! Where a command may write: the rules every output path passes before anything runs. An
//! existing file is kept unless `--force`; the input scenario is never an output, even with
//! `--force`; two outputs of one command never share a path (file stems from scenario names
//! are `explore::file_stem`, which keeps them inside the folder the user named).

use crate::Error;
use std::path::{Path, PathBuf};

/// The path as the file system will resolve it, whether or not the file exists yet.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Checks a command's outputs (flag, path) against its input: none is the input, none is
/// named twice, none exists unless `force`.
pub(crate) fn check(input: &Path, outputs: &[(&str, PathBuf)], force: bool) -> Result<(), Error> {
    let input_at = resolved(input);
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for (flag, path) in outputs {
        let at = resolved(path);
        if at == input_at {
            return Err(Error::Usage(format!(
                "{flag} {} would overwrite the scenario being run; write it somewhere else",
                path.display()
            )));
        }
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == at) {
            return Err(Error::Usage(format!(
                "{flag} and {other} both name {}; one would overwrite the other",
                path.display()
            )));
        }
        if path.is_dir() {
            return Err(Error::Usage(format!(
                "{flag} {} is a directory; name a file",
                path.display()
            )));
        }
        if path.exists() && !force {
            return Err(Error::Exists(path.display().to_string()));
        }
        seen.push((flag, at));
    }
    Ok(())
}

/// Checks that `dir` (an `--out` or `--plots` folder) is a directory or can become one.
pub(crate) fn check_dir(flag: &str, dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {} is a file, not a directory; name a directory (it is created if missing)",
            dir.display()
        )));
    }
    Ok(())
}
