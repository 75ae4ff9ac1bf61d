//! `rondo backup` and `rondo restore`: a running node's store to a file, and a file back to a
//! data folder (`docs/design/012-backup.md`).
//!
//! `backup` fetches `GET /rondo/v1/backup` from the node's AWS endpoint, signed with SigV4 like a
//! DynamoDB request, streams it into `FILE.tmp`, fsyncs it, reads it back to check its records,
//! count and checksum, and only then renames it to `FILE`. `restore` is offline: it verifies the
//! whole file before it writes anything, builds the store beside the data folder's store folder
//! and renames it into place (`node::backup::restore`, on `store::backup`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use metering::backup::BACKUP_PATH;
use node::backup::Summary;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::client;
use crate::printer;

/// The key `rondo backup` signs with when given none: what a node without `--aws-credentials`
/// hands its own process functions (it accepts any key then).
const DEFAULT_CREDENTIALS: (&str, &str) = ("rondo", "rondo");

pub fn run_backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let temporary = temporary_path(&args.to);
    let fetched = tokio.block_on(fetch(&args, &temporary));
    let summary = fetched.and_then(|()| {
        let file = File::open(&temporary)
            .with_context(|| format!("cannot read {} back", temporary.display()))?;
        let summary = node::backup::verify(BufReader::with_capacity(1 << 20, file))
            .with_context(|| format!("the backup received in {} is bad", temporary.display()))?;
        std::fs::rename(&temporary, &args.to)
            .with_context(|| format!("cannot rename {} into place", temporary.display()))?;
        sync_parent(&args.to)?;
        Ok(summary)
    });
    let summary = match summary {
        Ok(summary) => summary,
        Err(error) => {
            // The error says what failed; a temporary file that cannot be removed is only clutter.
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
    };
    report("backed up", &summary, started, &args.to);
    Ok(ExitCode::SUCCESS)
}

pub fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let summary = node::backup::restore(&args.file, &args.data)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    report("restored", &summary, started, &args.data);
    Ok(ExitCode::SUCCESS)
}

/// Prints what was done: records, bytes, seconds and the rates.
fn report(done: &str, summary: &Summary, started: Instant, path: &Path) {
    let seconds = started.elapsed().as_secs_f64();
    let megabytes = summary.n_bytes as f64 / 1e6;
    printer::info_line(&format!(
        "{done} {} records, {} bytes in {seconds:.2} s ({:.1} MB/s, {:.0} records/s): {}",
        summary.n_records,
        summary.n_bytes,
        megabytes / seconds.max(1e-9),
        summary.n_records as f64 / seconds.max(1e-9),
        path.display()
    ));
}

/// Streams the node's backup into `temporary`, fsynced.
async fn fetch(args: &BackupArgs, temporary: &Path) -> anyhow::Result<()> {
    let endpoint = args.endpoint.trim_end_matches('/');
    let uri = format!("{endpoint}{BACKUP_PATH}");
    let (key_id, secret) = match &args.aws_credentials {
        Some((key_id, secret)) => (key_id.as_str(), secret.as_str()),
        None => DEFAULT_CREDENTIALS,
    };
    let mut request = http::Request::get(&uri)
        .body(Empty::<Bytes>::new())
        .with_context(|| format!("invalid --endpoint {endpoint}"))?;
    sign(&mut request, key_id, secret)?;
    let response = client::send(request, endpoint).await?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = body
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        anyhow::bail!(
            "the node refused the backup (HTTP {status}): {}",
            String::from_utf8_lossy(&text)
        );
    }
    let file = File::create(temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let write_error = || format!("cannot write {}", temporary.display());
    while let Some(frame) = body.frame().await {
        let frame = frame.context("the backup's transfer broke off")?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data).with_context(write_error)?;
        }
    }
    let file = out
        .into_inner()
        .map_err(|error| error.into_error())
        .with_context(write_error)?;
    file.sync_all().with_context(write_error)?;
    Ok(())
}

/// Signs `request` with SigV4 (an empty body), as a DynamoDB client signs.
fn sign(
    request: &mut http::Request<Empty<Bytes>>,
    key_id: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let identity =
        aws_credential_types::Credentials::new(key_id, secret, None, None, "rondo backup").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(runtime::REGION)
        .name("dynamodb")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .context("cannot sign the request")?
        .into();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        "GET",
        uri,
        std::iter::empty::<(&str, &str)>(),
        SignableBody::Bytes(b""),
    )
    .context("cannot sign the request")?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .context("cannot sign the request")?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// `FILE.tmp` beside `FILE`.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Makes a rename into `path`'s folder durable.
fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|folder| folder.sync_all())
        .with_context(|| format!("cannot sync {}", parent.display()))
}
