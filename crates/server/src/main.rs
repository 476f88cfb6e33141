//! `emberkv-server`: parse flags, set up logging, recover the data directory,
//! listen, serve until SIGINT/SIGTERM or SHUTDOWN.

use std::process::ExitCode;

use emberkv_persistence::{Damage, OsVfs};
use emberkv_server::{Cli, Server, Settings};
use tracing_subscriber::{EnvFilter, reload};

fn main() -> ExitCode {
    let args = Cli::parse();
    let settings = match args.resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("emberkv-server: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check || args.repair {
        return check_or_repair(&settings, args.repair);
    }
    init_logging(&settings.log_level());
    // Connections run on `--threads` connection threads of their own (see
    // `Workers` in server.rs); this runtime accepts them and runs the
    // background tasks and replication.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("emberkv-main")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("emberkv-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("emberkv-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind();
    let addr = format!("{bind}:{}", settings.port());
    let tls_addr = settings.tls().port.map(|p| format!("{bind}:{p}"));
    let server = tokio::task::block_in_place(|| Server::open(settings))?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let tls_listener = match tls_addr {
        Some(a) => Some(
            tokio::net::TcpListener::bind(&a)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {a} (TLS): {e}"))?,
        ),
        None => None,
    };
    server
        .serve_with_tls(listener, tls_listener, signal())
        .await
}

/// Completes on SIGINT or SIGTERM.
async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM, shutting down"),
        _ = int.recv() => tracing::info!("received SIGINT, shutting down"),
    }
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let (filter, handle) = reload::Layer::new(filter);
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stdout)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .with_target(false),
        )
        .init();
    let _ = emberkv_server::LOG_RELOAD.set(Box::new(move |l: &str| {
        handle
            .modify(|f| *f = EnvFilter::new(l))
            .map_err(|e| e.to_string())
    }));
}

fn check_or_repair(settings: &Settings, repair: bool) -> ExitCode {
    let dir = &settings.dir();
    let report = match emberkv_persistence::check(dir, &OsVfs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("emberkv-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{} segment(s) in {}", report.segments.len(), dir.display());
    for s in &report.segments {
        let state = match s.damage {
            None => "ok".to_string(),
            Some(Damage::TornTail { offset }) => {
                format!("torn tail at offset {offset} (a crash mid-write; cut at start-up)")
            }
            Some(Damage::Corrupt { offset }) => format!("CORRUPT at offset {offset}"),
            Some(Damage::BadHeader) => "BAD HEADER".to_string(),
        };
        let hint = match s.hint {
            None => "no hint",
            Some(true) => "hint ok",
            Some(false) => "hint damaged (rebuilt at start-up)",
        };
        println!(
            "  {}: {} bytes, {} records, {hint}: {state}",
            s.path.display(),
            s.size,
            s.records
        );
    }
    for c in &report.broken_chains {
        println!(
            "  BROKEN CHAIN of key {:?}: {} at offset {}: {}",
            String::from_utf8_lossy(&c.key),
            c.path.display(),
            c.offset,
            c.reason
        );
    }
    if report.is_clean() {
        println!("no damage found");
        return ExitCode::SUCCESS;
    }
    let chains = report.broken_chains.len();
    if let Some(first) = report.first_damage() {
        let drop = report.bytes_to_drop();
        let s = &report.segments[first];
        if !repair {
            println!(
                "first damage: {} at offset {}; `--repair` would truncate there and drop {drop} bytes ({} later segment(s))",
                s.path.display(),
                s.valid_len,
                report.segments.len() - first - 1
            );
        } else {
            println!(
                "repairing: truncating {} at offset {} and removing {} later segment(s): {drop} bytes dropped",
                s.path.display(),
                s.valid_len,
                report.segments.len() - first - 1
            );
        }
    }
    if chains > 0 {
        let verb = if repair {
            "deleting"
        } else {
            "`--repair` would delete"
        };
        println!("{verb} the {chains} key(s) whose chain is broken (a delete record each)");
    }
    if !repair {
        return ExitCode::from(1);
    }
    match emberkv_persistence::repair(dir, &OsVfs) {
        Ok(_) => {
            println!("repaired");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("emberkv-server: repair failed: {e}");
            ExitCode::FAILURE
        }
    }
}
