//! `todokede` — the one binary: CLI, configuration, wiring.

mod analysis_jobs;
mod analyze_cmd;
mod cli;
mod commands;
mod mail_flow;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    if matches!(args.command, cli::Command::Mailgate { imap: None, .. }) {
        // An MTA retries only on 75 (and 71); any other failure bounces the report. A panic
        // anywhere, on any thread, must therefore end as 75 too.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("error: internal fault ({info}); exit 75 so the MTA retries");
            std::process::exit(commands::EX_TEMPFAIL as i32);
        }));
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TODOKEDE_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return if matches!(args.command, cli::Command::Mailgate { .. }) { ExitCode::from(commands::EX_TEMPFAIL) } else { ExitCode::FAILURE };
        }
    };
    match rt.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            // One line, the cause chain joined: scripts read it, people understand it.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
