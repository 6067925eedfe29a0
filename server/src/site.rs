//! The browser app (JavaScript, wasm, CSS, icon) as built into a release binary, so
//! `parley` runs from any folder. Each file is sent brotli- or gzip-compressed when the
//! browser accepts it (compressed at build time). The app's files are also served
//! under names carrying the build's version (`/pkg/parley.<version>.wasm`), which the
//! pages use and browsers may keep for a year; under their plain names they carry an
//! ETag, so a browser revalidates instead of downloading again.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One file of the built site.
pub struct EmbeddedFile {
    /// Its path under the site root, such as `pkg/parley.wasm`.
    pub path: &'static str,
    pub body: &'static [u8],
    pub brotli: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));

/// Whether this binary carries the site (release builds made after the browser app).
pub fn is_embedded() -> bool {
    !FILES.is_empty()
}

/// The name the pages give the app's files (`parley` for `parley.js`, `parley.wasm`,
/// `parley.css`): with the build's version when the binary's own copy is served.
pub fn output_name(embedded: bool) -> String {
    match VERSION {
        Some(version) if embedded => format!("parley.{version}"),
        _ => "parley".to_owned(),
    }
}

/// Routes serving every embedded file at its path, and the app's files (those in
/// pkg/) also at their versioned names.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES.iter().fold(Router::new(), |router, file| {
        let router = router.route(
            &format!("/{}", file.path),
            get(move |headers: HeaderMap| async move { serve(file, &headers, false) }),
        );
        match versioned_path(file.path) {
            Some(path) => router.route(
                &path,
                get(move |headers: HeaderMap| async move { serve(file, &headers, true) }),
            ),
            None => router,
        }
    })
}

/// `/pkg/parley.<version>.wasm` for `pkg/parley.wasm`.
fn versioned_path(path: &str) -> Option<String> {
    let version = VERSION?;
    let name = path.strip_prefix("pkg/")?;
    let (stem, extension) = name.rsplit_once('.')?;
    Some(format!("/pkg/{stem}.{version}.{extension}"))
}

fn serve(file: &'static EmbeddedFile, request: &HeaderMap, versioned: bool) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(file.path)),
    );
    headers.insert(header::ETAG, HeaderValue::from_static(file.etag));
    let caching = if versioned {
        // The name changes with every build: keep it for good.
        "public, max-age=31536000, immutable"
    } else {
        // A plain name may change meaning: keep the file, but ask whether it changed.
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|tags| tags.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == file.etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let accepts = |coding: &str| accepts_encoding(request, coding);
    let body = match (file.brotli, file.gzip) {
        (Some(brotli), _) if accepts("br") => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            brotli
        }
        (_, Some(gzip)) if accepts("gzip") => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip
        }
        _ => file.body,
    };
    (headers, body).into_response()
}

/// Whether Accept-Encoding lists `coding` (not with q=0).
fn accepts_encoding(request: &HeaderMap, coding: &str) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let name_matches = parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(coding));
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            name_matches && !refused
        })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn encodings_are_negotiated() {
        assert!(accepts_encoding(&accept("gzip, deflate, br, zstd"), "br"));
        assert!(accepts_encoding(&accept("gzip;q=1.0, br;q=0.5"), "br"));
        assert!(!accepts_encoding(&accept("gzip, br;q=0"), "br"));
        assert!(accepts_encoding(&accept("gzip, br;q=0"), "gzip"));
        assert!(!accepts_encoding(&HeaderMap::new(), "gzip"));
    }

    static FILE: EmbeddedFile = EmbeddedFile {
        path: "pkg/app.wasm",
        body: b"plain",
        brotli: Some(b"brotli"),
        gzip: Some(b"gzip"),
        etag: "\"1\"",
    };

    #[test]
    fn files_go_compressed_when_accepted_and_revalidate() {
        let brotli = serve(&FILE, &accept("gzip, br"), false);
        assert_eq!(brotli.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(brotli.headers()[header::CONTENT_TYPE], "application/wasm");
        let gzip = serve(&FILE, &accept("gzip"), true);
        assert_eq!(
            gzip.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");
        let plain = serve(&FILE, &HeaderMap::new(), false);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let mut again = accept("br");
        again.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"1\""));
        assert_eq!(
            serve(&FILE, &again, false).status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
