//! Dropbox v2 (being written).
