//! Opening the data directory (shared by every command) and the offline commands.

use std::sync::Arc;

use anyhow::Context;
use shoebox_core::model::{Role, User};
use shoebox_core::{accounts, doctor, workspaces, Catalogue, Library};

use crate::config::Config;

pub struct Opened {
    pub catalogue: Arc<Catalogue>,
    pub library: Arc<Library>,
}

/// Creates what is missing (data dir, catalogue, library, default workspace).
pub fn open(config: &Config) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let catalogue = Catalogue::open(&config.catalogue_path())
        .with_context(|| format!("opening the catalogue {}", config.catalogue_path().display()))?;
    catalogue.write(|tx| workspaces::ensure_default(tx, &config.library.folder_template))?;
    let library = Library::open(&config.library_path(), config.library.reserve_mib << 20)
        .with_context(|| format!("opening the library {}", config.library_path().display()))?;
    Ok(Opened { catalogue: Arc::new(catalogue), library: Arc::new(library) })
}

pub fn add_user(config: &Config, name: &str, password: &str, admin: bool) -> anyhow::Result<User> {
    let opened = open(config)?;
    let hash = accounts::hash_password(password)?;
    let user = opened.catalogue.write(|tx| {
        let user = accounts::create_user(tx, name, &hash, admin)?;
        if !admin {
            let ws = workspaces::ensure_default(tx, &config.library.folder_template)?;
            accounts::set_role(tx, user.id, ws.id, Role::Contributor)?;
        }
        shoebox_core::audit::record(
            tx,
            &shoebox_core::audit::Entry {
                action: "user.create",
                target: Some(format!("user:{}", user.id)),
                detail: Some("shoeboxd user add".into()),
                ..Default::default()
            },
        )?;
        Ok(user)
    })?;
    Ok(user)
}

pub fn doctor(config: &Config) -> anyhow::Result<doctor::Report> {
    let opened = open(config)?;
    Ok(doctor::check(&opened.catalogue, &opened.library)?)
}
