//! The command line contract (ARCHITECTURE.md §CLI). Scripts and tests rely on it.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default embedded store: a SQLite file under ./todokede-data.
pub const DEFAULT_DB: &str = "sqlite://./todokede-data/todokede.db";

#[derive(Parser, Debug)]
#[command(
    name = "todokede",
    version,
    about = "todokede (届出): receive, analyse and publish reports (届出) of computer-virus infections and unauthorized access"
)]
pub struct Cli {
    /// Database URL: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "TODOKEDE_DATABASE_URL", default_value = DEFAULT_DB)]
    pub db: String,
    /// Log lines on standard error: text (colours only on a terminal) or json (one object per
    /// line: timestamp, level, target, message and the fields), for a log collector.
    #[arg(long, global = true, value_enum, default_value = "text", env = "TODOKEDE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// A file holding the key (64 hex digits, `openssl rand -hex 32`) that seals analysts' TOTP
    /// seeds in the database; every process needs the same one. Or TODOKEDE_TOTP_KEY (the key
    /// itself). SQLite without either: DB.key beside the database, made on first use.
    #[arg(long, global = true, env = "TODOKEDE_TOTP_KEY_FILE", value_name = "FILE")]
    pub totp_key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web UI and JSON API (and, with --smtp, send queued mail).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "TODOKEDE_LISTEN")]
        listen: SocketAddr,
        /// SMTP submission URL for outgoing mail: smtp://host:25, smtp://user:pass@host:587?tls=required,
        /// smtps://user:pass@host:465. Without it, mail stays queued.
        #[arg(long, env = "TODOKEDE_SMTP_URL")]
        smtp: Option<String>,
        #[command(flatten)]
        mail: MailArgs,
        /// Largest request body accepted, in MiB (attachments included).
        #[arg(long, default_value_t = 32)]
        max_body_mib: usize,
        /// Largest single attachment accepted, in MiB.
        #[arg(long, default_value_t = 25)]
        max_attachment_mib: usize,
        /// Requests to the reporter API (/api/v1/reports…) per client address in 10 minutes,
        /// counted by all processes on the database together; more get 429. 0: no limit.
        #[arg(long, default_value_t = todokede_app::accounts::API_PER_ADDRESS)]
        api_limit: u32,
        #[command(flatten)]
        outbox: OutboxArgs,
        /// A reverse proxy (address or CIDR block, repeatable) whose X-Forwarded-For names the
        /// client. Without one, limits key on the socket's peer address and the header is ignored.
        #[arg(long, value_delimiter = ',')]
        trusted_proxy: Vec<String>,
        #[command(flatten)]
        http: HttpArgs,
        /// `/metrics` then needs `Authorization: Bearer TOKEN` (from anywhere). Without a token
        /// it answers only clients on this host that did not come through a proxy.
        #[arg(long, env = "TODOKEDE_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// How long a claimed analysis job is no other process's: the jobs of a process that
        /// crashed wait this long. Longer than the slowest analysis.
        #[arg(long, default_value = "5m", value_parser = duration)]
        job_lease: std::time::Duration,
    },
    /// Copy an SQLite store online into a new file (consistent while writes go on: VACUUM
    /// INTO), then check the copy (integrity_check, foreign keys). PostgreSQL: use pg_dump
    /// (README, "Operations").
    Backup {
        /// The new file; it must not exist.
        #[arg(short = 'o', long = "to", visible_alias = "output", value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the SQLite store at --db by a backup, after checking the backup (integrity,
    /// foreign keys, migrations). Stop every process using the store first.
    Restore {
        /// The backup file (`todokede backup`).
        #[arg(value_name = "FILE", required_unless_present = "from_file", conflicts_with = "from_file")]
        from: Option<PathBuf>,
        /// The same, as a flag.
        #[arg(long = "from", value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// Replace an existing store (otherwise restore only into a new --db).
        #[arg(long)]
        replace: bool,
    },
    /// Manage analyst and admin accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens of analysts' scripts (`Authorization: Bearer tdk_…` on /api/v1/analyst).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Approve a report for sharing (STIX exports) under a TLP 2.0 level, or withdraw it.
    Share {
        tracking_number: String,
        #[arg(long = "as")]
        analyst: String,
        /// clear, green, amber, amber+strict or red.
        #[arg(long, required_unless_present = "withdraw")]
        tlp: Option<String>,
        #[arg(long, conflicts_with = "tlp")]
        withdraw: bool,
    },
    /// Export approved, anonymised reports for CSIRTs: `todokede export stix --period 2019H2`
    /// (or `--format stix`); `misp`: MISP event JSON (one event per incident). Only reports
    /// approved with `share` (at most --max-tlp) leave. `--format csv --period P`: the period's
    /// reports as the queue lists them (for Excel).
    Export {
        /// stix, misp, or csv (with --period)
        #[arg(value_name = "FORMAT", required_unless_present = "format_flag")]
        format: Option<String>,
        #[arg(long = "format", value_name = "FORMAT", conflicts_with = "format")]
        format_flag: Option<String>,
        #[arg(long, conflicts_with_all = ["incident", "period", "all"], required_unless_present_any = ["incident", "period", "all"])]
        report: Option<String>,
        /// The incident (reports linked by analysts) a report belongs to.
        #[arg(long, conflicts_with_all = ["period", "all"])]
        incident: Option<String>,
        /// Reports received in this period (2019H2, 2019, 2019-08, A..B).
        #[arg(long, conflicts_with = "all")]
        period: Option<String>,
        /// Every approved report: the objects the TAXII server serves (/taxii2/).
        #[arg(long)]
        all: bool,
        /// The most restrictive TLP exported (red must be asked for).
        #[arg(long, default_value = "amber+strict")]
        max_tlp: String,
        /// The reporting point's name (the STIX identity).
        #[arg(long, default_value = todokede_app::exchange::DEFAULT_PUBLISHER)]
        publisher: String,
        /// Where to write (standard output when absent).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Write the static MISP feed (manifest.json, one event per incident, hashes.csv) of the
    /// reports approved for sharing; incremental: only changed events are rewritten, events no
    /// longer shared are removed.
    Feed {
        /// misp
        format: String,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "amber+strict")]
        max_tlp: String,
        #[arg(long, default_value = todokede_app::exchange::DEFAULT_PUBLISHER)]
        publisher: String,
    },
    /// Import reports (届出): report JSON (one object or an array per file) or .eml messages;
    /// with `--format veris`, VERIS incident records (schema 1.3.x / 1.4.x, `.json` or `.JSON`,
    /// files or directories of them), each checked against its schema.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// report: report JSON and .eml (the default); veris: VERIS incident records.
        #[arg(long, value_enum, default_value = "report")]
        format: ImportFormat,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Receive one RFC 5322 message on standard input (an MTA pipe transport) and print its
    /// tracking number. Exit 0 when stored; 75 (EX_TEMPFAIL: the MTA retries) on any fault.
    Mailgate {
        #[command(flatten)]
        mail: MailArgs,
        /// Largest message read, in MiB; a longer one is stored truncated and flagged.
        #[arg(long, default_value_t = 64)]
        max_message_mib: usize,
        /// Poll an IMAP mailbox over TLS instead of reading stdin: imaps://USER@HOST[:993][/MAILBOX]
        /// (password in the URL or TODOKEDE_IMAP_PASSWORD).
        #[arg(long)]
        imap: Option<String>,
        #[arg(long, env = "TODOKEDE_IMAP_PASSWORD", hide_env_values = true)]
        imap_password: Option<String>,
        /// Extra CA certificate(s), PEM, to trust for the IMAP server.
        #[arg(long)]
        imap_ca: Option<PathBuf>,
        /// Move stored messages to this folder (otherwise they stay, flagged $TodokedeStored).
        #[arg(long)]
        imap_done_folder: Option<String>,
        /// Seconds between polls.
        #[arg(long, default_value_t = 60)]
        imap_interval: u64,
        /// Poll once and exit.
        #[arg(long)]
        imap_once: bool,
    },
    /// Analyse evidence logs into findings with their proving lines: sshd/auth.log, web access
    /// logs (combined/common/IIS), application login logs, mail server logs, Windows .evtx;
    /// gzip-compressed files too.
    Evidence {
        #[arg(long)]
        json: bool,
        /// Log kind; auto detects it from the content.
        #[arg(long, default_value = "auto")]
        kind: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Confirm the automatic classification of a report as an analyst, overriding any
    /// dimension given (comma-separated keys). Overrides are kept and counted.
    Classify {
        /// One or more tracking numbers; `-` reads them from standard input (the first word of
        /// each line, so `todokede import … | todokede classify - --as …` works).
        #[arg(required = true)]
        tracking_numbers: Vec<String>,
        #[arg(long = "as")]
        analyst: String,
        /// 被害原因, primary first, e.g. missing_access_control,weak_credentials
        #[arg(long)]
        causes: Option<String>,
        /// 被害内容
        #[arg(long)]
        damages: Option<String>,
        /// 攻撃行為
        #[arg(long)]
        attack_types: Option<String>,
        /// ATT&CK technique IDs
        #[arg(long)]
        techniques: Option<String>,
        /// 被害の有無: yes, no or unknown
        #[arg(long)]
        has_damage: Option<String>,
        /// A JSON file of classifications analysts already gave, keyed by the reporter's
        /// reference (as fixtures/seeds/expected.json labels the seed cases): a report named in
        /// it is confirmed with those labels instead of the automatic ones (the flags above
        /// still win); the others as analysed.
        #[arg(long)]
        labels: Option<std::path::PathBuf>,
    },
    /// Send a message to a report's reporter as an analyst (on the timeline, and by mail).
    Reply {
        tracking_number: String,
        /// The analyst's account.
        #[arg(long = "as")]
        analyst: String,
        /// The message text: a file, or - for standard input.
        file: String,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Run the text analysis again over every stored report (after an analyser update).
    Reanalyse,
    /// Search reports: words (Japanese substrings included, all must occur) or an indicator —
    /// an IP address, a CIDR range, a domain (with its subdomains), a hash, an e-mail address, a URL.
    Search {
        /// Several words: all must occur.
        #[arg(required = true)]
        query: Vec<String>,
        /// Received in this period (2019H2, 2019, 2019-08, 2019-07-01..2019-12-31).
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        reporter_kind: Option<String>,
        /// Primary cause, e.g. missing_access_control.
        #[arg(long)]
        category: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// 届出状況: statistics of a period (2019H2, 2019, 2019Q3, 2019-08, 2019-07-01..2019-12-31)
    /// from analyst-confirmed classifications, per incident, small cells suppressed.
    Stats {
        #[arg(long)]
        period: String,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
        /// Counts below this are shown as "<N".
        #[arg(long, default_value_t = 3)]
        threshold: u64,
    },
    /// The settings admins change at run time: list or set (one_time_password_hours 1..720,
    /// four_eyes_publication on|off, the contact points the half-year report prints).
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Analysts' watch and warning lists, imported from STIX 2.1 bundles and MISP events or
    /// feeds: a report naming a watch-listed value gets a hit; a warning-listed value links no
    /// reports.
    Watchlist {
        #[command(subcommand)]
        command: WatchlistCommand,
    },
    /// The half-year 届出事例 report: draft, edit, review, approve.
    Publication {
        #[command(subcommand)]
        command: PublicationCommand,
    },
    /// Render a period's approved half-year report (or, with --draft, the latest draft).
    Report {
        #[arg(long)]
        period: String,
        /// html, pdf or md
        #[arg(long, default_value = "html")]
        format: String,
        #[arg(short = 'o', long)]
        output: std::path::PathBuf,
        #[arg(long)]
        draft: bool,
    },
    /// Analyse a text: indicators, 被害原因/被害内容/攻撃行為 with evidence, ATT&CK, 着目点.
    /// (`analyze` is accepted as well: the project spells it "analyse", docs/STYLE.md.)
    #[command(alias = "analyze")]
    Analyse {
        /// Print the stable JSON schema instead of the human-readable summary.
        #[arg(long)]
        json: bool,
        /// A text file, or - for standard input.
        file: String,
        /// A text model file (from `todokede train`) instead of the shipped one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Train the text model: the corpus (fixtures/corpus), the seed cases, the train and dev
    /// splits of ../shared/data/incident_texts when it is there, and with --from-store the reports an
    /// analyst confirmed. Deterministic: the same inputs give the same file.
    Train {
        /// Where to write the model (the shipped one is crates/todokede-analyse/data/model.tsv).
        #[arg(short, long, required_unless_present = "cv")]
        output: Option<PathBuf>,
        /// Write no model: print the figures of a grouped K-fold cross-validation of the
        /// training set instead (each fold classified by a model trained on the others) — the
        /// honest way to compare settings without touching the test split.
        #[arg(long, value_name = "K")]
        cv: Option<usize>,
        /// Training settings other than the defaults, e.g. `epochs=40,l2=1e-4`
        /// (epochs, lr, l2, prune, max_pos, min_df).
        #[arg(long, default_value = "")]
        settings: String,
        /// With --cv: also list the cases whose primary cause was wrong.
        #[arg(long, requires = "cv")]
        verbose: bool,
        /// Also learn from the analysts' confirmed classifications in the database.
        #[arg(long)]
        from_store: bool,
        #[arg(long, default_value = "fixtures/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value = "fixtures/seeds")]
        seeds: PathBuf,
        #[arg(long, default_value = "../shared/data/incident_texts/cases.jsonl")]
        incident_texts: PathBuf,
    },
    /// Measure the text classification on labelled files (corpus .jsonl, or seed .json files):
    /// precision, recall, top-1/top-3 primary cause, 被害の有無, confusion — Japanese and English apart.
    Eval {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only the cases of this split of the corpus split file (train, dev, test).
        #[arg(long)]
        split: Option<String>,
        #[arg(long, default_value = "fixtures/corpus/split.json")]
        split_file: PathBuf,
        /// A text model file instead of the shipped one.
        #[arg(long)]
        model: Option<PathBuf>,
        /// List every wrong primary cause.
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PublicationCommand {
    /// Generate a new draft version from the period's confirmed reports.
    Draft {
        #[arg(long)]
        period: String,
        #[arg(long = "as")]
        analyst: String,
        /// A case with its own chapter: TRACKING-NUMBER=TITLE (repeatable, in order).
        #[arg(long)]
        feature: Vec<String>,
        /// A trend key for a 1-N chapter, e.g. damage.data_destruction_extortion (default: the
        /// most significant surge).
        #[arg(long)]
        notable: Vec<String>,
        /// A value to publish unchanged (an attacker's public indicator).
        #[arg(long)]
        keep: Vec<String>,
        #[arg(long, default_value_t = 3)]
        threshold: u64,
    },
    /// Apply edits from a JSON object {"path": "new text"} (paths as `review` lists them).
    Edit {
        #[arg(long)]
        period: String,
        #[arg(long = "as")]
        analyst: String,
        file: std::path::PathBuf,
    },
    /// List the latest version's texts with their paths and every anonymiser replacement.
    Review {
        #[arg(long)]
        period: String,
    },
    /// Approve a version for publication.
    Approve {
        #[arg(long)]
        period: String,
        #[arg(long)]
        version: i64,
        #[arg(long = "as")]
        analyst: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SettingsCommand {
    /// Print every setting with its value (or "(not set)").
    List,
    /// Set a setting; an empty VALUE removes it.
    Set {
        key: String,
        value: String,
        /// The admin or analyst making the change (audited).
        #[arg(long = "as")]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum WatchlistCommand {
    /// Import files into a list (created if new): a STIX 2.1 bundle, a MISP event, a list of
    /// MISP attributes, or a static MISP feed directory (manifest.json). Re-importing a file
    /// replaces what it gave before; what cannot be matched is listed on stderr.
    Import {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: WatchlistKindArg,
        /// stix or misp; by default told apart by the content.
        #[arg(long)]
        format: Option<String>,
        /// What the list is (shown to analysts).
        #[arg(long)]
        description: Option<String>,
        /// The TLP 2.0 level the list came under (clear, green, amber, amber+strict, red).
        #[arg(long)]
        tlp: Option<String>,
        /// The analyst importing (audited).
        #[arg(long = "as")]
        by: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Every list: name, kind, entries, sources, reports hit, last import.
    List,
    /// A list and its entries.
    Show {
        name: String,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Remove a list with its entries and hits.
    Remove {
        name: String,
        #[arg(long = "as")]
        by: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum WatchlistKindArg {
    Watch,
    Warning,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Prints a one-time password (it expires — the setting
    /// one_time_password_hours, 72 h by default — and must be changed at the first login)
    /// unless --password-stdin is given.
    Add {
        #[arg(long, value_enum)]
        role: RoleArg,
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (read from standard input; not echoed on a terminal).
    Passwd { email: String },
    /// Issue a new one-time password (printed once; every session of the account ends).
    Reset {
        email: String,
        /// Also turn the second factor off and drop the recovery codes (a lost phone).
        #[arg(long)]
        totp: bool,
    },
    /// Disable an account (its sessions end); --enable undoes it.
    Disable {
        email: String,
        #[arg(long)]
        enable: bool,
    },
    /// Every account: role, state, password, second factor.
    List,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    Report,
    Veris,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for an account; prints it once (only its hash is kept).
    Create {
        /// The account the token acts as.
        #[arg(long = "as")]
        analyst: String,
        /// read, write (includes read), export; comma-separated or repeated.
        #[arg(long, required = true, value_delimiter = ',')]
        scope: Vec<String>,
        /// Lifetime (e.g. 30d, 12h; at most 366d).
        #[arg(long, default_value = "90d", value_parser = duration)]
        expires: std::time::Duration,
        /// A label to tell tokens apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens (of one account with --as): id, prefix, scopes, expiry, last use, state.
    List {
        #[arg(long = "as")]
        analyst: Option<String>,
    },
    /// Revoke a token by its id (from `token list`).
    Revoke { id: i64 },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Analyst,
    Admin,
}

/// Mail settings shared by the commands that receive or send mail.
#[derive(clap::Args, Debug, Clone)]
pub struct MailArgs {
    /// Sender address of acknowledgements and replies.
    #[arg(long, env = "TODOKEDE_MAIL_FROM", default_value = "todokede@localhost.localdomain")]
    pub mail_from: String,
    /// Public base URL of the web UI, for links in mail.
    #[arg(long, env = "TODOKEDE_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Largest attachment extracted from a message, in MiB (larger ones stay in the raw message).
    #[arg(long, default_value_t = 25)]
    pub mail_max_attachment_mib: usize,
}

/// How queued mail is retried (durations as 500ms, 30s, 10m, 1h, 5d).
#[derive(clap::Args, Debug, Clone)]
pub struct OutboxArgs {
    /// The wait after a mail's first failed send; doubled (with jitter) after each further one.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub mail_retry_min: std::time::Duration,
    /// The longest wait between two tries of one mail.
    #[arg(long, default_value = "1h", value_parser = duration)]
    pub mail_retry_max: std::time::Duration,
    /// A mail still not sent this long after it was queued is marked failed: listed for admins
    /// (/admin/mail), counted and audited — never dropped silently.
    #[arg(long, default_value = "5d", value_parser = duration)]
    pub mail_give_up_after: std::time::Duration,
    /// How long the plaintext reporter secret is kept so a retry of the same submission (same
    /// Idempotency-Key or form id) can be answered with it; then only the tracking number.
    #[arg(long, default_value = "1d", value_parser = duration)]
    pub secret_retention: std::time::Duration,
}

/// A duration: a number and a unit (ms, s, m, h, d).
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("`{s}`: expected a number and a unit (ms, s, m, h, d)"))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m, h or d")),
    };
    Ok(std::time::Duration::from_millis(n.saturating_mul(ms)))
}

/// Connection limits of the HTTP server (durations as 500ms, 30s, 10m).
#[derive(clap::Args, Debug, Clone)]
pub struct HttpArgs {
    /// A request's head (request line and headers) must arrive within this, or the connection
    /// is closed.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub header_timeout: std::time::Duration,
    /// A request body that sends nothing for this long fails (408) and its connection closes.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub body_timeout: std::time::Duration,
    /// A connection with no traffic for this long is closed (between requests or in one).
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub idle_timeout: std::time::Duration,
    /// At most this many connections at once; one more is closed at once.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// On SIGTERM/SIGINT: no new connections; requests in flight and the running job get this
    /// long to finish, then the process exits (0).
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub drain_timeout: std::time::Duration,
}
