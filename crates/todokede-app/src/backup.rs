//! `todokede backup` and `todokede restore` for the embedded SQLite store. A backup is taken
//! online: `VACUUM INTO` copies one read snapshot (in WAL mode writers carry on meanwhile, so
//! every report acknowledged before the copy began is in it, and none half), into a file beside
//! the target, which is then opened and checked (`integrity_check`, foreign keys, the store's
//! own counts) before it gets its name — a backup that exists is one that passed. A restore
//! checks the backup the same way in a copy next to the store (bringing an older backup's
//! schema up to date), and only then puts it in place of the store, removing the old store's
//! WAL first (an old WAL beside a new file would be replayed into it). PostgreSQL is backed up
//! with its own tools (README, "Operations").
//!
//! The key that seals the analysts' TOTP seeds is not in the database ([`todokede_store::seal`]):
//! a backup writes it beside the copy as `FILE.key` (mode 0600), and a restore puts the
//! backup's key (or, without one, keeps the store's own) beside the restored store.

use crate::AppError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use todokede_store::Store;
use todokede_store::seal::SealKey;

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Backup {
    pub reports: i64,
    pub bytes: u64,
    pub took: Duration,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct Restored {
    pub reports: i64,
}

/// A working name next to `path` (same directory, so the final rename is atomic).
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "todokede.db".into());
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// SQLite's companions of a database file.
fn companions(path: &Path) -> [PathBuf; 2] {
    let s = path.as_os_str().to_string_lossy();
    [PathBuf::from(format!("{s}-wal")), PathBuf::from(format!("{s}-shm"))]
}

fn remove_all(path: &Path) {
    let _ = std::fs::remove_file(path);
    for c in companions(path) {
        let _ = std::fs::remove_file(c);
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::Invalid(format!("{what} {}: {e}", path.display()))
}

/// Open the SQLite database at `path` with `key`, check it and close it again; its report count.
async fn checked(path: &Path, key: SealKey) -> Result<i64, AppError> {
    let url = format!("sqlite://{}", path.display());
    let store = Store::open_with(&url, Some(key)).await?;
    let check = store.check_integrity().await;
    store.close().await?;
    let check = check?;
    if !check.problems.is_empty() {
        return Err(AppError::Invalid(format!("the copy is not sound: {}", check.problems.join("; "))));
    }
    Ok(check.reports)
}

/// Copy the store into `to` (which must not exist) and check the copy.
pub async fn backup(store: &Store, to: &Path) -> Result<Backup, AppError> {
    let start = Instant::now();
    if to.exists() {
        return Err(AppError::Invalid(format!("{} exists; a backup never overwrites a file", to.display())));
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(AppError::Invalid(format!("no directory {}", dir.display())));
    }
    let key_file = SealKey::file_beside(to);
    if key_file.exists() {
        return Err(AppError::Invalid(format!("{} exists; a backup never overwrites a file", key_file.display())));
    }
    let key = store.seal_key();
    let partial = beside(to, "partial");
    remove_all(&partial);
    let result = async {
        store.backup_into(&partial).await?;
        let reports = checked(&partial, key.clone().unwrap_or_else(SealKey::generate)).await?;
        for c in companions(&partial) {
            let _ = std::fs::remove_file(c);
        }
        if let Some(key) = &key {
            key.write_new(&key_file).map_err(|e| io("cannot write the key", &key_file, e))?;
        }
        std::fs::rename(&partial, to).map_err(|e| io("cannot name the backup", to, e))?;
        let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
        Ok(Backup { reports, bytes, took: start.elapsed() })
    }
    .await;
    if result.is_err() {
        remove_all(&partial);
    }
    result
}

/// Put the backup `from` in place of the SQLite store at `target` after checking it. An
/// existing store is replaced only with `replace` (every process using it must be stopped).
pub async fn restore(from: &Path, target: &Path, replace: bool) -> Result<Restored, AppError> {
    if !from.is_file() {
        return Err(AppError::Invalid(format!("no backup file {}", from.display())));
    }
    if target.exists() && !replace {
        return Err(AppError::Invalid(format!(
            "a store exists at {}; stop every process using it, then add --replace",
            target.display()
        )));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    }
    // The backup's own key, else the store's (a restore on the same machine), else a new one
    // (second factors sealed under a lost key then need an admin's reset).
    let (backup_key, target_key) = (SealKey::file_beside(from), SealKey::file_beside(target));
    let key = if backup_key.exists() {
        Some(SealKey::from_file(&backup_key)?)
    } else if target_key.exists() {
        Some(SealKey::from_file(&target_key)?)
    } else {
        None
    };
    let work = beside(target, "restore");
    remove_all(&work);
    let result = async {
        std::fs::copy(from, &work).map_err(|e| io("cannot copy the backup to", &work, e))?;
        let reports = checked(&work, key.clone().unwrap_or_else(SealKey::generate)).await?;
        for c in companions(&work) {
            let _ = std::fs::remove_file(c);
        }
        // The old store's WAL and index go first: beside the new file they would be replayed.
        for c in companions(target) {
            match std::fs::remove_file(&c) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot remove", &c, e)),
            }
        }
        if backup_key.exists() {
            let key = key.as_ref().expect("read above");
            let new_key = beside(target, "key");
            let _ = std::fs::remove_file(&new_key);
            key.write_new(&new_key).map_err(|e| io("cannot write the key", &new_key, e))?;
            std::fs::rename(&new_key, &target_key).map_err(|e| io("cannot put the key in place at", &target_key, e))?;
        }
        std::fs::rename(&work, target).map_err(|e| io("cannot put the backup in place at", target, e))?;
        Ok(Restored { reports })
    }
    .await;
    if result.is_err() {
        remove_all(&work);
    }
    result
}
