//! A node's data folder and backups: where the store lives in it, and restoring a backup there.
//!
//! The format, its reader and the restore itself are `store::backup`'s
//! (`docs/design/012-backup.md`); the node adds what it alone knows, the data folder's layout.

use std::path::{Path, PathBuf};

pub use store::backup::{BackupError, Summary, verify};

/// The folder of the store inside a node's data folder.
pub fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("store")
}

/// Restores the backup file `backup` as the store of the data folder `data_dir`, which must hold
/// no store yet (`store::backup::restore`: the file is verified whole before anything is
/// written, and the store appears only once complete). No node may use `data_dir` meanwhile.
pub fn restore(backup: &Path, data_dir: &Path) -> Result<Summary, BackupError> {
    store::backup::restore(backup, &store_dir(data_dir))
}
