//! Embeds the built browser app (`target/site`, from `cargo leptos build --release
//! --precompress`) in release builds of the server, so `parley` runs from any folder.
//! Debug builds embed nothing and read the site from disk, so `cargo leptos watch`
//! always serves the app it just rebuilt.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let site = match env::var_os("PARLEY_EMBED_SITE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site"),
    };
    println!("cargo:rerun-if-env-changed=PARLEY_EMBED_SITE");
    println!("cargo:rerun-if-changed={}", site.display());
    let release = env::var("PROFILE").is_ok_and(|profile| profile == "release");

    let mut files = Vec::new();
    if release && site.join("pkg").is_dir() {
        collect(&site, &site, &mut files);
    }
    files.sort();
    // One version for the whole build: it goes into the app's file names, so a browser
    // may keep them for good and still never runs a stale mix.
    let mut site_hasher = DefaultHasher::new();
    let mut code = String::from("pub static FILES: &[EmbeddedFile] = &[\n");
    for relative in &files {
        let path = site.join(relative);
        let body = fs::read(&path).expect("a site file");
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        (relative, &body).hash(&mut site_hasher);
        let variant = |suffix: &str| {
            let compressed = site.join(format!("{relative}.{suffix}"));
            if compressed.is_file() {
                format!(
                    "Some(include_bytes!({:?}))",
                    compressed.display().to_string()
                )
            } else {
                "None".to_owned()
            }
        };
        code.push_str(&format!(
            "    EmbeddedFile {{ path: {relative:?}, body: include_bytes!({:?}), brotli: {}, gzip: {}, etag: \"\\\"{:016x}\\\"\" }},\n",
            path.display().to_string(),
            variant("br"),
            variant("gz"),
            hasher.finish(),
        ));
    }
    code.push_str("];\n");
    let version = match files.is_empty() {
        true => "None".to_owned(),
        false => format!("Some(\"{:012x}\")", site_hasher.finish() & 0xffff_ffff_ffff),
    };
    code.push_str(&format!("pub const VERSION: Option<&str> = {version};\n"));
    fs::write(out.join("embedded_site.rs"), code).expect("write the embedded site");
}

/// Every file under `dir` that is served (not the precompressed copies, which go with
/// their original, nor TypeScript declarations), relative to `root`, with `/`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).expect("read the site folder") {
        let path = entry.expect("a site entry").path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let name = path.to_string_lossy();
        if name.ends_with(".br") || name.ends_with(".gz") || name.ends_with(".d.ts") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under the site root");
        let parts: Vec<_> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push(parts.join("/"));
    }
}
