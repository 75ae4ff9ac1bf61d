//! Static files (`[static]`): a folder served under a URL path, for an app's page, script and
//! style.
//!
//! tower-http's `ServeDir` does the serving: content types by extension, `index.html` for a
//! folder, conditional requests (`If-Modified-Since` → 304), ranges, `HEAD`, and no path that
//! leaves the folder. The gateway adds API Gateway's 404 body and `Cache-Control: no-cache`, so
//! a browser revalidates on every load and an edited file shows at the next reload.

use app::StaticFiles;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::http_api::GatewayResponse;
use crate::responses;

/// Answers a request [`StaticFiles::serves`]: the file, 304, or API Gateway's 404.
pub async fn serve(files: &StaticFiles, parts: http::request::Parts) -> GatewayResponse {
    let mut parts = parts;
    let Some(rest) = files.strip(parts.uri.path()) else {
        return crate::http_api::full(responses::not_found());
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let uri = match parts.uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let Ok(uri) = uri.parse() else {
        return crate::http_api::full(responses::not_found());
    };
    parts.uri = uri;
    let request = http::Request::from_parts(parts, ());
    // The snapshot holds what to serve, not a server. A `ServeDir` per request costs a path
    // clone and a few fields (no IO until it serves), well below reading the file; a cache of
    // them would be a structure shared between requests, which the request path does not take.
    let server = ServeDir::new(files.dir())
        .append_index_html_on_directories(true)
        .redirect_path_prefix(files.prefix().to_owned());
    // `ServeDir`'s error type is `Infallible`.
    let Ok(response) = server.oneshot(request).await;
    if response.status() == StatusCode::NOT_FOUND {
        return crate::http_api::full(responses::not_found());
    }
    let mut response = response.map(|body| {
        body.map_err(|error| -> crate::http_api::BoxError { Box::new(error) })
            .boxed_unsync()
    });
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use bytes::Bytes;
    use http::Method;

    use super::*;

    async fn get(files: &StaticFiles, path: &str) -> (StatusCode, Option<String>, Bytes) {
        let request = http::Request::get(path).body(()).unwrap();
        let (parts, ()) = request.into_parts();
        let response = serve(files, parts).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, content_type, body)
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<h1>shop</h1>").unwrap();
        std::fs::write(dir.path().join("app.js"), "let x = 1;").unwrap();
        std::fs::create_dir(dir.path().join("css")).unwrap();
        std::fs::write(dir.path().join("css/style.css"), "p {}").unwrap();
        dir
    }

    #[tokio::test]
    async fn files_index_and_types_at_the_root() {
        let dir = folder();
        let files = StaticFiles::new("/", dir.path());
        let (status, content_type, body) = get(&files, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("text/html"));
        assert_eq!(body, "<h1>shop</h1>");
        let (_, content_type, _) = get(&files, "/app.js").await;
        assert!(content_type.unwrap().contains("javascript"));
        let (_, content_type, body) = get(&files, "/css/style.css").await;
        assert_eq!(content_type.as_deref(), Some("text/css"));
        assert_eq!(body, "p {}");
    }

    #[tokio::test]
    async fn a_missing_file_or_an_escape_is_api_gateways_404() {
        let dir = folder();
        let files = StaticFiles::new("/", dir.path());
        for path in ["/nope.js", "/../Cargo.toml", "/%2e%2e/secret"] {
            let (status, _, body) = get(&files, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body, r#"{"message":"Not Found"}"#, "{path}");
        }
    }

    #[tokio::test]
    async fn a_prefix_is_stripped_and_bounds_what_is_served() {
        let dir = folder();
        let files = StaticFiles::new("/assets", dir.path());
        assert!(files.serves(&Method::GET, "/assets/app.js"));
        assert!(files.serves(&Method::HEAD, "/assets"));
        assert!(!files.serves(&Method::GET, "/assetsx/app.js"));
        assert!(!files.serves(&Method::POST, "/assets/app.js"));
        let (status, _, body) = get(&files, "/assets/app.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "let x = 1;");
    }
}
