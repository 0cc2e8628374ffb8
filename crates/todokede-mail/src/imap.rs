//! IMAP intake over TLS: fetch the messages not yet stored, hand them to the caller to store,
//! and only after the caller's commit flag them (and move them, when configured). A crash in
//! between re-fetches them next time; Message-ID dedup makes that harmless.

use async_imap::Client;
use futures_util::TryStreamExt as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The keyword set on stored messages: independent of \Seen, which a person reading the
/// mailbox may set before todokede has stored the message.
pub const STORED_KEYWORD: &str = "$TodokedeStored";

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub mailbox: String,
    /// Move stored messages here (created if missing); otherwise they stay, flagged.
    pub done_folder: Option<String>,
    /// Extra trusted CA certificates (PEM), e.g. for a server with a private CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl ImapConfig {
    /// `imaps://USER[:PASSWORD]@HOST[:993][/MAILBOX]`; the password may also come separately.
    pub fn from_url(url: &str, password: Option<String>) -> Result<ImapConfig, String> {
        let rest = url.strip_prefix("imaps://").ok_or("the IMAP URL must start with imaps:// (TLS is required)")?;
        let (auth, hostpath) = rest.rsplit_once('@').ok_or("the IMAP URL needs a user: imaps://USER@HOST")?;
        let (user, url_password) = match auth.split_once(':') {
            Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
            None => (auth.to_owned(), None),
        };
        let (hostport, mailbox) = hostpath.split_once('/').unwrap_or((hostpath, "INBOX"));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| format!("bad port `{p}`"))?),
            None => (hostport.to_owned(), 993),
        };
        let password =
            password.or(url_password).ok_or("no IMAP password (give it in the URL or TODOKEDE_IMAP_PASSWORD)")?;
        let decode = |s: &str| s.replace("%40", "@").replace("%3A", ":").replace("%2F", "/");
        Ok(ImapConfig {
            host,
            port,
            user: decode(&user),
            password: decode(&password),
            mailbox: if mailbox.is_empty() { "INBOX".into() } else { mailbox.to_owned() },
            done_folder: None,
            ca_file: None,
        })
    }
}

fn tls(cfg: &ImapConfig) -> Result<TlsConnector, String> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &cfg.ca_file {
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))? {
            roots.add(cert.map_err(|e| format!("{}: {e}", path.display()))?).map_err(|e| e.to_string())?;
        }
    }
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One poll: fetch every message without [`STORED_KEYWORD`], call `store` with their raw
/// bytes (it must return only after they are durably stored), then flag/move them.
/// Returns the number of messages handled.
pub async fn poll_once<F, Fut>(cfg: &ImapConfig, store: F) -> Result<usize, String>
where
    F: FnOnce(Vec<Vec<u8>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let tcp = TcpStream::connect((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| format!("connect {}:{}: {e}", cfg.host, cfg.port))?;
    let name = ServerName::try_from(cfg.host.clone()).map_err(|e| e.to_string())?;
    let stream = tls(cfg)?.connect(name, tcp).await.map_err(|e| format!("TLS with {}: {e}", cfg.host))?;
    let mut client = Client::new(stream);
    client.read_response().await.ok_or("no IMAP greeting")?.map_err(|e| e.to_string())?;
    let mut session = client.login(&cfg.user, &cfg.password).await.map_err(|(e, _)| format!("IMAP login: {e}"))?;
    session.select(&cfg.mailbox).await.map_err(|e| format!("select {}: {e}", cfg.mailbox))?;
    let mut uids: Vec<u32> = session
        .uid_search(format!("UNKEYWORD {STORED_KEYWORD}"))
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    uids.sort_unstable();
    if uids.is_empty() {
        let _ = session.logout().await;
        return Ok(0);
    }
    let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let mut fetched: Vec<(u32, Vec<u8>)> = Vec::with_capacity(uids.len());
    {
        let stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await.map_err(|e| e.to_string())?;
        let msgs: Vec<_> = stream.try_collect().await.map_err(|e| e.to_string())?;
        for m in msgs {
            if let (Some(uid), Some(body)) = (m.uid, m.body()) {
                fetched.push((uid, body.to_vec()));
            }
        }
    }
    let n = fetched.len();
    let done: Vec<u32> = fetched.iter().map(|(u, _)| *u).collect();
    store(fetched.into_iter().map(|(_, b)| b).collect()).await?;
    // Committed: now, and only now, mark and move.
    let done_set = done.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    {
        let s = session
            .uid_store(&done_set, format!("+FLAGS ({STORED_KEYWORD} \\Seen)"))
            .await
            .map_err(|e| e.to_string())?;
        let _: Vec<_> = s.try_collect().await.map_err(|e| e.to_string())?;
    }
    if let Some(folder) = &cfg.done_folder {
        let _ = session.create(folder).await; // exists already after the first time
        session.uid_mv(&done_set, folder).await.map_err(|e| format!("move to {folder}: {e}"))?;
    }
    let _ = session.logout().await;
    Ok(n)
}
