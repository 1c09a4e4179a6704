//! A path below a connection's root folder: `/`-separated names, NFC, with nothing that could climb
//! out of the root or that any of the providers refuses.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::RemoteError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RemotePath(String);

impl RemotePath {
    /// The root folder itself.
    pub fn root() -> Self {
        RemotePath(String::new())
    }

    /// Names are normalised to NFC: a name typed on macOS (NFD) and the same name from elsewhere
    /// are one file, as the library already treats them.
    pub fn new(path: &str) -> Result<Self, RemoteError> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(RemotePath::root());
        }
        let mut out = String::with_capacity(trimmed.len());
        for name in trimmed.split('/') {
            if name.is_empty() {
                return Err(RemoteError::InvalidPath(path.into(), "an empty name (two slashes)"));
            }
            if name == "." || name == ".." {
                return Err(RemoteError::InvalidPath(path.into(), "'.' and '..' are not names"));
            }
            if name.chars().any(|c| c.is_control()) {
                return Err(RemoteError::InvalidPath(path.into(), "a control character"));
            }
            if !out.is_empty() {
                out.push('/');
            }
            out.extend(name.nfc());
        }
        Ok(RemotePath(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn join(&self, name: &str) -> Result<Self, RemoteError> {
        if self.is_root() {
            RemotePath::new(name)
        } else {
            RemotePath::new(&format!("{}/{}", self.0, name))
        }
    }

    pub fn parent(&self) -> Option<RemotePath> {
        if self.is_root() {
            return None;
        }
        Some(RemotePath(self.0.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default()))
    }

    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// Whether `self` is `folder` or below it.
    pub fn is_within(&self, folder: &RemotePath) -> bool {
        folder.is_root() || self.0 == folder.0 || self.0.strip_prefix(&folder.0).is_some_and(|r| r.starts_with('/'))
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}

impl TryFrom<String> for RemotePath {
    type Error = RemoteError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RemotePath::new(&s)
    }
}

impl From<RemotePath> for String {
    fn from(p: RemotePath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses() {
        assert_eq!(RemotePath::new("/2024/06/a.jpg/").unwrap().as_str(), "2024/06/a.jpg");
        assert!(RemotePath::new("").unwrap().is_root());
        assert!(RemotePath::new("/").unwrap().is_root());
        assert_eq!(RemotePath::new("Cafe\u{301}.jpg").unwrap().as_str(), "Caf\u{e9}.jpg");
        for bad in ["a//b", "../x", "a/./b", "a/..", "a\nb", "a\0b"] {
            assert!(RemotePath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parent_name_within() {
        let p = RemotePath::new("a/b/c.jpg").unwrap();
        assert_eq!(p.name(), "c.jpg");
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(RemotePath::new("c.jpg").unwrap().parent().unwrap(), RemotePath::root());
        assert!(p.is_within(&RemotePath::new("a").unwrap()));
        assert!(!p.is_within(&RemotePath::new("a/b/c").unwrap()));
        assert!(!RemotePath::new("ab/c").unwrap().is_within(&RemotePath::new("a").unwrap()));
    }
}
