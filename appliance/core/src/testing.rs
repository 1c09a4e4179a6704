//! A real temporary library and catalogue for the crate's tests.

use crate::catalogue::Catalogue;
use crate::error::{IoContext, Result};
use crate::ingest::{template, IngestRequest, Library};
use crate::model::{IngestOutcome, User, Workspace};

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub cat: Catalogue,
    pub lib: Library,
    pub ws: Workspace,
    pub user: User,
}

pub(crate) fn fixture() -> Result<Fixture> {
    let dir = tempfile::tempdir().ctx(|| "tempdir".into())?;
    let cat = Catalogue::open(&dir.path().join("catalogue.sqlite"))?;
    let lib = Library::open(&dir.path().join("library"), 0)?;
    let (ws, user) = cat.write(|tx| {
        let ws = crate::workspaces::ensure_default(tx, template::DEFAULT_TEMPLATE)?;
        let user = crate::accounts::create_user(tx, "anna", "x", true)?;
        Ok((ws, user))
    })?;
    Ok(Fixture { _dir: dir, cat, lib, ws, user })
}

pub(crate) fn put(f: &Fixture, bytes: &[u8], req: &IngestRequest) -> Result<IngestOutcome> {
    let mut writer = f.lib.stage(&req.original_name)?;
    writer.write(bytes)?;
    let staged = writer.finish()?;
    f.lib.commit(&f.cat, staged, &f.ws, &f.user, req)
}
