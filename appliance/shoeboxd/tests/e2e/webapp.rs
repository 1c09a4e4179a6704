//! The web app in a real browser: `webui/tests/walkthrough.mjs` (playwright-core driving Debian's
//! Chromium) against a fresh shoeboxd, including users, members' roles and access links opened in a
//! second browser. Screenshots of every page are left in
//! `target/tmp/webui-screenshots/` to look at.

use std::path::PathBuf;

use crate::support::*;

#[test]
fn setup_upload_tags_event_token_policy_users_access_status_in_chromium() {
    let server = Server::fresh();
    let code = setup_code(&server);
    let media = tempfile::tempdir().unwrap();
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let photos: Vec<PathBuf> = (0..3)
        .map(|i| {
            let path = media.path().join(format!("IMG_{i}.jpg"));
            std::fs::write(&path, variant(&base, format!("web {i}"))).unwrap();
            path
        })
        .collect();
    let shots = screenshots("webui-screenshots");
    let mut args: Vec<&std::ffi::OsStr> = vec![server.base.as_ref(), code.as_ref(), shots.as_ref()];
    args.extend(photos.iter().map(|p| p.as_os_str()));
    browser_script(&server, "walkthrough.mjs", &args);
    for shot in [
        "01-setup",
        "03-library",
        "04-photo",
        "05-events",
        "06-devices",
        "07-network",
        "08-status",
        "09-library-phone",
        "10-users",
        "11-members",
        "12-access-link",
        "13-own-access-link-phone",
        "14-users-phone",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "no screenshot {shot}");
    }
}
