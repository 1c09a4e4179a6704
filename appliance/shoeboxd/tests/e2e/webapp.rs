//! The web app in a real browser: `webui/tests/walkthrough.mjs` (playwright-core driving Debian's
//! Chromium) against a fresh shoeboxd. Screenshots of every page are left in
//! `target/tmp/webui-screenshots/` to look at.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

#[test]
fn setup_upload_tags_event_token_policy_status_in_chromium() {
    tool("chromium", "chromium");
    tool("node", "nodejs");
    let webui = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../webui");
    assert!(
        webui.join("node_modules/playwright-core").exists(),
        "webui/node_modules is missing: run `npm ci` in webui/ (building shoebox-server does it when npm is installed)"
    );
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
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("webui-screenshots");
    let out = Command::new("node")
        .current_dir(&webui)
        .arg("tests/walkthrough.mjs")
        .args([server.base.as_str(), code.as_str()])
        .arg(&shots)
        .args(&photos)
        .output()
        .expect("run node");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walkthrough failed:\n{report}\nserver log:\n{}", server.log());
    for shot in
        ["01-setup", "03-library", "04-photo", "05-events", "06-devices", "07-network", "08-status", "09-library-phone"]
    {
        assert!(shots.join(format!("{shot}.png")).exists(), "no screenshot {shot}");
    }
}
