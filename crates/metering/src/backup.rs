//! The admin API's `GET /rondo/v1/backup` ([`handle`]): the node's whole store as a backup
//! (`store::backup`'s format), streamed from one read snapshot. The gateway mounts it after
//! checking the request's signature: unlike the cost report and the metrics, it is all data.
//!
//! A blocking thread walks the snapshot key by key and hands the bytes over in chunks of
//! [`BACKUP_CHUNK_BYTES`] through a channel of [`BACKUP_CHUNKS_QUEUED_MAX`]: a slow client slows
//! the walk (backpressure) and the node never holds more than those chunks of the store in
//! memory. The snapshot is consistent and writes go on beside it. A failure half-way ends the
//! body early, without the trailer, which the client's check reports as a truncated backup.

use std::io::{self, Write};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use store::Store;
use tokio::sync::mpsc;

use crate::admin::{AdminBody, ChannelBody};
use crate::limits::{BACKUP_CHUNK_BYTES, BACKUP_CHUNKS_QUEUED_MAX};

/// The path of the backup.
pub const BACKUP_PATH: &str = "/rondo/v1/backup";
/// The content type of a backup.
pub const BACKUP_CONTENT_TYPE: &str = "application/vnd.rondo.backup";

/// Answers the backup of `store` as of now (its signature already checked).
pub fn handle(store: &Store) -> http::Response<AdminBody> {
    let snapshot = match store.read() {
        Ok(snapshot) => snapshot,
        Err(error) => {
            let body = serde_json::json!({ "message": error.to_string() }).to_string();
            return http::Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)).boxed())
                .expect("a response of static parts is valid");
        }
    };
    let (chunks, receiver) = mpsc::channel(BACKUP_CHUNKS_QUEUED_MAX);
    // Owner: the response's body, which holds the channel's receiver: dropping it (the client
    // went away, the connection was aborted at shutdown) fails the thread's next send, and the
    // thread ends there, dropping the snapshot.
    tokio::task::spawn_blocking(move || {
        let out = ChunkWriter {
            chunks,
            buffer: Vec::with_capacity(BACKUP_CHUNK_BYTES),
        };
        if let Err(error) = store::backup::write_snapshot(&snapshot, out) {
            tracing::warn!("the backup ended early: {error}");
        }
    });
    http::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, BACKUP_CONTENT_TYPE)
        .body(ChannelBody { chunks: receiver }.boxed())
        .expect("a response of static parts is valid")
}

/// Collects the backup's bytes into chunks and sends each, waiting while the channel is full.
struct ChunkWriter {
    chunks: mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BACKUP_CHUNK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(BACKUP_CHUNK_BYTES));
        self.chunks
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}
