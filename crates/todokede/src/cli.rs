//! The command line contract (ARCHITECTURE.md §CLI). Scripts and tests rely on it.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default embedded store: a SQLite file under ./todokede-data.
pub const DEFAULT_DB: &str = "sqlite://./todokede-data/todokede.db";

#[derive(Parser, Debug)]
#[command(name = "todokede", version, about = "todokede (届出): receive, analyse and publish reports (届出) of computer-virus infections and unauthorized access")]
pub struct Cli {
    /// Database URL: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "TODOKEDE_DATABASE_URL", default_value = DEFAULT_DB)]
    pub db: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web UI and JSON API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "TODOKEDE_LISTEN")]
        listen: SocketAddr,
        /// Largest request body accepted, in MiB (attachments included).
        #[arg(long, default_value_t = 32)]
        max_body_mib: usize,
        /// Largest single attachment accepted, in MiB.
        #[arg(long, default_value_t = 25)]
        max_attachment_mib: usize,
    },
    /// Manage analyst and admin accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import reports (届出) from JSON files: one report object, or an array of them, per file.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the text analysis again over every stored report (after an analyser update).
    Reanalyse,
    /// Analyse a text: indicators, 被害原因/被害内容/攻撃行為 with evidence, ATT&CK, 着目点.
    Analyze {
        /// Print the stable JSON schema instead of the human-readable summary.
        #[arg(long)]
        json: bool,
        /// A text file, or - for standard input.
        file: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Prints a one-time password unless --password-stdin is given.
    Add {
        #[arg(long, value_enum)]
        role: RoleArg,
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Analyst,
    Admin,
}
