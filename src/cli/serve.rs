//! `meterai serve`: the web service (public verifier, integrator API, health and metrics) on the
//! configured storage, until SIGINT or SIGTERM; requests and stampings in flight finish first.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use meterai_core::SystemClock;
use meterai_ledger::{Ledger, LedgerConfig, Store};
use meterai_web::{AppState, DOWNLOAD_RETENTION_DAYS, OsRandomIds, UPLOAD_BYTES_MAX, WebConfig};

use crate::cli::storage::StorageArgs;

/// How often this node returns the units of reservations past their timeout, in seconds.
pub const SWEEP_INTERVAL_SECS: u64 = 10;
/// How often this node deletes originals past their retention period, in seconds (hourly: the
/// period is counted in days).
pub const PURGE_INTERVAL_SECS: u64 = 3_600;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "METERAI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL (QR codes encode {URL}/v/{SN}); default: http://{listen}.
    #[arg(long = "public-url", env = "METERAI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The signing key and certificates (the development CA in the data directory by default).
    #[command(flatten)]
    pub signer: crate::cli::stamp::SignerArgs,
    /// Largest upload accepted, in bytes.
    #[arg(long = "upload-bytes-max", env = "METERAI_UPLOAD_BYTES_MAX", default_value_t = UPLOAD_BYTES_MAX)]
    pub upload_bytes_max: usize,
    /// Days a stamped document stays downloadable (afterwards: re-upload the original).
    #[arg(long = "retention-days", env = "METERAI_RETENTION_DAYS", default_value_t = DOWNLOAD_RETENTION_DAYS)]
    pub retention_days: u32,
    /// The payment gateway (unset: the bundled sandbox runs embedded).
    #[command(flatten)]
    pub gateway: crate::cli::gateway::GatewayArgs,
    /// Where the embedded sandbox gateway listens (when no gateway is configured).
    #[arg(long = "sandbox-listen", env = "METERAI_SANDBOX_LISTEN", default_value = "127.0.0.1:0")]
    pub sandbox_listen: SocketAddr,
    /// The embedded sandbox's chaos and time.
    #[command(flatten)]
    pub sandbox: crate::cli::gateway::SandboxArgs,
}

/// Logs to stderr, without colours off a terminal.
pub fn init_logs() {
    tracing_subscriber::fmt().with_target(false).with_writer(std::io::stderr).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
}

/// Runs the service until a shutdown signal.
pub fn run(args: ServeArgs, storage: &StorageArgs) -> anyhow::Result<ExitCode> {
    init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(serve(args, storage))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs, storage: &StorageArgs) -> anyhow::Result<()> {
    let location = storage.location().context("creating the data directory")?;
    let store = Store::open(&location).await.with_context(|| format!("opening {location}"))?;
    let ledger = Ledger::start(store, Arc::new(SystemClock), LedgerConfig::default()).await?;
    let sweeper = ledger.spawn_sweeper(Duration::from_secs(SWEEP_INTERVAL_SECS));
    let (signer, anchors) = args.signer.load_with_anchors(&storage.data_dir)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    let config = WebConfig { public_url: public_url.clone(), data_dir: storage.data_dir.clone(), upload_bytes_max: args.upload_bytes_max, retention_days: args.retention_days };
    let (stop_sandbox, sandbox_stopped) = tokio::sync::oneshot::channel::<()>();
    let (payments, sandbox) = match args.gateway.configured()? {
        Some(payments) => (payments, None),
        None => {
            let key = args.gateway.server_key.clone().unwrap_or_else(|| crate::cli::gateway::SANDBOX_DEFAULT_SERVER_KEY.to_string());
            let (url, task) = crate::cli::gateway::start_sandbox(
                args.sandbox_listen,
                None,
                |url| args.sandbox.config(&key, url, None),
                async move {
                    let _ = sandbox_stopped.await;
                },
            )
            .await?;
            println!("no payment gateway configured: sandbox gateway on {url} (server key {key})");
            (args.gateway.payments(&key, &url, &url)?, Some(task))
        }
    };
    let reconciler = (args.gateway.reconcile_every_secs > 0).then(|| payments.spawn_reconciler(ledger.clone()));
    let state = AppState::new(ledger.clone(), Arc::from(signer), anchors, config, Arc::new(OsRandomIds)).with_payments(payments);
    println!("meterai is listening on http://{bound} (public URL {public_url}); storage: {:?}", ledger.store().backend());
    println!("portal: {public_url}/login · verify: {public_url}/verify · API: {public_url}/api/v1/");
    println!(
        "first administrator: meterai admin user create --email you@example.id --password 'A-LONG-PASSWORD' --role admin{} (then log in at {public_url}/login)",
        storage.flags_text()
    );
    println!("quota for a user: meterai admin grant --user EMAIL --units N --reason TEXT · API key: meterai admin api-key create --user EMAIL");
    let purger = meterai_web::retention::spawn_purger(state.clone(), Duration::from_secs(PURGE_INTERVAL_SECS));
    meterai_web::serve(listener, state, shutdown_signal()).await.context("serving")?;
    purger.abort();
    if let Some(reconciler) = reconciler {
        reconciler.abort();
    }
    let _ = stop_sandbox.send(());
    if let Some(task) = sandbox {
        let _ = task.await;
    }
    sweeper.abort();
    ledger.store().close().await;
    println!("meterai stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    eprintln!("shutting down: finishing requests and stampings in flight");
}
