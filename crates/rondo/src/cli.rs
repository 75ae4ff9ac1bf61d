//! Command-line arguments, as clap parses them.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Parser)]
#[command(
    name = "rondo",
    version,
    about = "A self-hostable serverless cloud in one binary"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Run an app for development: serve it, watch it, reload it on change.
    Dev(DevArgs),
    /// Invoke a function of a running app (through its Lambda Invoke API) and print the result.
    Invoke(InvokeArgs),
    /// Show the usage and cost of a running app, per function, route or trigger.
    Cost(CostArgs),
    /// Write a consistent snapshot of a running node's store to a file (online; writes go on).
    Backup(BackupArgs),
    /// Make a new data folder's store from a backup file (offline: no node may use the folder).
    Restore(RestoreArgs),
}

#[derive(clap::Args)]
pub struct DevArgs {
    /// The app's folder (holding rondo.toml), or the manifest file itself.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where the gateway (the app's HTTP routes) listens.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Where the AWS-compatible endpoint (DynamoDB, Lambda Invoke API) listens.
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub aws_listen: SocketAddr,
    /// Accept only requests to the AWS endpoint signed (SigV4) with this access key,
    /// written KEYID:SECRET. Repeatable. Without it, any request is accepted.
    #[arg(long = "aws-credentials", value_name = "KEYID:SECRET", value_parser = parse_credentials)]
    pub aws_credentials: Vec<(String, String)>,
    /// How often expired items (TTL) are deleted, in milliseconds.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub ttl_sweep_ms: u64,
    /// How long stream records are kept, in seconds (DynamoDB keeps them 24 hours).
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub stream_retention_s: u64,
    /// Where rondo keeps the app's data (default: DIR/.rondo).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Do not print each invocation's log (START/END/REPORT and the function's lines).
    #[arg(long)]
    pub quiet: bool,
    /// Do not reload the app when its files change.
    #[arg(long)]
    pub no_watch: bool,
    /// Where runtime tools for process functions (Python's runtime interface client, boto3)
    /// are installed when missing (default: ~/.cache/rondo/tools).
    #[arg(long)]
    pub tools: Option<PathBuf>,
    /// The wait before the first retry of a failed asynchronous invocation, in milliseconds
    /// (Lambda: about a minute); the second retry waits twice as long.
    #[arg(long, default_value_t = events::limits::ASYNC_RETRY_DELAY_MS_DEFAULT, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub async_retry_delay_ms: u64,
    /// How long an idle execution environment of a process function stays warm, in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub process_idle_s: u64,
}

#[derive(clap::Args)]
pub struct InvokeArgs {
    /// The function's name.
    pub function: String,
    /// The event, as JSON text.
    #[arg(long, default_value = "{}")]
    pub payload: String,
    /// The AWS endpoint of the running `rondo dev`.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Also print the end of the invocation's log (Lambda's `LogType: Tail`) to stderr.
    #[arg(long)]
    pub log: bool,
}

#[derive(clap::Args)]
pub struct CostArgs {
    /// The start of the period: an age (90s, 30m, 24h, 7d) or an RFC 3339 time.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// The end of the period, written like --since (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// A row per function, route or trigger.
    #[arg(long, default_value = "function")]
    pub by: metering::GroupBy,
    /// The AWS endpoint of the running `rondo dev`, which also answers the admin API.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write (written as FILE.tmp, checked, then renamed).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// The AWS endpoint of the running `rondo dev`, which serves the backup.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// The access key to sign the request with (SigV4), written KEYID:SECRET: one the node was
    /// started with (`--aws-credentials`). A node started without any accepts any key.
    #[arg(long = "aws-credentials", value_name = "KEYID:SECRET", value_parser = parse_credentials)]
    pub aws_credentials: Option<(String, String)>,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file (written by `rondo backup`).
    pub file: PathBuf,
    /// The data folder to restore into (`rondo dev --data`); it must hold no store yet.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

fn parse_credentials(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), secret.to_owned()))
        }
        _ => Err(
            "expected KEYID:SECRET (an access key id and its secret, separated by a colon)"
                .to_owned(),
        ),
    }
}
