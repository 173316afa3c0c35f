//! Where the data lives: flags shared by every command that opens the ledger.

use std::path::PathBuf;

/// The SQLite file's name inside the data directory.
pub const SQLITE_FILE_NAME: &str = "meterai.sqlite3";

/// Storage location flags.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// Directory for the embedded database and other local data.
    #[arg(long, global = true, env = "METERAI_DATA_DIR", default_value = "./meterai-data")]
    pub data_dir: PathBuf,
    /// A `postgres://` URL to share one database between nodes (default: SQLite in the data
    /// directory).
    #[arg(long, global = true, env = "METERAI_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StorageArgs {
    /// What `Store::open` takes: the URL if given, else the SQLite file in the data directory
    /// (the directory is created).
    pub fn location(&self) -> std::io::Result<String> {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => Ok(url.clone()),
            _ => {
                std::fs::create_dir_all(&self.data_dir)?;
                Ok(self.data_dir.join(SQLITE_FILE_NAME).display().to_string())
            }
        }
    }

    /// The storage flags to repeat in another command so it opens the same database.
    pub fn flags_text(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => " --database-url ...".to_string(),
            _ => format!(" --data-dir {}", self.data_dir.display()),
        }
    }
}
