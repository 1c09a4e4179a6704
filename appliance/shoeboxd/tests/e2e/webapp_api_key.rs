//! The web app on a box that requires its API key (`server.api_key`): `webui/tests/api-key.mjs`
//! in Chromium. Screenshots are left in `target/tmp/api-key-screenshots/`.

use crate::support::*;

#[test]
fn the_app_asks_for_the_api_key_then_signs_in_uploads_and_shows_thumbnails() {
    let server = Server::with_config("[server]\napi_key = \"family-key\"\n");
    let media = tempfile::tempdir().unwrap();
    let photo = media.path().join("IMG_1.jpg");
    std::fs::write(&photo, exif_jpeg("2023:07:14 18:30:00", None)).unwrap();
    let shots = screenshots("api-key-screenshots");
    browser_script(
        &server,
        "api-key.mjs",
        &[
            server.base.as_ref(),
            "family-key".as_ref(),
            "anna".as_ref(),
            PASSWORD.as_ref(),
            photo.as_ref(),
            shots.as_ref(),
        ],
    );
    assert!(shots.join("02-library-with-key.png").exists());
}
