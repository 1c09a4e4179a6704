//! The integrations page in a real browser: `webui/tests/integrations.mjs` (playwright-core
//! driving Debian's Chromium) against shoeboxd and the cloud fakes, signing in through the
//! providers' own steps. Screenshots are left in `target/tmp/integrations-screenshots/`.

use crate::support::*;
use crate::sync::Fakes;

#[test]
fn connect_by_device_code_and_pasted_code_see_rows_update_toggle_auto_sync_in_chromium() {
    let fakes = Fakes::start();
    let photo = variant(&exif_jpeg("2024:05:01 09:00:00", None), "from onedrive");
    let onedrive = fakes.server.graph.me_drive_id();
    fakes.server.graph.owner_put(&onedrive, "Camera Roll/2024/IMG_1.jpg", photo.clone()).expect("seed OneDrive");
    let server = Server::with_config(&fakes.config());

    let shots = screenshots("integrations-screenshots");
    browser_script(
        &server,
        "integrations.mjs",
        &[server.base.as_ref(), "admin".as_ref(), PASSWORD.as_ref(), shots.as_ref()],
    );

    // What the page showed is what happened: the OneDrive photo is in the library under the
    // chosen folder, and its copy on Google Drive is byte-identical.
    let admin = server.login("admin");
    let assets = admin.get_json("/api/v1/assets?workspace=default");
    let items = assets["assets"].as_array().expect("assets");
    assert_eq!(items.len(), 1, "{assets:#}");
    let rel = items[0]["path"].as_str().expect("path");
    assert!(rel.starts_with("OneDrive/2024/"), "{rel}");
    let on_drive = fakes.server.drive.file_by_path(&format!("Shoebox/{rel}")).expect("copied to Drive");
    assert_eq!(on_drive.bytes, photo);
    let left: Vec<String> = admin
        .get_json("/api/v1/workspaces/default/connections")
        .as_array()
        .expect("list")
        .iter()
        .map(|c| format!("{} {} auto_sync={}", c["direction"], c["provider"], c["auto_sync"]))
        .collect();
    assert_eq!(left, ["\"push\" \"google_drive\" auto_sync=true", "\"pull\" \"onedrive\" auto_sync=false"]);
    for shot in [
        "01-integrations-empty",
        "02-device-code",
        "03-folder-synced",
        "04-paste-code",
        "05-integrations",
        "06-integrations-phone",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "no screenshot {shot}");
    }
}
