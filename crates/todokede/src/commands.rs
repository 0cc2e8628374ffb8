//! What each command does, on the typed configuration parsed by `cli`.

use anyhow::{Context as _, bail};
use std::process::ExitCode;
use todokede_domain::{Channel, DedupKey};
use todokede_store::{Role, Store};
use todokede_web::{AppState, Limits};

use crate::cli::{Cli, Command, RoleArg, UserCommand};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { listen, max_body_mib, max_attachment_mib } => {
            let store = open(&cli.db).await?;
            let limits = Limits { max_body_bytes: max_body_mib << 20, max_attachment_bytes: max_attachment_mib << 20, ..Limits::default() };
            serve(store, listen, limits).await?;
        }
        Command::User { command: UserCommand::Add { role, email, password_stdin } } => {
            let store = open(&cli.db).await?;
            user_add(&store, role, &email, password_stdin).await?;
        }
        Command::Import { files } => {
            let store = open(&cli.db).await?;
            import(&store, &files).await?;
        }
        Command::Reanalyse => {
            let store = open(&cli.db).await?;
            let ids = store.all_report_ids().await?;
            let mut progress = crate::progress::Progress::new("analysed", ids.len());
            for id in ids {
                crate::analysis_jobs::analyse_report(&store, id).await?;
                progress.inc(1);
            }
            progress.finish();
        }
        Command::Analyze { json, file } => {
            let text = crate::analyze_cmd::read_input(&file)?;
            let analysis = todokede_analyse::analyse(&text);
            if json {
                println!("{}", serde_json::to_string_pretty(&analysis.to_json())?);
            } else {
                crate::analyze_cmd::print_human(&analysis);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(url: &str) -> anyhow::Result<Store> {
    Store::open(url).await.with_context(|| format!("cannot open the store at {}", redact(url)))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

async fn serve(store: Store, listen: std::net::SocketAddr, limits: Limits) -> anyhow::Result<()> {
    let state = AppState::new(store.clone(), limits);
    tokio::spawn(crate::analysis_jobs::run_worker(store));
    let app = todokede_web::router(state);
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    // The first line on stdout is the address: tests and scripts that use port 0 read it.
    println!("listening on http://{addr}");
    tracing::info!(%addr, "todokede serving");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        })
        .await?;
    Ok(())
}

async fn user_add(store: &Store, role: RoleArg, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let email = todokede_domain::EmailAddress::parse(email).map_err(|_| anyhow::anyhow!("`{email}` is not an e-mail address"))?;
    let (password, generated) = if password_stdin {
        let mut s = String::new();
        std::io::stdin().read_line(&mut s)?;
        let s = s.trim_end_matches(['\r', '\n']).to_owned();
        if s.chars().count() < 12 {
            bail!("the password must have at least 12 characters");
        }
        (s, false)
    } else {
        (generate_password(), true)
    };
    let hash = hash_password(&password)?;
    let role = match role {
        RoleArg::Analyst => Role::Analyst,
        RoleArg::Admin => Role::Admin,
    };
    store.create_user(email.as_str(), role, &hash).await.context("cannot create the user")?;
    if generated {
        println!("created {} ({}); one-time password: {password}", email.as_str(), role.key());
    } else {
        println!("created {} ({})", email.as_str(), role.key());
    }
    Ok(())
}

fn generate_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// argon2id with the crate's defaults (19 MiB, 2 iterations: OWASP's minimum).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?.to_string())
}

/// `todokede import`: each file holds one report object or an array of them. The file's path
/// and position form the dedup key, so importing the same file twice stores nothing twice.
async fn import(store: &Store, files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut subs = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
        let items = match value {
            serde_json::Value::Array(a) => a,
            v => vec![v],
        };
        for (i, item) in items.iter().enumerate() {
            let json = serde_json::to_vec(item)?;
            let key = DedupKey::ContentHash(format!("import:{}", todokede_domain::RawInput { content_type: String::new(), bytes: json.clone() }.sha256_hex()));
            let sub = todokede_web::api::submission_from_json(&json, vec![], Channel::Import, Some(key))
                .map_err(|e| anyhow::anyhow!("{} item {}: {}", path.display(), i + 1, e.message))?;
            subs.push(sub);
        }
    }
    let total = subs.len();
    let mut done = 0;
    for chunk in subs.chunks(200) {
        let results = store.ingest_batch(chunk).await?;
        for r in results {
            let r = r.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}\t{}", r.tracking_number, if r.duplicate { "already imported" } else { "imported" });
        }
        done += chunk.len();
        if total > 200 {
            eprintln!("imported {done}/{total}");
        }
    }
    Ok(())
}
