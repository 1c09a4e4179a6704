//! The ingest path against a real temporary library and catalogue.

use std::fs;

use super::*;
use crate::model::{IngestOutcome, TakenSource};
use crate::testing::{fixture, put, Fixture};

/// A JPEG with no EXIF: SOI, a comment carrying `salt`, EOI. Enough for sniffing and storing.
fn jpeg(salt: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xFE];
    let comment = format!("shoebox test {salt}");
    let len = (comment.len() + 2) as u16;
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(comment.as_bytes());
    bytes.extend_from_slice(&[0u8; 600]);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

fn named(name: &str, taken_at: &str) -> IngestRequest {
    IngestRequest { original_name: name.into(), taken_at: Some(taken_at.into()), ..Default::default() }
}

fn staging_is_empty(f: &Fixture) -> bool {
    fs::read_dir(f.lib.root().join(TMP_DIR).join("ingest")).map(|d| d.count() == 0).unwrap_or(false)
}

#[test]
fn stores_once_and_answers_exists() -> Result<()> {
    let f = fixture()?;
    let req = named("IMG_1.jpg", "2023-07-14T18:30:00");
    let IngestOutcome::Stored(first) = put(&f, &jpeg("a"), &req)? else { panic!("not stored") };
    assert_eq!(first.path, "2023/2023-07-14/IMG_1.jpg");
    assert_eq!(first.taken_source, TakenSource::Client);
    assert_eq!(fs::read(f.lib.asset_path(&first)).ok(), Some(jpeg("a")));
    let IngestOutcome::Exists(again) = put(&f, &jpeg("a"), &named("other.jpg", "2020-01-01T00:00:00"))? else {
        panic!("duplicate stored twice")
    };
    assert_eq!(again.id, first.id);
    assert!(staging_is_empty(&f));
    Ok(())
}

#[test]
fn name_clashes_get_a_counter() -> Result<()> {
    let f = fixture()?;
    let req = named("IMG_1.jpg", "2023-07-14T18:30:00");
    let mut paths = Vec::new();
    for salt in ["a", "b", "c"] {
        if let IngestOutcome::Stored(a) = put(&f, &jpeg(salt), &req)? {
            paths.push(a.path);
        }
    }
    assert_eq!(paths, ["2023/2023-07-14/IMG_1.jpg", "2023/2023-07-14/IMG_1 (1).jpg", "2023/2023-07-14/IMG_1 (2).jpg"]);
    Ok(())
}

#[test]
fn tombstones_refuse_until_forced() -> Result<()> {
    let f = fixture()?;
    let req = named("a.jpg", "2023-07-14T18:30:00");
    let IngestOutcome::Stored(asset) = put(&f, &jpeg("a"), &req)? else { panic!("not stored") };
    let paths = f.cat.write(|tx| crate::assets::delete_with_tombstone(tx, &asset, f.ws.id, Some(f.user.id)))?;
    assert_eq!(paths, vec![asset.path.clone()]);
    f.lib.remove_file(&asset.workspace, &paths[0])?;
    assert!(!f.lib.asset_path(&asset).exists());
    assert!(!f.lib.root().join("default/2023").exists(), "empty folders are left behind");
    assert!(matches!(put(&f, &jpeg("a"), &req), Err(CoreError::AssetDeleted)));
    assert!(staging_is_empty(&f));
    let forced = IngestRequest { force: true, ..req };
    let IngestOutcome::Stored(back) = put(&f, &jpeg("a"), &forced)? else { panic!("force did not store") };
    assert!(back.id > asset.id, "asset ids are never reused");
    Ok(())
}

#[test]
fn non_media_is_refused_before_it_is_stored() -> Result<()> {
    let f = fixture()?;
    let mut writer = f.lib.stage("notes.jpg")?;
    let refused = writer.write(&[b'x'; 4096]);
    assert!(matches!(refused, Err(CoreError::UnsupportedMedia)));
    drop(writer);
    assert!(staging_is_empty(&f));
    Ok(())
}

#[test]
fn events_give_title_and_tags() -> Result<()> {
    let f = fixture()?;
    f.cat.write(|tx| {
        let long = crate::events::EventSpec::new(
            "Summer",
            vec!["holiday".into()],
            "2023-07-01T00:00:00",
            "2023-08-31T23:59:59",
        )?;
        let short = crate::events::EventSpec::new(
            "Wedding",
            vec!["family".into()],
            "2023-07-14T12:00:00",
            "2023-07-15T04:00:00",
        )?;
        crate::events::create(tx, f.ws.id, &long)?;
        crate::events::create(tx, f.ws.id, &short)?;
        Ok(())
    })?;
    let req = IngestRequest { tags: vec!["mine".into()], ..named("a.jpg", "2023-07-14T18:30:00") };
    let IngestOutcome::Stored(a) = put(&f, &jpeg("a"), &req)? else { panic!("not stored") };
    assert_eq!(a.title.as_deref(), Some("Wedding"));
    assert_eq!(a.tags, ["family", "mine"]);
    let titled = IngestRequest { title: Some("Mine".into()), ..named("b.jpg", "2023-07-20T10:00:00") };
    let IngestOutcome::Stored(b) = put(&f, &jpeg("b"), &titled)? else { panic!("not stored") };
    assert_eq!(b.title.as_deref(), Some("Mine"));
    assert_eq!(b.tags, ["holiday"]);
    Ok(())
}

#[test]
fn an_event_made_later_gathers_the_photos_of_its_span() -> Result<()> {
    let f = fixture()?;
    let IngestOutcome::Stored(inside) = put(&f, &jpeg("a"), &named("a.jpg", "2023-07-14T18:30:00"))? else {
        panic!("not stored")
    };
    let IngestOutcome::Stored(outside) = put(&f, &jpeg("b"), &named("b.jpg", "2023-09-01T10:00:00"))? else {
        panic!("not stored")
    };
    let spec = |ends: &str| crate::events::EventSpec::new("Lake", vec!["holiday".into()], "2023-07-10T00:00:00", ends);
    let event = f.cat.write(|tx| crate::events::create(tx, f.ws.id, &spec("2023-07-20T23:59:59")?))?;
    let get = |id| f.cat.read(|c| crate::assets::get(c, id)).map(|a| a.map(|(a, _)| a));
    let a = get(inside.id)?.ok_or(CoreError::NotFound("asset"))?;
    assert_eq!(
        (a.event_id, a.tags.as_slice(), a.path.as_str()),
        (Some(event.id), &["holiday".to_string()][..], inside.path.as_str())
    );
    assert_eq!(get(outside.id)?.and_then(|a| a.event_id), None);
    // Narrowed so the photo falls out: it leaves the event and keeps its tag.
    f.cat.write(|tx| crate::events::replace(tx, event.id, f.ws.id, &spec("2023-07-12T00:00:00")?))?;
    let a = get(inside.id)?.ok_or(CoreError::NotFound("asset"))?;
    assert_eq!((a.event_id, a.tags.len()), (None, 1));
    Ok(())
}

#[test]
fn recovery_finishes_or_undoes_interrupted_placements() -> Result<()> {
    let f = fixture()?;
    let IngestOutcome::Stored(done) = put(&f, &jpeg("a"), &named("a.jpg", "2023-07-14T18:30:00"))? else {
        panic!("not stored")
    };
    // Simulate crashes: one row renamed but not marked ready, one row whose staged file is still
    // waiting, one row whose staged file vanished.
    let staged = f.lib.root().join(TMP_DIR).join("ingest").join("crash.part");
    fs::write(&staged, jpeg("b")).ctx(|| "write".into())?;
    let stray = f.lib.root().join(TMP_DIR).join("ingest").join("stray.part");
    fs::write(&stray, b"junk").ctx(|| "write".into())?;
    f.cat.write(|tx| {
        tx.execute("UPDATE assets SET state = 'placing' WHERE id = ?1", [done.id])?;
        for (sha, rel, path) in
            [(2u8, "2023/b.jpg", staged.to_string_lossy().into_owned()), (3u8, "2023/c.jpg", "/gone".into())]
        {
            tx.execute(
                "INSERT INTO assets (workspace_id, sha256, size, media_type, rel_path, staged_path, original_name,
                     taken_at, taken_source, uploaded_at, state)
                 VALUES (?1, ?2, 1, 'image/jpeg', ?3, ?4, 'x.jpg', '2023-01-01T00:00:00', 'client', 'now', 'placing')",
                rusqlite::params![f.ws.id, vec![sha; 32], rel, path],
            )?;
        }
        Ok(())
    })?;
    let report = f.lib.recover(&f.cat)?;
    assert_eq!(report.placements_finished, 2);
    assert_eq!(report.placements_undone, 1);
    assert!(f.lib.root().join("default/2023/b.jpg").exists());
    assert!(staging_is_empty(&f));
    let states: Vec<String> = f.cat.read(|c| {
        let mut stmt = c.prepare("SELECT state FROM assets ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    })?;
    assert_eq!(states, ["ready", "ready"]);
    Ok(())
}
