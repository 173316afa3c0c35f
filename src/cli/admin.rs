//! `meterai admin`: the issuer's and service center's tools (stock, grants, users, audit).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use meterai_core::{Clock, SystemClock};
use meterai_ledger::{Grant, Ledger, LedgerConfig, Mint, Role, Store, TransferId};

use crate::cli::storage::StorageArgs;

/// Administrative commands.
#[derive(Debug, clap::Args)]
pub struct AdminCommand {
    #[command(subcommand)]
    command: AdminSubcommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminSubcommand {
    /// Stock: mint batches, show the level.
    #[command(subcommand)]
    Stock(StockCommand),
    /// Move stock to a user's quota (creates the user if new).
    Grant {
        /// The user's e-mail address.
        #[arg(long)]
        user: String,
        /// Units to grant.
        #[arg(long)]
        units: i64,
        /// Why (shown in the user's history).
        #[arg(long)]
        reason: String,
        /// Order or ticket reference.
        #[arg(long, default_value = "")]
        reference: String,
        /// Idempotency key (32 hex digits); repeat it to retry safely. Default: random.
        #[arg(long)]
        id: Option<String>,
    },
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Integrator API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Recompute every balance and check every invariant; exits 1 on any violation.
    Audit,
    /// Ask the payment gateway about every open order unchanged for --reconcile-after-secs and
    /// settle it (credit or close); safe while servers run.
    Reconcile {
        /// The gateway to ask.
        #[command(flatten)]
        gateway: crate::cli::gateway::GatewayArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a user (created if new); the key is printed once and only its SHA-256
    /// is stored.
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        user: String,
        /// What the key is for (shown in listings).
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum StockCommand {
    /// Mint a batch of stock.
    Mint {
        /// Units in the batch.
        #[arg(long)]
        units: i64,
        /// What the batch is (recorded).
        #[arg(long)]
        note: String,
        /// Idempotency key (32 hex digits). Default: random.
        #[arg(long)]
        id: Option<String>,
    },
    /// Show the stock level and every minted batch.
    Show,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create a user, or set an existing user's password and role.
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// The password to log in to the portal with (Argon2id-hashed; without it the user
        /// can claim the address by registering).
        #[arg(long)]
        password: Option<String>,
        /// user, agent or admin.
        #[arg(long, default_value = "user", value_parser = ["user", "agent", "admin"])]
        role: String,
    },
    /// Show a user's quota and history.
    Show {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
}

fn transfer_id(given: Option<&str>) -> anyhow::Result<TransferId> {
    match given {
        Some(hex) => TransferId::parse(hex).context("--id must be 32 hex digits"),
        None => Ok(TransferId::random().context("no randomness for a transfer id")?.with_time_prefix(SystemClock.now())),
    }
}

/// Runs an admin command against the configured storage.
pub fn run(cmd: AdminCommand, storage: &StorageArgs) -> anyhow::Result<ExitCode> {
    let location = storage.location().context("creating the data directory")?;
    meterai_ledger::block_on(async move {
        let store = Store::open(&location).await.with_context(|| format!("opening {location}"))?;
        let ledger = Ledger::start(store, Arc::new(SystemClock), LedgerConfig::default()).await?;
        let code = execute(&ledger, cmd.command).await;
        ledger.store().close().await;
        code
    })?
}

async fn execute(ledger: &Ledger, command: AdminSubcommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminSubcommand::Stock(StockCommand::Mint { units, note, id }) => {
            let id = transfer_id(id.as_deref())?;
            let receipt = ledger.mint(Mint { id, units, note }).await?;
            println!("minted {} units (batch {})", receipt.transfer.amount, receipt.transfer.id);
            println!("stock: {} units", ledger.stock_level().await?);
        }
        AdminSubcommand::Stock(StockCommand::Show) => {
            println!("stock: {} units", ledger.stock_level().await?);
            for batch in ledger.mint_batches().await? {
                println!("batch {} at {}: {} units, {}", batch.id, batch.created_at, batch.amount, batch.reason);
            }
        }
        AdminSubcommand::Grant { user, units, reason, reference, id } => {
            let id = transfer_id(id.as_deref())?;
            let (owner, created) = ledger.create_user(&user).await?;
            if created {
                println!("created user {}", owner.email);
            }
            let grant = Grant { id, to: owner.quota_account, units, reason, reference };
            let receipt = ledger.grant(grant).await?;
            let available = ledger.balance(owner.quota_account).await?.map_or(0, |b| b.available());
            println!("granted {} units to {} (transfer {})", receipt.transfer.amount, owner.email, receipt.transfer.id);
            println!("{} now has {available} units; stock: {} units", owner.email, ledger.stock_level().await?);
        }
        AdminSubcommand::User(UserCommand::Create { email, password, role }) => {
            let role = Role::parse(&role).context("--role must be user, agent or admin")?;
            // Checked and hashed before anything is written: a refused command creates nobody.
            let hash = match password {
                Some(password) => {
                    meterai_web::password::check_new_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
                    let salt = TransferId::random().context("no randomness for a salt")?.0.to_be_bytes();
                    Some(meterai_web::password::hash(&password, &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))?)
                }
                None if role != Role::User => anyhow::bail!("--role {} needs --password", role.as_str()),
                None => None,
            };
            let (user, created) = ledger.create_user(&email).await?;
            if let Some(hash) = &hash {
                ledger.set_credentials(&user, hash, role).await?;
            }
            let verb = match (created, hash.is_some()) {
                (true, _) => "created",
                (false, true) => "updated",
                (false, false) => "existing",
            };
            println!("{verb} user {} (role {}, quota {})", user.email, role.as_str(), user.quota_account);
        }
        AdminSubcommand::User(UserCommand::Show { email }) => {
            let user = ledger.user_by_email(&email).await?.with_context(|| format!("no user {email}"))?;
            let balance = ledger.balance(user.quota_account).await?.context("quota account missing")?;
            println!("{}: {} available, {} reserved, {} used", user.email, balance.available(), balance.debits_pending, balance.debits_posted);
            for m in ledger.history(user.quota_account, 50).await? {
                let status = m.status.map(|s| format!(" [{s}]")).unwrap_or_default();
                let serial = m.serial.map(|s| format!(" SN {s}")).unwrap_or_default();
                println!(
                    "{} {:+} {:?}{status}{serial} reason={:?} reference={:?}",
                    m.transfer.created_at, m.available_delta, m.transfer.kind, m.transfer.reason, m.transfer.reference
                );
            }
        }
        AdminSubcommand::ApiKey(ApiKeyCommand::Create { user, label }) => {
            let (owner, created) = ledger.create_user(&user).await?;
            if created {
                println!("created user {}", owner.email);
            }
            let mut random = [0u8; meterai_web::auth::API_KEY_RANDOM_BYTES];
            getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness for the key: {e}"))?;
            let (key, hash) = meterai_web::auth::new_api_key(random);
            let id = ledger.create_api_key(&owner, &hash, &label).await?;
            eprintln!("API key #{id} for {} (shown once; store it now):", owner.email);
            println!("{key}");
        }
        AdminSubcommand::Reconcile { gateway } => {
            let payments = gateway.configured()?.context("no gateway configured: give --gateway-snap-url (or --gateway-api-url) and --gateway-server-key")?;
            let report = payments.reconcile(ledger).await?;
            println!(
                "reconciled: {} orders checked, {} credited, {} closed, {} with the gateway unreachable",
                report.checked, report.credited, report.closed, report.unreachable
            );
            if report.unreachable > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        AdminSubcommand::Audit => {
            let report = ledger.audit().await?;
            for check in &report.checks {
                println!("checked {:<26} {:>8} records  {}", check.name, check.records, check.description);
            }
            if report.is_clean() {
                println!("audit clean: no violations");
            } else {
                for v in &report.violations {
                    println!("VIOLATION {} {}: {}", v.check, v.record, v.detail);
                }
                println!("audit failed: {} violations", report.violations.len());
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
