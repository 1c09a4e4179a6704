//! The file-system steps that make a stored file survive a crash or power cut: fsync the file,
//! rename without replacing, fsync the directory.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use rustix::fs::{renameat_with, RenameFlags, CWD};

pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parents below `root`, fsyncing each parent that gained an entry.
pub fn create_dirs(root: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.is_dir() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(parent) if parent.starts_with(root) => cur = parent,
            _ => break,
        }
    }
    for path in missing.iter().rev() {
        match fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        if let Some(parent) = path.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// Renames `from` to `to`, failing with `AlreadyExists` rather than replacing an existing file.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::EXIST) => Err(io::ErrorKind::AlreadyExists.into()),
        // File systems without RENAME_NOREPLACE (some FUSE and network ones): check, then rename.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {
            if to.exists() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// Total bytes of the file system holding `path`, and the bytes free for an unprivileged writer.
pub fn usage(path: &Path) -> io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(path)?;
    Ok((st.f_blocks.saturating_mul(st.f_frsize), st.f_bavail.saturating_mul(st.f_frsize)))
}

/// Free bytes for an unprivileged writer on the file system holding `path`.
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let st = rustix::fs::statvfs(path)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_replace() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"one")?;
        fs::write(&b, b"two")?;
        let err = rename_no_replace(&a, &b).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::AlreadyExists));
        assert_eq!(fs::read(&b)?, b"two");
        fs::remove_file(&b)?;
        rename_no_replace(&a, &b)?;
        assert_eq!(fs::read(&b)?, b"one");
        Ok(())
    }

    #[test]
    fn nested_dirs() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let deep = dir.path().join("x/y/z");
        create_dirs(dir.path(), &deep)?;
        assert!(deep.is_dir());
        Ok(())
    }
}
