//! Embeds the web app (`webui/`, built with npm and Vite) into the server, so the box serves it
//! from its own binary with no internet. The assets are built here when they are missing or older
//! than their sources. Without npm the build carries on with a page that says how to get the app
//! (the API is whole either way), and says so loudly; `SHOEBOX_WEBUI_DIST` points at assets built
//! elsewhere (a Yocto build, for one).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let webui = manifest.join("../../webui");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    println!("cargo:rerun-if-env-changed=SHOEBOX_WEBUI_DIST");
    for source in ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"] {
        println!("cargo:rerun-if-changed={}", webui.join(source).display());
    }
    let dist = match std::env::var_os("SHOEBOX_WEBUI_DIST") {
        Some(dist) => Some(PathBuf::from(dist)),
        None => build(&webui),
    };
    let mut files = Vec::new();
    if let Some(dist) = &dist {
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(dist, dist, &mut files);
    }
    let mut code = String::from(
        "/// The web app's files: (path, content type, bytes).\npub static ASSETS: &[(&str, &str, &[u8])] = &[\n",
    );
    for (rel, path) in &files {
        let _ =
            writeln!(code, "    ({rel:?}, {:?}, include_bytes!({:?})),", content_type(rel), path.display().to_string());
    }
    code.push_str("];\n");
    let _ = std::fs::write(out.join("webui_assets.rs"), code);
}

/// Builds the app when its output is missing or stale; the output folder, or None without npm.
fn build(webui: &Path) -> Option<PathBuf> {
    let dist = webui.join("dist");
    if !webui.join("package.json").exists() {
        return None;
    }
    if newest(&webui.join("src")).max(newest(&webui.join("index.html"))) <= newest(&dist.join("index.html")) {
        return Some(dist);
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm is missing, so the web app is not built into this binary (the API works): \
             apt-get install npm, then build again"
        );
        return dist.join("index.html").exists().then_some(dist);
    }
    let lock = webui.join("package-lock.json");
    if newest(&webui.join("node_modules/.package-lock.json")) < newest(&lock) {
        run(webui, &["ci", "--no-audit", "--no-fund"]);
    }
    run(webui, &["run", "build"]);
    Some(dist)
}

fn run(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("building the web app: `npm {}` in {} failed: {other:?}", args.join(" "), dir.display()),
    }
}

/// The newest modification time under `path` (itself for a file); the epoch when it is missing.
fn newest(path: &Path) -> SystemTime {
    let Ok(meta) = std::fs::metadata(path) else { return SystemTime::UNIX_EPOCH };
    let own = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !meta.is_dir() {
        return own;
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| newest(&e.path())).fold(own, SystemTime::max)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let abs = std::fs::canonicalize(&path).unwrap_or(path.clone());
            out.push((rel.to_string_lossy().replace('\\', "/"), abs));
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}
