//! Test support: starting `rondo dev` on ephemeral ports, an HTTP client, app folders.

#![allow(dead_code, reason = "each test uses the part it needs")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A built test component, committed under `test-programs/wasm/`.
pub fn test_wasm(name: &str) -> PathBuf {
    repo().join("test-programs/wasm").join(name)
}

/// An app folder in a temporary directory, with the given manifest and wasm files copied in.
pub struct App {
    pub dir: tempfile::TempDir,
}

impl App {
    pub fn new(manifest: &str, files: &[(&str, PathBuf)]) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("rondo.toml"), manifest).expect("write manifest");
        for (name, source) in files {
            std::fs::copy(source, dir.path().join(name))
                .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        }
        App { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces a file the way build tools do: write a new file, then rename it over the old one.
    pub fn replace(&self, name: &str, contents: &[u8]) {
        let temp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&temp, contents).expect("write temp");
        std::fs::rename(&temp, self.dir.path().join(name)).expect("rename");
    }
}

/// A running `rondo dev`. Killed on drop.
pub struct Dev {
    pub child: Child,
    pub gateway: String,
    pub aws: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

pub fn rondo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rondo"))
}

impl Dev {
    pub fn start(app: &App) -> Dev {
        Dev::start_with(app, &[])
    }

    pub fn start_with(app: &App, extra: &[&str]) -> Dev {
        let data = app.path().join(".rondo");
        let mut child = rondo()
            .arg("dev")
            .arg(app.path())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--aws-listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(&data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rondo");
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = stderr.lock().expect("lock").clone();
            let gateway = address_after(&text, "gateway");
            let aws = address_after(&text, "aws endpoint");
            if let (Some(gateway), Some(aws)) = (gateway, aws) {
                return Dev {
                    child,
                    gateway,
                    aws,
                    stdout,
                    stderr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("rondo dev exited with {status}: {text}");
            }
            assert!(Instant::now() < deadline, "rondo dev did not start: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// Waits until the captured stdout or stderr satisfies `condition`.
    pub fn wait_output(&self, what: &str, condition: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !condition(&self.stdout(), &self.stderr()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn address_after(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix(label)
                .map(|rest| rest.trim().to_owned())
        })
        .filter(|address| address.starts_with("http://"))
}

fn capture(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().expect("lock");
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

/// A response as a test looks at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub async fn send(request: http::Request<Full<Bytes>>) -> Reply {
    send_with(&client(), request).await
}

pub async fn send_with(
    client: &Client<HttpConnector, Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Reply {
    let response = client.request(request).await.expect("request failed");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send(
        http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .expect("request"),
    )
    .await
}

pub async fn post(url: &str, body: impl Into<Bytes>) -> Reply {
    send(
        http::Request::post(url)
            .body(Full::new(body.into()))
            .expect("request"),
    )
    .await
}

/// A manifest declaring one function per `(name, wasm, extra lines)` and the given routes.
pub fn manifest(functions: &[(&str, &str, &str)], routes: &[(&str, &str)]) -> String {
    let mut text = String::from("[app]\nname = \"test\"\n\n");
    for (name, wasm, extra) in functions {
        text.push_str(&format!(
            "[function.{name}]\nwasm = \"{wasm}\"\n{extra}\n\n"
        ));
    }
    for (route, function) in routes {
        text.push_str(&format!(
            "[[route]]\nroute = \"{route}\"\nfunction = \"{function}\"\n\n"
        ));
    }
    text
}

/// The test-handler component as one function, `tester`, behind `GET /t/{action}`.
pub fn tester_app() -> App {
    App::new(
        &manifest(
            &[("tester", "handler.wasm", "")],
            &[("GET /t/{action}", "tester")],
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    )
}
