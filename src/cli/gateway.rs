//! Payment gateway flags (shared by `serve` and `admin reconcile`) and `meterai
//! sandbox-gateway`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use meterai_core::Rupiah;
use meterai_sandbox_gateway::{Chaos, Sandbox, SandboxConfig};
use meterai_web::payments::midtrans::{Midtrans, MidtransConfig};
use meterai_web::payments::{DEFAULT_NOTIFICATION_PATH, Payments, PaymentsConfig};

/// The server key the embedded sandbox uses when none is configured (it guards nothing real).
pub const SANDBOX_DEFAULT_SERVER_KEY: &str = "SB-Mid-server-meterai-sandbox";

/// How orders are paid.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The gateway's server key (HTTP Basic user; verifies notification signatures).
    #[arg(long = "gateway-server-key", env = "METERAI_GATEWAY_SERVER_KEY")]
    pub server_key: Option<String>,
    /// Snap base URL (create transaction: POST {URL}/snap/v1/transactions), e.g.
    /// https://app.sandbox.midtrans.com. Unset: `serve` runs the bundled sandbox.
    #[arg(long = "gateway-snap-url", env = "METERAI_GATEWAY_SNAP_URL")]
    pub snap_url: Option<String>,
    /// Core API base URL (status: GET {URL}/v2/{order_id}/status), e.g.
    /// https://api.sandbox.midtrans.com. Default: the Snap URL.
    #[arg(long = "gateway-api-url", env = "METERAI_GATEWAY_API_URL")]
    pub api_url: Option<String>,
    /// Path where the gateway's HTTP notifications are received.
    #[arg(long = "gateway-notification-path", env = "METERAI_GATEWAY_NOTIFICATION_PATH", default_value = DEFAULT_NOTIFICATION_PATH)]
    pub notification_path: String,
    /// Fee per order on top of units x Rp 10,000, in whole rupiah.
    #[arg(long = "order-fee", env = "METERAI_ORDER_FEE", default_value_t = 0)]
    pub order_fee: i64,
    /// Minutes a buyer has to pay.
    #[arg(long = "pay-within-minutes", env = "METERAI_PAY_WITHIN_MINUTES", default_value_t = meterai_web::payments::DEFAULT_PAY_WITHIN_MINUTES)]
    pub pay_within_minutes: i64,
    /// Reconciliation asks the gateway about orders unchanged this many seconds.
    #[arg(
        long = "reconcile-after-secs",
        env = "METERAI_RECONCILE_AFTER_SECS",
        default_value_t = 180
    )]
    pub reconcile_after_secs: u64,
    /// Seconds between reconciliation passes (0: no reconciliation worker on this node).
    #[arg(
        long = "reconcile-every-secs",
        env = "METERAI_RECONCILE_EVERY_SECS",
        default_value_t = 60
    )]
    pub reconcile_every_secs: u64,
}

impl GatewayArgs {
    /// The orders' settings.
    pub fn payments_config(&self, server_key: &str) -> anyhow::Result<PaymentsConfig> {
        anyhow::ensure!(self.order_fee >= 0, "--order-fee must not be negative");
        // The stock hold lasts the window plus the grace, and a hold lasts at most a day.
        let grace_ms = meterai_web::payments::DEFAULT_HOLD_GRACE_MS;
        let longest = (meterai_ledger::RESERVE_TIMEOUT_MS_MAX - grace_ms) / 60_000;
        anyhow::ensure!(
            (1..=longest).contains(&self.pay_within_minutes),
            "--pay-within-minutes must be between 1 and {longest}"
        );
        anyhow::ensure!(
            self.notification_path.starts_with('/'),
            "--gateway-notification-path must start with /"
        );
        let mut config = PaymentsConfig::new(server_key);
        config.notification_path = self.notification_path.clone();
        config.fee = Rupiah(self.order_fee);
        config.pay_within_minutes = self.pay_within_minutes;
        config.reconcile_after_ms =
            i64::try_from(self.reconcile_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        config.reconcile_every = Duration::from_secs(self.reconcile_every_secs.max(1));
        Ok(config)
    }

    /// The configured gateway, or `None` when no Snap URL is set.
    pub fn configured(&self) -> anyhow::Result<Option<Arc<Payments>>> {
        let Some(snap) = self.snap_url.clone().or_else(|| self.api_url.clone()) else {
            return Ok(None);
        };
        let server_key = self
            .server_key
            .clone()
            .context("--gateway-server-key is required with a gateway URL")?;
        let api = self.api_url.clone().unwrap_or_else(|| snap.clone());
        Ok(Some(self.payments(&server_key, &snap, &api)?))
    }

    /// Payments through a Midtrans-compatible gateway at these URLs.
    pub fn payments(
        &self,
        server_key: &str,
        snap: &str,
        api: &str,
    ) -> anyhow::Result<Arc<Payments>> {
        let config = MidtransConfig {
            server_key: server_key.to_string(),
            snap_base: snap.to_string(),
            api_base: api.to_string(),
        };
        let gateway = Midtrans::new(config).context("setting up the gateway client")?;
        Ok(Arc::new(Payments::new(
            self.payments_config(server_key)?,
            Arc::new(gateway),
        )))
    }
}

/// The sandbox's own settings (standalone, or embedded in `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Gateway minutes pass this many times faster (retries after 2..210 minutes; expiry).
    #[arg(
        long = "sandbox-time-scale",
        env = "METERAI_SANDBOX_TIME_SCALE",
        default_value_t = 1.0
    )]
    pub time_scale: f64,
    /// Per mille of notifications never sent.
    #[arg(
        long = "sandbox-drop-per-mille",
        env = "METERAI_SANDBOX_DROP_PER_MILLE",
        default_value_t = 0
    )]
    pub drop_per_mille: u32,
    /// Per mille of notifications sent twice.
    #[arg(
        long = "sandbox-duplicate-per-mille",
        env = "METERAI_SANDBOX_DUPLICATE_PER_MILLE",
        default_value_t = 0
    )]
    pub duplicate_per_mille: u32,
    /// Each notification waits a random 0..=N milliseconds first (reordering).
    #[arg(
        long = "sandbox-delay-ms-max",
        env = "METERAI_SANDBOX_DELAY_MS_MAX",
        default_value_t = 0
    )]
    pub delay_ms_max: u64,
    /// Seed of the sandbox's RNG (chaos decisions, tokens).
    #[arg(
        long = "sandbox-seed",
        env = "METERAI_SANDBOX_SEED",
        default_value_t = 1
    )]
    pub seed: u64,
}

impl SandboxArgs {
    /// The sandbox configuration for a sandbox reached at `public_url`.
    pub fn config(
        &self,
        server_key: &str,
        public_url: &str,
        notification_url: Option<String>,
    ) -> anyhow::Result<SandboxConfig> {
        anyhow::ensure!(
            self.time_scale.is_finite() && self.time_scale > 0.0,
            "--sandbox-time-scale must be positive"
        );
        anyhow::ensure!(
            self.drop_per_mille <= 1000 && self.duplicate_per_mille <= 1000,
            "per mille values are 0..=1000"
        );
        let mut config = SandboxConfig::new(server_key, public_url);
        config.notification_url = notification_url;
        config.time_scale = self.time_scale;
        config.chaos = Chaos {
            drop_per_mille: self.drop_per_mille,
            duplicate_per_mille: self.duplicate_per_mille,
            delay_ms_max: self.delay_ms_max,
        };
        config.seed = self.seed;
        Ok(config)
    }
}

/// `meterai sandbox-gateway`.
#[derive(Debug, clap::Args)]
pub struct SandboxGatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "METERAI_SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The merchant's server key.
    #[arg(long = "server-key", env = "METERAI_GATEWAY_SERVER_KEY", default_value = SANDBOX_DEFAULT_SERVER_KEY)]
    pub server_key: String,
    /// Where notifications go when a transaction does not say (X-Override-Notification).
    #[arg(long = "notification-url", env = "METERAI_SANDBOX_NOTIFICATION_URL")]
    pub notification_url: Option<String>,
    /// Public base URL of the payment pages; default: http://{listen}.
    #[arg(long = "public-url", env = "METERAI_SANDBOX_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Chaos and time.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// Starts a sandbox on `listen`; returns its base URL and the server task.
pub async fn start_sandbox(
    listen: SocketAddr,
    public_url: Option<String>,
    config: impl FnOnce(&str) -> anyhow::Result<SandboxConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("sandbox gateway: listening on {listen}"))?;
    let bound = listener.local_addr()?;
    let url = public_url.unwrap_or_else(|| format!("http://{bound}"));
    let sandbox = Sandbox::new(config(&url)?);
    let task = tokio::spawn(meterai_sandbox_gateway::serve(listener, sandbox, shutdown));
    Ok((url, task))
}

/// Runs the sandbox alone until SIGINT/SIGTERM.
pub fn run_sandbox(args: SandboxGatewayArgs) -> anyhow::Result<ExitCode> {
    crate::cli::serve::init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let (url, task) = start_sandbox(
            args.listen,
            args.public_url.clone(),
            |url| args.sandbox.config(&args.server_key, url, args.notification_url.clone()),
            crate::cli::serve::shutdown_signal(),
        )
        .await?;
        println!("sandbox payment gateway on {url} (snap: {url}/snap/v1/transactions, status: {url}/v2/ORDER/status)");
        task.await.context("sandbox task")?.context("serving")?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
