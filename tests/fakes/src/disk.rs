//! A disk that fills: a size-limited tmpfs for the tests of what a full disk must not break.

use std::path::PathBuf;
use std::process::Command;

/// A tmpfs of a given size mounted at `.0`, unmounted on drop.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `1m`, `24m`) at `path`, made if
    /// need be. Panics with what to do when it cannot: mounting needs root (CAP_SYS_ADMIN).
    pub fn mount(path: PathBuf, size: &str) -> Tmpfs {
        if let Err(e) = std::fs::create_dir_all(&path) {
            panic!("making the mount point {}: {e}", path.display());
        }
        let mounted =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&path).output();
        let ok = mounted.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "the full-disk tests mount a small tmpfs and need root (CAP_SYS_ADMIN) for it: {:?}",
            mounted.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        Tmpfs(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
