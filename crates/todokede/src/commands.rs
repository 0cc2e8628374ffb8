//! What each command does, on the typed configuration parsed by `cli`.

use anyhow::{Context as _, bail};
use std::process::ExitCode;
use todokede_domain::{Channel, ClosedEnum as _, DedupKey};
use todokede_store::{Role, Store};
use todokede_web::Limits;
use todokede_web::serve::{ServeConfig, ServerLimits};

use crate::cli::{
    Cli, Command, MailArgs, PublicationCommand, RoleArg, SettingsCommand, TokenCommand, UserCommand, WatchlistCommand,
};
use todokede_app::mail_flow::Delivery;
use todokede_app::publication;
use todokede_domain::Period;
use todokede_mail::MailConfig;

/// sysexits EX_TEMPFAIL: the MTA keeps the message and retries.
pub const EX_TEMPFAIL: u8 = 75;

fn mail_config(a: &MailArgs) -> anyhow::Result<MailConfig> {
    Ok(MailConfig {
        from: todokede_domain::EmailAddress::parse(&a.mail_from)
            .map_err(|_| anyhow::anyhow!("--mail-from `{}` is not an e-mail address", a.mail_from))?,
        public_url: a.public_url.clone(),
        limits: todokede_mail::MailLimits {
            max_attachment_bytes: a.mail_max_attachment_mib << 20,
            ..Default::default()
        },
    })
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let key = cli.totp_key_file.as_deref().map(todokede_store::seal::SealKey::from_file).transpose()?;
    let _ = TOTP_KEY.set(key);
    match cli.command {
        Command::Serve {
            listen,
            max_body_mib,
            max_attachment_mib,
            api_limit,
            smtp,
            mail,
            outbox,
            trusted_proxy,
            http,
            metrics_token,
            job_lease,
        } => {
            let trusted: Vec<todokede_web::client::Cidr> = trusted_proxy
                .iter()
                .map(|c| c.parse())
                .collect::<Result<_, String>>()
                .map_err(|e| anyhow::anyhow!("--trusted-proxy: {e}"))?;
            let mail = mail_config(&mail)?;
            let smtp = smtp.map(|u| todokede_mail::Smtp::from_url(&u)).transpose().map_err(|e| anyhow::anyhow!(e))?;
            let store = open(&cli.db).await?;
            let cfg = ServeConfig {
                limits: Limits {
                    max_body_bytes: max_body_mib << 20,
                    max_attachment_bytes: max_attachment_mib << 20,
                    body_timeout: http.body_timeout,
                    api_requests: api_limit,
                    ..Limits::default()
                },
                mail,
                trusted_proxies: trusted,
                server: ServerLimits {
                    header_timeout: http.header_timeout,
                    idle_timeout: http.idle_timeout,
                    max_connections: http.max_connections.max(1),
                    drain_timeout: http.drain_timeout,
                },
                smtp,
                outbox: todokede_app::mail_flow::OutboxPolicy {
                    retry_min: outbox.mail_retry_min,
                    retry_max: outbox.mail_retry_max.max(outbox.mail_retry_min),
                    give_up_after: outbox.mail_give_up_after,
                    ..Default::default()
                },
                retention: todokede_app::housekeeping::Retention { secrets: outbox.secret_retention },
                metrics_token: metrics_token.filter(|t| !t.is_empty()),
                job_lease: job_lease.max(std::time::Duration::from_secs(1)),
            };
            serve(store, listen, cfg).await?;
        }
        Command::Mailgate {
            mail,
            imap: Some(url),
            imap_password,
            imap_ca,
            imap_done_folder,
            imap_interval,
            imap_once,
            ..
        } => {
            let cfg = mail_config(&mail)?;
            let mut imap =
                todokede_mail::imap::ImapConfig::from_url(&url, imap_password).map_err(|e| anyhow::anyhow!(e))?;
            imap.ca_file = imap_ca;
            imap.done_folder = imap_done_folder;
            let store = open(&cli.db).await?;
            imap_loop(&store, &cfg, &imap, imap_interval, imap_once).await?;
        }
        Command::Backup { to } => {
            let store = open_existing(&cli.db).await?;
            let b = todokede_app::backup::backup(&store, &to).await?;
            println!(
                "backup\t{}\t{} reports\t{} bytes\t{:.1} s\tintegrity ok",
                to.display(),
                b.reports,
                b.bytes,
                b.took.as_secs_f64()
            );
        }
        Command::Restore { from, from_file, replace } => {
            let from = from.or(from_file).expect("clap requires one");
            let Some(target) = Store::sqlite_file(&cli.db) else {
                bail!("restore writes an SQLite store; for PostgreSQL use pg_restore (README, Operations)");
            };
            let r = todokede_app::backup::restore(&from, &target, replace).await?;
            println!("restored\t{}\t{} reports\tintegrity ok", target.display(), r.reports);
        }
        Command::Mailgate { mail, max_message_mib, imap: None, .. } => {
            return Ok(mailgate(&cli.db, &mail, max_message_mib).await);
        }
        Command::Evidence { json, kind, files } => crate::analyse_cmd::evidence(&files, &kind, json)?,
        Command::Classify {
            tracking_numbers,
            analyst,
            causes,
            damages,
            attack_types,
            techniques,
            has_damage,
            labels,
        } => {
            let store = open_existing(&cli.db).await?;
            let user = store
                .user_by_email(&analyst)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| anyhow::anyhow!("no active analyst {analyst}"))?;
            use todokede_app::classification::{Overrides, confirm, keys};
            let e = |e: todokede_domain::UnknownKey| anyhow::anyhow!("{e}");
            let overrides = Overrides {
                causes: causes.as_deref().map(keys).transpose().map_err(e)?,
                damages: damages.as_deref().map(keys).transpose().map_err(e)?,
                attack_types: attack_types.as_deref().map(keys).transpose().map_err(e)?,
                techniques: techniques
                    .map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()),
                has_damage: match has_damage.as_deref() {
                    None => None,
                    Some("yes") => Some(Some(true)),
                    Some("no") => Some(Some(false)),
                    Some("unknown") => Some(None),
                    Some(o) => bail!("--has-damage `{o}`: expected yes, no or unknown"),
                },
            };
            let labels = match &labels {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
                    todokede_app::classification::labels_by_reference(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
                None => Default::default(),
            };
            let mut numbers = Vec::new();
            for n in tracking_numbers {
                if n == "-" {
                    let mut input = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
                    numbers.extend(input.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned));
                } else {
                    numbers.push(n);
                }
            }
            for n in &numbers {
                let tn = todokede_domain::TrackingNumber::parse(n).map_err(|e| anyhow::anyhow!("`{n}`: {e}"))?;
                let id = store.report_id_by_tracking(&tn).await?.ok_or_else(|| anyhow::anyhow!("no report {tn}"))?;
                if store.analysis(id).await?.is_none() {
                    todokede_app::analysis::analyse_report(&store, id).await?;
                }
                let reference = store.report(id).await?.and_then(|r| r.content.reporter_reference);
                let labelled = reference.as_deref().and_then(|r| labels.get(r));
                let these = labelled.map_or_else(|| overrides.clone(), |l| l.then(&overrides));
                let (confirmed, overridden) = confirm(&store, id, user.id, &these, None).await?;
                let k = |v: Vec<&str>| v.join(",");
                println!(
                    "{tn}\tcauses={}\tdamages={}\tattack_types={}\ttechniques={}\thas_damage={}",
                    k(confirmed.causes.iter().map(|c| c.key()).collect()),
                    k(confirmed.damages.iter().map(|c| c.key()).collect()),
                    k(confirmed.attack_types.iter().map(|c| c.key()).collect()),
                    confirmed.techniques.join(","),
                    match confirmed.has_damage {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "unknown",
                    }
                );
                let from = match (labelled, reference.as_deref()) {
                    (Some(_), Some(r)) => format!(" (the labels of {r})"),
                    _ => String::new(),
                };
                println!(
                    "overridden: {}",
                    if overridden.is_empty() {
                        match reference.as_deref().filter(|_| labelled.is_some()) {
                            Some(r) => format!("none (the labels of {r} agree with the analysis)"),
                            None => "none (confirmed as analysed)".to_owned(),
                        }
                    } else {
                        format!("{}{from}", overridden.join(", "))
                    }
                );
            }
        }
        Command::Reply { tracking_number, analyst, file, mail } => {
            let cfg = mail_config(&mail)?;
            let store = open_existing(&cli.db).await?;
            let tn = todokede_domain::TrackingNumber::parse(&tracking_number).map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = store.report_id_by_tracking(&tn).await?.ok_or_else(|| anyhow::anyhow!("no report {tn}"))?;
            let user = store
                .user_by_email(&analyst)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| anyhow::anyhow!("no active analyst {analyst}"))?;
            let body = crate::analyse_cmd::read_input(&file)?;
            if body.trim().is_empty() {
                bail!("the message is empty");
            }
            let mailed = todokede_app::replies::reply_to_reporter(&store, &cfg, id, user.id, body.trim(), None).await?;
            println!(
                "{tn}\t{}",
                if mailed {
                    "reply recorded and queued as mail"
                } else {
                    "reply recorded (the reporter gave no address)"
                }
            );
        }
        Command::User { command: UserCommand::Add { role, email, password_stdin } } => {
            let store = open(&cli.db).await?;
            user_add(&store, role, &email, password_stdin).await?;
        }
        Command::User { command } => {
            let store = open_existing(&cli.db).await?;
            user_command(&store, command).await?;
        }
        Command::Settings { command } => {
            let store = open_existing(&cli.db).await?;
            match command {
                SettingsCommand::List => {
                    let settings = todokede_app::settings::load(&store).await?;
                    for (key, value) in settings.pairs() {
                        let value = if value.is_empty() { "(not set)" } else { value.as_str() };
                        match todokede_app::settings::what(key) {
                            Some(what) => println!("{key}\t{value}\t{what}"),
                            None => println!("{key}\t{value}"),
                        }
                    }
                }
                SettingsCommand::Set { key, value, by } => {
                    let user = match by {
                        Some(email) => Some(
                            store
                                .user_by_email(&email)
                                .await?
                                .filter(|u| !u.disabled)
                                .ok_or_else(|| anyhow::anyhow!("no active account {email}"))?
                                .id,
                        ),
                        None => None,
                    };
                    match todokede_app::settings::set(&store, &key, &value, user).await {
                        Ok(_) => {
                            println!("{key} = {}", if value.trim().is_empty() { "(not set)" } else { value.trim() })
                        }
                        Err(todokede_app::AppError::Refused { ja, en }) => bail!("{ja} / {en}"),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Command::Watchlist { command } => {
            let store = open_existing(&cli.db).await?;
            watchlist(&store, command).await?;
        }
        Command::Share { tracking_number, analyst, tlp, withdraw } => {
            let store = open_existing(&cli.db).await?;
            let user = active_analyst(&store, &analyst).await?;
            let tn = todokede_domain::TrackingNumber::parse(&tracking_number)
                .map_err(|_| anyhow::anyhow!("`{tracking_number}` is not a tracking number"))?;
            let id = store.report_id_by_tracking(&tn).await?.ok_or_else(|| anyhow::anyhow!("no report {tn}"))?;
            if withdraw {
                let was = store.withdraw_sharing(id, user.id).await?;
                println!("{tn}\t{}", if was { "no longer shared" } else { "was not shared" });
            } else {
                let tlp = tlp
                    .as_deref()
                    .and_then(todokede_publish::stix::Tlp::parse)
                    .ok_or_else(|| anyhow::anyhow!("--tlp: clear, green, amber, amber+strict or red"))?;
                todokede_app::exchange::approve_sharing(&store, id, tlp, user.id).await?;
                println!("{tn}\tshared as {}", tlp.name());
            }
        }
        Command::Export { format, format_flag, report, incident, period, all, max_tlp, publisher, output } => {
            use todokede_app::exchange::{ExportScope, stix_bundle};
            let format = format.or(format_flag).unwrap_or_default();
            if format == "csv" {
                return export_csv(&cli.db, report.is_some() || incident.is_some(), period, output).await;
            }
            if format != "stix" && format != "misp" {
                bail!("export format `{format}`: stix, misp or csv");
            }
            let tn = |s: &str| {
                todokede_domain::TrackingNumber::parse(s).map_err(|_| anyhow::anyhow!("`{s}` is not a tracking number"))
            };
            let scope = match (report, incident, period) {
                (Some(r), _, _) => ExportScope::Report(tn(&r)?),
                (_, Some(i), _) => ExportScope::Incident(tn(&i)?),
                (_, _, Some(p)) => ExportScope::Period(Period::parse(&p)?),
                _ if all => ExportScope::All,
                _ => bail!("give --report, --incident, --period or --all"),
            };
            let max = todokede_publish::stix::Tlp::parse(&max_tlp)
                .ok_or_else(|| anyhow::anyhow!("--max-tlp: clear, green, amber, amber+strict or red"))?;
            let store = open_existing(&cli.db).await?;
            let exported = if format == "misp" {
                todokede_app::exchange::misp_export(&store, &publisher, &scope, max).await
            } else {
                stix_bundle(&store, &todokede_publish::stix::Publisher { name: publisher }, &scope, max).await
            };
            let bytes = match exported {
                Err(todokede_app::AppError::NotFound) => {
                    bail!("nothing to export: no report in that scope is approved for sharing (`todokede share`)")
                }
                other => other?,
            };
            match output {
                Some(path) => {
                    write_atomically(&path, &bytes)?;
                    eprintln!("{}: {} bytes", path.display(), bytes.len());
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        Command::Feed { format, dir, max_tlp, publisher } => {
            if format != "misp" {
                bail!("feed format `{format}`: only misp");
            }
            let max = todokede_publish::stix::Tlp::parse(&max_tlp)
                .ok_or_else(|| anyhow::anyhow!("--max-tlp: clear, green, amber, amber+strict or red"))?;
            let store = open_existing(&cli.db).await?;
            let feed = todokede_app::exchange::misp_feed(&store, &publisher, max).await?;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let (mut written, mut unchanged, mut removed) = (0, 0, 0);
            for (name, bytes) in &feed {
                let path = dir.join(name);
                if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
                    unchanged += 1;
                } else {
                    write_atomically(&path, bytes)?;
                    written += 1;
                }
            }
            // Events no longer shared (withdrawn, or above --max-tlp) leave the feed.
            for entry in std::fs::read_dir(&dir)? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                let is_event = name.len() == 41 && name.ends_with(".json") && name.as_bytes()[8] == b'-';
                if is_event && !feed.contains_key(&name) {
                    std::fs::remove_file(dir.join(&name))?;
                    removed += 1;
                }
            }
            println!("{} events: {written} files written, {unchanged} unchanged, {removed} removed", feed.len() - 2);
        }
        Command::Token { command } => {
            let store = open_existing(&cli.db).await?;
            token_command(&store, command).await?;
        }
        Command::Import { files, mail, format: crate::cli::ImportFormat::Report } => {
            let cfg = mail_config(&mail)?;
            let store = open(&cli.db).await?;
            import(&store, &cfg, &files).await?;
        }
        Command::Import { files, format: crate::cli::ImportFormat::Veris, .. } => {
            let store = open(&cli.db).await?;
            import_veris(&store, &files).await?;
        }
        Command::Reanalyse => {
            let store = open_existing(&cli.db).await?;
            let ids = store.all_report_ids().await?;
            let mut progress = crate::progress::Progress::new("analysed", ids.len());
            for id in ids {
                todokede_app::analysis::analyse_report(&store, id).await?;
                progress.inc(1);
            }
            progress.finish();
        }
        Command::Search { query, period, state, reporter_kind, category, limit, json } => {
            let store = open_existing(&cli.db).await?;
            search(&store, &query.join(" "), period, state, reporter_kind, category, limit, json).await?;
        }
        Command::Stats { period, json, csv, threshold } => {
            let period = Period::parse(&period)?;
            let store = open_existing(&cli.db).await?;
            let s = publication::statistics(&store, period, threshold).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else if csv {
                print!("{}", todokede_publish::stats::to_csv(&s));
            } else {
                print_statistics(&s);
            }
        }
        Command::Publication { command } => publication_command(&cli.db, command).await?,
        Command::Report { period, format, output, draft } => {
            let period = Period::parse(&period)?;
            let format =
                publication::Format::parse(&format).ok_or_else(|| anyhow::anyhow!("--format: html, pdf or md"))?;
            let store = open_existing(&cli.db).await?;
            let bytes = publication::render(&store, period, format, draft).await?;
            write_atomically(&output, &bytes)?;
            eprintln!("{}: {} bytes", output.display(), bytes.len());
        }
        Command::Analyse { json, file, model } => {
            let text = crate::analyse_cmd::read_input(&file)?;
            let model = crate::model_cmd::load_model(model.as_deref())?;
            let analysis = todokede_analyse::analyse_with(&model, &text);
            if json {
                println!("{}", serde_json::to_string_pretty(&analysis.record())?);
            } else {
                crate::analyse_cmd::print_human(&analysis);
            }
        }
        Command::Train { output, cv, settings, verbose, from_store, corpus, seeds, incident_texts } => {
            let confirmed = if from_store {
                let store = open_existing(&cli.db).await?;
                crate::model_cmd::confirmed_cases(&store).await?
            } else {
                Vec::new()
            };
            crate::model_cmd::train(
                &crate::model_cmd::TrainArgs { corpus, seeds, incident_texts, output, cv, settings, verbose },
                confirmed,
            )?;
        }
        Command::Eval { files, split, split_file, model, verbose } => {
            let model = crate::model_cmd::load_model(model.as_deref())?;
            crate::model_cmd::eval(&files, split.as_deref(), &split_file, &model, verbose)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Open the store, creating an SQLite file that does not exist yet: for the commands that
/// start a system or bring reports into it (`serve`, `mailgate`, `import`, `user add`).
/// `--totp-key-file`, read once at the start of [`run`].
static TOTP_KEY: std::sync::OnceLock<Option<todokede_store::seal::SealKey>> = std::sync::OnceLock::new();

async fn open(url: &str) -> anyhow::Result<Store> {
    let key = TOTP_KEY.get().cloned().flatten();
    Store::open_with(url, key).await.with_context(|| format!("cannot open the store at {}", redact(url)))
}

/// Open an existing store: every other command reads or changes what is there, so a mistyped
/// `--db sqlite:///typo/…` is an error, not a new empty database that shows zeros.
async fn open_existing(url: &str) -> anyhow::Result<Store> {
    if let Some(path) = Store::sqlite_file(url)
        && !path.exists()
    {
        bail!(
            "no database at {} (nothing was created): check --db / TODOKEDE_DATABASE_URL; \
                 `serve`, `import`, `mailgate` and `user add` create a new one",
            path.display()
        );
    }
    open(url).await
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// `todokede serve`: bind, print the address, and run the service (`todokede_web::serve::run`,
/// the one function the tests' `TestApp` runs too) until SIGINT or SIGTERM.
async fn serve(store: Store, listen: std::net::SocketAddr, cfg: ServeConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    // The handlers exist before anyone can know the address: a SIGTERM right after start
    // drains too, instead of killing the process.
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    // The first line on stdout is the address: tests and scripts that use port 0 read it.
    println!("listening on http://{addr}");
    tracing::info!(%addr, "todokede serving");
    todokede_web::serve::run(store, listener, cfg, async move {
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        // A second signal while draining: the operator insists — exit at once (128 + the
        // signal, as a shell reports it). What was committed is kept; an upload not yet
        // stored was never acknowledged.
        tokio::spawn(async move {
            let code = tokio::select! { _ = int.recv() => 130, _ = term.recv() => 143 };
            tracing::warn!(code, "second signal while draining: exiting at once");
            std::process::exit(code);
        });
    })
    .await?;
    Ok(())
}

async fn user_add(store: &Store, role: RoleArg, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let email = todokede_domain::EmailAddress::parse(email)
        .map_err(|_| anyhow::anyhow!("`{email}` is not an e-mail address"))?;
    let role = match role {
        RoleArg::Analyst => Role::Analyst,
        RoleArg::Admin => Role::Admin,
    };
    if password_stdin {
        let password = read_password("password: ")?;
        if password.chars().count() < todokede_app::accounts::lifecycle::MIN_PASSWORD_CHARS {
            bail!(
                "the password must have at least {} characters",
                todokede_app::accounts::lifecycle::MIN_PASSWORD_CHARS
            );
        }
        let hash =
            todokede_app::accounts::hash_password(&password).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
        store.create_user(email.as_str(), role, &hash).await.context("cannot create the user")?;
        println!("created {} ({})", email.as_str(), role.key());
    } else {
        let (_, once) = todokede_app::accounts::lifecycle::create(store, email.as_str(), role, None)
            .await
            .context("cannot create the user")?;
        println!(
            "created {} ({}); one-time password (valid until {}, to be changed at the first login): {}",
            email.as_str(),
            role.key(),
            jst_minutes(once.until),
            once.password
        );
    }
    Ok(())
}

/// A time as analysts read it: JST, to the minute.
fn jst_minutes(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{:04}-{:02}-{:02} {:02}:{:02} JST", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

/// One line from standard input without its line end. On a terminal the prompt goes to stderr
/// and the typing is not echoed.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let mut line = String::new();
    if tty {
        eprint!("{prompt}");
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own; the old state is restored.
        let mut term: libc::termios = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::tcgetattr(0, &mut term) } == 0;
        let quiet = libc::termios { c_lflag: term.c_lflag & !libc::ECHO, ..term };
        if got {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
        }
        let read = stdin.read_line(&mut line);
        if got {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &term) };
        }
        eprintln!();
        read?;
    } else {
        stdin.read_line(&mut line)?;
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `todokede user passwd|reset|disable|list`: the console's side of the account lifecycle
/// (audited without a user: the console).
async fn user_command(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    use todokede_app::accounts::lifecycle;
    let find = |email: String| async move {
        store.user_by_email(&email).await?.ok_or_else(|| anyhow::anyhow!("no account {email}"))
    };
    match command {
        UserCommand::Add { .. } => unreachable!("handled with the creating open"),
        UserCommand::Passwd { email } => {
            let user = find(email).await?;
            let password = read_password("new password: ")?;
            lifecycle::set_password(store, &user, &password, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {} set; its sessions ended", user.email);
        }
        UserCommand::Reset { email, totp } => {
            let user = find(email).await?;
            let once = lifecycle::reset_password(store, user.id, None).await?;
            if totp {
                lifecycle::reset_second_factor(store, user.id, None).await?;
            }
            println!(
                "{}: new one-time password (valid until {}, to be changed at the first login){}: {}",
                user.email,
                jst_minutes(once.until),
                if totp { "; two-step verification off" } else { "" },
                once.password
            );
        }
        UserCommand::Disable { email, enable } => {
            let user = find(email).await?;
            lifecycle::set_disabled(store, user.id, !enable, None).await?;
            println!("{} {}", user.email, if enable { "enabled" } else { "disabled; its sessions ended" });
        }
        UserCommand::List => {
            let now = time::OffsetDateTime::now_utc();
            let mut rows = vec![["EMAIL", "ROLE", "STATE", "PASSWORD", "TOTP"].map(String::from).to_vec()];
            for u in store.users().await? {
                let totp = store.has_totp(u.id).await?;
                rows.push(vec![
                    u.email.clone(),
                    u.role.key().to_owned(),
                    if u.disabled { "disabled" } else { "active" }.to_owned(),
                    match lifecycle::password_state(&u, now) {
                        lifecycle::PasswordState::Own => "set".to_owned(),
                        lifecycle::PasswordState::OneTime(t) => format!("one-time until {}", jst_minutes(t)),
                        lifecycle::PasswordState::Expired(t) => format!("one-time, expired {}", jst_minutes(t)),
                    },
                    if totp { "on" } else { "off" }.to_owned(),
                ]);
            }
            print_table(&rows);
        }
    }
    Ok(())
}

/// Plain text, columns padded by display width: no colours, in a file or a terminal.
fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| display_width(c)).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| pad_right(c, *w)).collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// `todokede mailgate`: one message from standard input. Never exits with anything but 0 or 75.
async fn mailgate(db: &str, mail: &MailArgs, max_message_mib: usize) -> ExitCode {
    use tokio::io::AsyncReadExt as _;
    let cfg = match mail_config(mail) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}; exit 75 so the MTA retries after the configuration is fixed");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let cap = max_message_mib << 20;
    let mut raw = Vec::new();
    if let Err(e) = tokio::io::stdin().take(cap as u64 + 1).read_to_end(&mut raw).await {
        eprintln!("error: cannot read the message: {e}; exit 75");
        return ExitCode::from(EX_TEMPFAIL);
    }
    if raw.len() > cap {
        // Keep what fits — the text comes first in a message — rather than bounce the report.
        raw.truncate(cap);
        let mut note = format!("X-Todokede-Truncated: message longer than {max_message_mib} MiB, stored truncated\r\n")
            .into_bytes();
        note.extend_from_slice(&raw);
        raw = note;
        // Drain the rest so the MTA sees the whole message consumed.
        let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut tokio::io::sink()).await;
    }
    // Fault injection for the test that proves a panic ends as 75, not as a bounce.
    if std::env::var("TODOKEDE_FAULT_INJECT").as_deref() == Ok("panic") {
        panic!("injected fault");
    }
    let store = match Store::open_with(db, TOTP_KEY.get().cloned().flatten()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: store unavailable ({e}); exit 75 so the MTA retries");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    match todokede_app::mail_flow::deliver(&store, &cfg, raw).await {
        Ok(d) => {
            let what = match &d {
                Delivery::NewReport(_) => "new report",
                Delivery::Duplicate(_) => "already received",
                Delivery::FollowUp(_) => "follow-up",
            };
            println!("{}\t{what}", d.tracking_number());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: not stored ({e}); exit 75 so the MTA retries");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

/// `mailgate --imap`: poll, store (batch path), and only then flag/move on the server.
async fn imap_loop(
    store: &Store,
    cfg: &MailConfig,
    imap: &todokede_mail::imap::ImapConfig,
    interval: u64,
    once: bool,
) -> anyhow::Result<()> {
    loop {
        let result = todokede_mail::imap::poll_once(imap, |raws| async {
            let deliveries =
                todokede_app::mail_flow::deliver_many(store, cfg, raws, |_| {}).await.map_err(|e| e.to_string())?;
            for d in &deliveries {
                let what = match d {
                    Delivery::NewReport(_) => "new report",
                    Delivery::Duplicate(_) => "already received",
                    Delivery::FollowUp(_) => "follow-up",
                };
                println!("{}\t{what}", d.tracking_number());
            }
            Ok(())
        })
        .await;
        match result {
            Ok(n) => tracing::info!(messages = n, "IMAP poll done"),
            Err(e) if once => bail!("IMAP: {e}"),
            Err(e) => tracing::warn!(error = %e, "IMAP poll failed; retrying"),
        }
        if once {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
    }
}

fn looks_like_mail(path: &std::path::Path, bytes: &[u8]) -> bool {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")) {
        return true;
    }
    let head = &bytes[..bytes.len().min(1000)];
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    !head.starts_with(b"{")
        && !head.starts_with(b"[")
        && first
            .iter()
            .position(|b| *b == b':')
            .is_some_and(|p| p > 0 && first[..p].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
}

/// `todokede import`: report JSON files (each one object or an array; its content hash is the
/// dedup key, so importing a file twice stores nothing twice) and .eml messages (the mail
/// batch path: Message-ID dedup, threading, acknowledgements).
async fn import(store: &Store, cfg: &MailConfig, files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut subs = Vec::new();
    let mut mails = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if looks_like_mail(path, &bytes) {
            mails.push((path.clone(), bytes));
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
        let items = match value {
            serde_json::Value::Array(a) => a,
            // An object that is no report at all (the seeds' expected.json beside them, a
            // config file a glob picked up): skipped, and said so.
            serde_json::Value::Object(o) if !o.contains_key("form") && !o.contains_key("description") => {
                eprintln!("{}: skipped, not a report (no `form` or `description`)", path.display());
                continue;
            }
            v => vec![v],
        };
        for (i, item) in items.iter().enumerate() {
            let json = serde_json::to_vec(item)?;
            let mut sub = todokede_app::intake::submission_from_json(&json, vec![], Channel::Import, None)
                .map_err(|e| anyhow::anyhow!("{} item {}: {}", path.display(), i + 1, e))?;
            sub.dedup = Some(DedupKey::ContentHash(format!("import:{}", sub.raw.sha256_hex())));
            subs.push(sub);
        }
    }
    let mut progress = crate::progress::Progress::new("read", subs.len() + mails.len());
    let (mut new, mut again, mut follow_ups) = (0usize, 0usize, 0usize);
    for chunk in subs.chunks(200) {
        let results = store.ingest_batch(chunk).await?;
        for r in results {
            let r = r.map_err(|e| anyhow::anyhow!("{e}"))?;
            if r.duplicate {
                again += 1
            } else {
                new += 1
            }
            println!("{}\t{}", r.tracking_number, if r.duplicate { "already imported" } else { "imported" });
        }
        progress.inc(chunk.len());
    }
    if !mails.is_empty() {
        let (paths, raws): (Vec<_>, Vec<_>) = mails.into_iter().unzip();
        let deliveries = todokede_app::mail_flow::deliver_many(store, cfg, raws, |n| progress.inc(n)).await?;
        for (p, d) in paths.iter().zip(deliveries) {
            let what = match &d {
                Delivery::NewReport(_) => {
                    new += 1;
                    "imported"
                }
                Delivery::Duplicate(_) => {
                    again += 1;
                    "already imported"
                }
                Delivery::FollowUp(_) => {
                    follow_ups += 1;
                    "follow-up"
                }
            };
            println!("{}\t{what}\t{}", d.tracking_number(), p.display());
        }
    }
    progress.finish();
    eprintln!(
        "{new} new {}, {again} already imported{}",
        if new == 1 { "report" } else { "reports" },
        if follow_ups > 0 { format!(", {follow_ups} follow-ups") } else { String::new() }
    );
    if new > 0 {
        eprintln!(
            "next: `todokede classify <number> --as <analyst>` confirms a report's classification; \
             statistics and publication count confirmed reports only"
        );
    }
    Ok(())
}

/// `todokede import --format veris`: every record checked against its VERIS schema; a refused
/// record is named with its file and the schema's rule, and the rest still imports. The dedup
/// key is the record's source id, so a second import stores nothing again.
async fn import_veris(store: &Store, paths: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<std::path::PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    let (mut subs, mut from) = (Vec::new(), Vec::new());
    let mut refused = 0usize;
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let records = match todokede_app::veris::records(&bytes) {
            Ok(r) => r,
            Err(e) => {
                refused += 1;
                eprintln!("refused\t{}\t{e}", path.display());
                continue;
            }
        };
        let many = records.len() > 1;
        for (i, r) in records.into_iter().enumerate() {
            let name = if many { format!("{}#{}", path.display(), i + 1) } else { path.display().to_string() };
            match r {
                Ok(record) => {
                    subs.push(record.submission);
                    from.push(name);
                }
                Err(e) => {
                    refused += 1;
                    eprintln!("refused\t{name}\t{e}");
                }
            }
        }
    }
    let (mut new, mut again) = (0usize, 0usize);
    for (chunk, names) in subs.chunks(200).zip(from.chunks(200)) {
        for (r, name) in store.ingest_batch(chunk).await?.into_iter().zip(names) {
            let r = r.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if r.duplicate {
                again += 1
            } else {
                new += 1
            }
            println!("{}\t{}\t{name}", r.tracking_number, if r.duplicate { "already imported" } else { "imported" });
        }
    }
    eprintln!("{new} new, {again} already imported, {refused} refused (VERIS)");
    if refused > 0 {
        bail!(
            "{refused} 件の記録を取り込めませんでした（上記）。他は取込み済み / {refused} records refused (listed above); the others were imported"
        );
    }
    Ok(())
}

fn print_statistics(s: &todokede_publish::Statistics) {
    println!(
        "届出状況 {}  (reports received: {}, confirmed: {}; counts per incident; <{} suppressed)",
        s.period_label, s.reports_received, s.reports_confirmed, s.threshold
    );
    for t in &s.tables {
        println!("\n{}", t.title);
        let width = t.rows.iter().map(|r| display_width(&r.label)).max().unwrap_or(0).max(4);
        let col = s.columns.iter().map(|c| display_width(c)).max().unwrap_or(0).max(6) + 2;
        println!("  {} {}", pad_right("", width), s.columns.iter().map(|c| pad_left(c, col)).collect::<String>());
        for r in t.rows.iter().map(|r| (&r.label, &r.cells)).chain(std::iter::once((&"合計".to_owned(), &t.total))) {
            // A period before the system's first record has no data: "—", never zeros.
            let cells: String =
                r.1.iter()
                    .enumerate()
                    .map(|(i, c)| match s.has_data.get(i) {
                        Some(false) => pad_left("—", col),
                        _ => pad_left(&c.display(s.threshold), col),
                    })
                    .collect();
            println!("  {} {cells}", pad_right(r.0, width));
        }
    }
}

/// Columns on a terminal: East Asian wide characters (漢字, かな, full-width forms) take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

fn pad_right(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(display_width(s))))
}

fn pad_left(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(display_width(s))))
}

/// Write to a temporary file beside the target and rename: a reader never sees half a report.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path)?;
    Ok(())
}

/// `todokede token create|list|revoke`.
async fn token_command(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    use todokede_app::tokens;
    match command {
        TokenCommand::Create { analyst, scope, expires, name } => {
            let user = active_analyst(store, &analyst).await?;
            let scopes = tokens::parse_scopes(&scope.join(","))?;
            let lifetime = time::Duration::try_from(expires).map_err(|_| anyhow::anyhow!("--expires is too long"))?;
            let created = tokens::create(store, &user, &name, &scopes, lifetime, &user).await?;
            // The token alone on stdout (scripts capture it); the rest on stderr.
            println!("{}", created.token);
            eprintln!(
                "token {} for {} ({}), expires {}; it is shown only now",
                created.id,
                user.email,
                scopes.iter().map(|s| s.key()).collect::<Vec<_>>().join(","),
                created.expires_at.format(&time::format_description::well_known::Rfc3339)?
            );
        }
        TokenCommand::List { analyst } => {
            let owner = match analyst {
                Some(a) => Some(store.user_by_email(&a).await?.ok_or_else(|| anyhow::anyhow!("no account {a}"))?),
                None => None,
            };
            let now = time::OffsetDateTime::now_utc();
            let rfc =
                |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            for t in tokens::list(store, owner.as_ref()).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}…\t{}\t{}\t{}\texpires {}\tlast used {}\t{state}",
                    t.id,
                    t.prefix,
                    t.email,
                    t.name,
                    t.scopes,
                    rfc(t.expires_at),
                    t.last_used_at.map(rfc).unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let token = store
                .api_tokens(None)
                .await?
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| anyhow::anyhow!("no token {id} (see `todokede token list`)"))?;
            let owner = store.user(token.user).await?.ok_or_else(|| anyhow::anyhow!("no owner of token {id}"))?;
            match tokens::revoke(store, id, None, &owner).await {
                Ok(()) => println!("{id}\trevoked"),
                Err(todokede_app::AppError::NotFound) => bail!("token {id} is already revoked"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// An optional `--as EMAIL`: the active account it names.
async fn optional_analyst(store: &Store, by: Option<&str>) -> anyhow::Result<Option<todokede_domain::UserId>> {
    match by {
        Some(email) => Ok(Some(active_analyst(store, email).await?.id)),
        None => Ok(None),
    }
}

/// `todokede watchlist …`. An import reads every file first: a file that is not a list refuses
/// the whole import (nothing stored, exit 1); values that cannot be matched are listed on
/// stderr (`unusable\tFILE\tID\tWHAT\tWHY`) and counted, and the rest is imported.
async fn watchlist(store: &Store, command: WatchlistCommand) -> anyhow::Result<()> {
    use todokede_app::watchlists::{self, Format, ImportRequest};
    let refused = |e: todokede_app::AppError| match e {
        todokede_app::AppError::Refused { ja, en } => anyhow::anyhow!("{ja} / {en}"),
        e => e.into(),
    };
    match command {
        WatchlistCommand::Import { name, kind, format, description, tlp, by, files } => {
            let format = match format.as_deref() {
                Some(f) => Some(Format::parse(f).ok_or_else(|| {
                    anyhow::anyhow!("--format は stix か misp です / --format is stix or misp (not {f})")
                })?),
                None => None,
            };
            let by = optional_analyst(store, by.as_deref()).await?;
            let mut sources = vec![];
            for path in &files {
                let (source, parsed) = watchlists::read_source(path, format).map_err(|e| match e {
                    todokede_app::AppError::Refused { ja, en } => {
                        anyhow::anyhow!(
                            "{}: {ja} / {en}（何も取り込んでいません / nothing was imported）",
                            path.display()
                        )
                    }
                    e => e.into(),
                })?;
                sources.push((source, parsed));
            }
            let mut unusable = 0;
            for (source, parsed) in &sources {
                for u in &parsed.unusable {
                    eprintln!("unusable\t{source}\t{}\t{}\t{} / {}", u.id, u.what, u.ja, u.en);
                }
                unusable += parsed.unusable.len();
                println!("{source}\t{} entries\t{} unusable", parsed.entries.len(), parsed.unusable.len());
            }
            let kind = match kind {
                crate::cli::WatchlistKindArg::Watch => todokede_store::WatchlistKind::Watch,
                crate::cli::WatchlistKindArg::Warning => todokede_store::WatchlistKind::Warning,
            };
            let req = ImportRequest { name: name.clone(), kind, description, tlp, sources };
            let done = watchlists::import(store, req, by).await.map_err(refused)?;
            println!(
                "{}\t{}\t{} entries\t{} imported, {} replaced\t{} reports hit",
                name.trim(),
                kind.key(),
                done.entries,
                done.inserted,
                done.replaced,
                done.reports_hit
            );
            if unusable > 0 {
                eprintln!(
                    "{unusable} 件は照合に使えないため取り込みませんでした（上記） / {unusable} could not be used for matching and were not imported (above)"
                );
            }
        }
        WatchlistCommand::List => {
            let mut rows = vec![
                ["NAME", "KIND", "ENTRIES", "SOURCES", "REPORTS HIT", "TLP", "UPDATED", "BY"]
                    .map(String::from)
                    .to_vec(),
            ];
            for l in store.watchlists().await? {
                rows.push(vec![
                    l.name,
                    l.kind.key().to_owned(),
                    l.entries.to_string(),
                    l.sources.to_string(),
                    l.reports_hit.to_string(),
                    l.tlp.unwrap_or_else(|| "-".into()),
                    jst_minutes(l.updated_at),
                    l.updated_by.unwrap_or_else(|| "-".into()),
                ]);
            }
            print_table(&rows);
        }
        WatchlistCommand::Show { name, limit } => {
            let rfc3339 =
                |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            let l = store
                .watchlist(&name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("リスト「{name}」はありません / no list “{name}”"))?;
            println!("name\t{}", l.name);
            println!("kind\t{}", l.kind.key());
            println!("description\t{}", l.description);
            println!("tlp\t{}", l.tlp.as_deref().unwrap_or("-"));
            println!("entries\t{}", l.entries);
            println!("reports hit\t{}", l.reports_hit);
            println!("updated\t{}\t{}", rfc3339(l.updated_at), l.updated_by.as_deref().unwrap_or("-"));
            println!();
            for e in store.watchlist_entries(l.id, limit.max(1)).await? {
                let until = e.valid_until.map(rfc3339).unwrap_or_else(|| "-".into());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{until}",
                    e.kind,
                    e.value,
                    e.source_file,
                    e.source_id,
                    rfc3339(e.imported_at)
                );
            }
        }
        WatchlistCommand::Remove { name, by } => {
            let by = optional_analyst(store, by.as_deref()).await?;
            if !store.remove_watchlist(&name, by).await? {
                bail!("リスト「{name}」はありません / no list “{name}”");
            }
            println!("removed\t{name}");
        }
    }
    Ok(())
}

async fn active_analyst(store: &Store, email: &str) -> anyhow::Result<todokede_store::User> {
    store
        .user_by_email(email)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| anyhow::anyhow!("no active analyst {email}"))
}

async fn publication_command(db: &str, command: PublicationCommand) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    match command {
        PublicationCommand::Draft { period, analyst, feature, notable, keep, threshold } => {
            let period = Period::parse(&period)?;
            let user = active_analyst(&store, &analyst).await?;
            let featured = feature.iter().map(|f| publication::parse_feature(f)).collect::<Result<Vec<_>, _>>()?;
            let choices = todokede_publish::DraftChoices {
                featured,
                notable,
                keep: publication::keep_set(&keep),
                listed: vec![],
            };
            let (version, doc) = publication::draft(&store, period, &choices, threshold, user.id).await?;
            let rows: usize = doc.groups.iter().map(|g| g.rows.len()).sum();
            println!(
                "{period} version {version}: {rows} cases in {} groups, {} featured, {} anonymiser replacements to review",
                doc.groups.len(),
                doc.featured.len(),
                doc.review().len()
            );
        }
        PublicationCommand::Edit { period, analyst, file } => {
            let period = Period::parse(&period)?;
            let user = active_analyst(&store, &analyst).await?;
            let edits: std::collections::BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(&file)?)?;
            let (version, changed) = publication::edit(&store, period, &edits, user.id).await?;
            println!("{period} version {version}: {} texts changed", changed.len());
        }
        PublicationCommand::Review { period } => {
            let period = Period::parse(&period)?;
            let (v, doc) =
                publication::latest(&store, period).await?.ok_or_else(|| anyhow::anyhow!("no draft for {period}"))?;
            println!(
                "{period} version {} ({})",
                v.version,
                if v.approved_at.is_some() { "approved" } else { "not approved" }
            );
            for (path, text) in doc.texts() {
                println!("{path}\t{}", text.text);
                for r in &text.replacements {
                    println!("  replaced {} 「{}」 → 「{}」", r.kind, r.original, r.replacement);
                }
                for r in &text.risks {
                    println!("  check {} 「{}」 ({})", r.kind, r.text, r.label_ja());
                }
            }
            for c in doc.contacts.iter().filter(|c| c.placeholder) {
                println!("contacts\t{}: not configured (todokede settings set …), printed as 【要設定】", c.label);
            }
        }
        PublicationCommand::Approve { period, version, analyst } => {
            let period = Period::parse(&period)?;
            let user = active_analyst(&store, &analyst).await?;
            match publication::approve(&store, period, version, user.id).await {
                Ok(()) => println!("{period} version {version} approved"),
                // The rule's words in both languages (the console has no page language).
                Err(todokede_app::AppError::Refused { ja, en }) => bail!("{ja} / {en}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn search(
    store: &Store,
    query: &str,
    period: Option<String>,
    state: Option<String>,
    reporter_kind: Option<String>,
    category: Option<String>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    use todokede_app::crossref::{SearchKind, parse_search, period_span};
    let span = period.as_deref().map(Period::parse).transpose()?.map(period_span);
    let filter = todokede_store::ReportFilter {
        state: state.as_deref().map(todokede_domain::ReportState::parse).transpose()?,
        reporter_kind: reporter_kind.as_deref().map(todokede_domain::ReporterKind::parse).transpose()?,
        primary_cause: category.as_deref().map(todokede_domain::CauseCategory::parse).transpose()?,
        received_from: span.map(|s| s.0),
        received_before: span.map(|s| s.1),
        limit,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let hits: Vec<(todokede_store::ReportSummary, Option<(String, String)>)> = match parse_search(query) {
        SearchKind::Indicator(q) => store
            .reports_by_indicator(&q, limit)
            .await?
            .into_iter()
            .filter(|(r, ..)| {
                filter.state.is_none_or(|s| r.state == s)
                    && span.is_none_or(|(a, b)| r.received_at >= a && r.received_at < b)
            })
            .map(|(r, kind, value, _)| (r, Some((kind, value))))
            .collect(),
        SearchKind::Text(terms) => {
            store.search(&todokede_store::SearchQuery { terms, filter }).await?.into_iter().map(|r| (r, None)).collect()
        }
    };
    let elapsed = started.elapsed();
    if json {
        let out: Vec<serde_json::Value> = hits
            .iter()
            .map(|(r, m)| serde_json::json!({"tracking_number": r.tracking_number.to_string(), "received_at": r.received_at.to_string(), "state": r.state.key(),
                "headline": r.headline, "matched": m.as_ref().map(|(k, v)| serde_json::json!({"kind": k, "value": v}))}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (r, m) in &hits {
            let matched = m.as_ref().map(|(k, v)| format!("\t[{k} {v}]")).unwrap_or_default();
            println!(
                "{}\t{}\t{}\t{}{matched}",
                r.tracking_number,
                r.received_at.to_offset(time::macros::offset!(+9)).date(),
                r.state.key(),
                r.headline
            );
        }
        eprintln!(
            "{} {} ({:.1} ms)",
            hits.len(),
            if hits.len() == 1 { "report" } else { "reports" },
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// `export --format csv --period P`: the period's reports as the queue lists them (every state,
/// oldest first), as CSV for Excel (`todokede_app::csv_export`); audited as the UI's CSV is.
async fn export_csv(
    db: &str,
    single: bool,
    period: Option<String>,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let Some(p) = period.filter(|_| !single) else {
        bail!("export --format csv takes --period (the queue's CSV in the UI takes any filter)");
    };
    let period = Period::parse(&p)?;
    let store = open_existing(db).await?;
    let (from, before) = todokede_app::crossref::period_span(period);
    let filter = todokede_store::ReportFilter {
        received_from: Some(from),
        received_before: Some(before),
        newest_first: false,
        limit: 10_000_000,
        ..Default::default()
    };
    let rows = store.list_reports(&filter).await?;
    let settings = todokede_app::settings::load(&store).await?;
    let csv = todokede_app::csv_export::report_list(
        &rows,
        &settings,
        time::OffsetDateTime::now_utc(),
        todokede_domain::Language::Ja,
    );
    store
        .audit(None, "export.csv", Some("period"), Some(&format!("cli --period {period} ({} rows)", rows.len())))
        .await?;
    match output {
        Some(path) => {
            write_atomically(&path, csv.as_bytes())?;
            eprintln!("{}: {} reports", path.display(), rows.len());
        }
        None => std::io::Write::write_all(&mut std::io::stdout(), csv.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
