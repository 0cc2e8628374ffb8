//! `todokede` — the one binary: CLI, configuration, wiring.

mod analyse_cmd;
mod cli;
mod commands;
mod logging;
mod model_cmd;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    let is_mailgate = matches!(args.command, cli::Command::Mailgate { imap: None, .. });
    if !matches!(args.command, cli::Command::Serve { .. } | cli::Command::Mailgate { .. }) {
        // A report command piped into `head` should just stop, like any Unix tool, instead of
        // panicking on a broken pipe. (The server and the gateway keep Rust's default.)
        // SAFETY: setting a signal disposition at start-up, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if is_mailgate {
        // An MTA retries only on 75 (and 71); any other failure bounces the report. A panic
        // must therefore end as 75 too: on the main thread it unwinds to the catch_unwind
        // below (so code that recovers from a panic locally still can); on any other thread
        // it ends the process with 75 at once.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("main") {
                default_hook(info);
            } else {
                eprintln!("error: internal fault ({info}); exit 75 so the MTA retries");
                std::process::exit(commands::EX_TEMPFAIL as i32);
            }
        }));
    }
    logging::init(args.log_format);
    // One message per process: a single-threaded runtime starts faster and needs no more.
    let rt = if is_mailgate {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return if matches!(args.command, cli::Command::Mailgate { .. }) {
                ExitCode::from(commands::EX_TEMPFAIL)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    if is_mailgate {
        return match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(commands::run(args)))) {
            Ok(Ok(code)) => code,
            Ok(Err(e)) => {
                eprintln!("error: {}; exit 75 so the MTA retries", format!("{e:#}").replace('\n', " "));
                ExitCode::from(commands::EX_TEMPFAIL)
            }
            Err(_) => {
                eprintln!("error: internal fault (panic); exit 75 so the MTA retries");
                ExitCode::from(commands::EX_TEMPFAIL)
            }
        };
    }
    let result = rt.block_on(commands::run(args));
    // A blocking task still running (an analysis cut off by the drain deadline) must not hold
    // the exit: what it had not committed is not stored, and its job is retried.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line, the cause chain joined: scripts read it, people understand it.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
