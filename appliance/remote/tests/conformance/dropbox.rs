//! The Dropbox harness (being written).
