//! Static files (`[static]`): a folder served under a URL path, for an app's page, script and
//! style.
//!
//! tower-http's `ServeDir` does the serving: content types by extension, `index.html` for a
//! folder, conditional requests (`If-Modified-Since` → 304), ranges, `HEAD`, and no path that
//! leaves the folder. The gateway adds API Gateway's 404 body and `Cache-Control: no-cache`, so
//! a browser revalidates on every load and an edited file shows at the next reload.

use std::path::Path;

use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::http_api::GatewayResponse;
use crate::responses;

/// A folder served under a URL path prefix.
#[derive(Clone)]
pub struct StaticFiles {
    /// Without a trailing `/`; empty for `/`.
    prefix: String,
    files: ServeDir,
}

impl StaticFiles {
    /// Serves `dir` under `path` (`/`, or a prefix such as `/assets`).
    pub fn new(path: &str, dir: &Path) -> StaticFiles {
        let prefix = path.trim_end_matches('/').to_owned();
        let files = ServeDir::new(dir)
            .append_index_html_on_directories(true)
            .redirect_path_prefix(prefix.clone());
        StaticFiles { prefix, files }
    }

    /// Whether a request is one the files answer: a `GET` or `HEAD` under the prefix.
    pub fn serves(&self, method: &Method, path: &str) -> bool {
        (method == Method::GET || method == Method::HEAD) && self.strip(path).is_some()
    }

    fn strip<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(&self.prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// Answers a request [`StaticFiles::serves`]: the file, 304, or API Gateway's 404.
    pub async fn serve(&self, parts: http::request::Parts) -> GatewayResponse {
        let mut parts = parts;
        let Some(rest) = self.strip(parts.uri.path()) else {
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
        // `ServeDir`'s error type is `Infallible`.
        let Ok(response) = self.files.clone().oneshot(request).await;
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
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use bytes::Bytes;

    use super::*;

    async fn get(files: &StaticFiles, path: &str) -> (StatusCode, Option<String>, Bytes) {
        let request = http::Request::get(path).body(()).unwrap();
        let (parts, ()) = request.into_parts();
        let response = files.serve(parts).await;
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
