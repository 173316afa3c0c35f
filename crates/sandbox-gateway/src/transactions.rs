//! Transactions as the sandbox keeps them (in memory: a sandbox restart forgets them, like a
//! fresh sandbox account), and the moves the payment page's buttons make.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use meterai_core::Rupiah;
use meterai_core::midtrans::{format_gross_amount, signature_key};

use crate::SandboxConfig;
use crate::notifier::Notifier;
use crate::rng::SplitMix64;

/// A transaction's status, as Midtrans names it in `transaction_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// Waiting for the payment.
    Pending,
    /// Paid (bank transfer, QRIS, e-wallets settle directly).
    Settlement,
    /// The payment was refused.
    Deny,
    /// Not paid in time.
    Expire,
}

impl TransactionStatus {
    /// `transaction_status` as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Settlement => "settlement",
            TransactionStatus::Deny => "deny",
            TransactionStatus::Expire => "expire",
        }
    }

    /// `status_code` as Midtrans sends it with this status.
    pub fn status_code(self) -> &'static str {
        match self {
            TransactionStatus::Settlement => "200",
            TransactionStatus::Pending => "201",
            TransactionStatus::Deny | TransactionStatus::Expire => "202",
        }
    }
}

/// One transaction.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The merchant's order id.
    pub order_id: String,
    /// The Snap token (names the payment page).
    pub token: String,
    /// The gateway's own id.
    pub transaction_id: String,
    /// What the buyer pays.
    pub gross_amount: Rupiah,
    /// Where it stands.
    pub status: TransactionStatus,
    /// When it was created, `YYYY-MM-DD HH:MM:SS` (UTC; Midtrans uses WIB).
    pub transaction_time: String,
    /// When an unpaid transaction expires.
    pub expires_at: Instant,
    /// Where its notifications go.
    pub notification_url: Option<String>,
    /// Where the payment page sends the buyer afterwards.
    pub finish_url: Option<String>,
}

impl Transaction {
    /// The JSON Midtrans sends as a notification and answers from the status API.
    pub fn to_json(&self, server_key: &str) -> serde_json::Value {
        let gross = format_gross_amount(self.gross_amount);
        let code = self.status.status_code();
        serde_json::json!({
            "transaction_time": self.transaction_time,
            "transaction_status": self.status.as_str(),
            "transaction_id": self.transaction_id,
            "status_message": "midtrans payment notification",
            "status_code": code,
            "signature_key": signature_key(&self.order_id, code, &gross, server_key),
            "payment_type": "bank_transfer",
            "order_id": self.order_id,
            "merchant_id": "SANDBOX",
            "gross_amount": gross,
            "fraud_status": "accept",
            "currency": "IDR",
        })
    }
}

/// What a payment page button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pay: settlement.
    Pay,
    /// The payment is refused: deny.
    Fail,
    /// Let it expire now.
    Expire,
}

impl Action {
    /// Parses the path segment `pay`, `fail` or `expire`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pay" => Some(Action::Pay),
            "fail" => Some(Action::Fail),
            "expire" => Some(Action::Expire),
            _ => None,
        }
    }
}

/// Why a button did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActError {
    /// No such transaction.
    Unknown,
    /// It is no longer pending.
    NotPending(TransactionStatus),
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub config: SandboxConfig,
    transactions: Mutex<HashMap<String, Transaction>>,
    tokens: Mutex<HashMap<String, String>>,
    outage: AtomicBool,
    pub rng: Mutex<SplitMix64>,
    pub notifier: Notifier,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere leaves the map consistent (no partial updates): keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a transaction could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreateError {
    /// The order id was used before.
    Duplicate,
}

impl Shared {
    pub fn new(config: SandboxConfig) -> Shared {
        let rng = SplitMix64::new(config.seed);
        Shared {
            transactions: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            outage: AtomicBool::new(false),
            rng: Mutex::new(rng),
            notifier: Notifier::new(),
            config,
        }
    }

    pub fn set_outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    pub fn in_outage(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut rng = lock(&self.rng);
        let random: Vec<u8> = (0..bytes).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
        meterai_core::hex::encode(&random)
    }

    /// Records a new pending transaction and notifies `pending`.
    pub fn create(
        self: &Arc<Self>,
        order_id: &str,
        gross_amount: Rupiah,
        expiry_minutes: f64,
        notification_url: Option<String>,
        finish_url: Option<String>,
    ) -> Result<Transaction, CreateError> {
        let token = self.random_hex(16);
        let id = self.random_hex(16);
        let transaction_id = format!(
            "{}-{}-{}-{}-{}",
            &id[..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..]
        );
        let tx = Transaction {
            order_id: order_id.to_string(),
            token: token.clone(),
            transaction_id,
            gross_amount,
            status: TransactionStatus::Pending,
            transaction_time: now_text(),
            expires_at: Instant::now() + self.config.scaled_minutes(expiry_minutes),
            notification_url: notification_url.or_else(|| self.config.notification_url.clone()),
            finish_url,
        };
        {
            let mut map = lock(&self.transactions);
            if map.contains_key(order_id) {
                return Err(CreateError::Duplicate);
            }
            map.insert(order_id.to_string(), tx.clone());
        }
        lock(&self.tokens).insert(token, order_id.to_string());
        self.notifier.notify(self, &tx);
        Ok(tx)
    }

    /// The transaction, expired first if its time is up.
    pub fn transaction(self: &Arc<Self>, order_id: &str) -> Option<Transaction> {
        self.expire_if_due(order_id);
        lock(&self.transactions).get(order_id).cloned()
    }

    pub fn by_token(self: &Arc<Self>, token: &str) -> Option<Transaction> {
        let order_id = lock(&self.tokens).get(token).cloned()?;
        self.transaction(&order_id)
    }

    fn expire_if_due(self: &Arc<Self>, order_id: &str) {
        let expired = {
            let mut map = lock(&self.transactions);
            match map.get_mut(order_id) {
                Some(tx)
                    if tx.status == TransactionStatus::Pending
                        && Instant::now() >= tx.expires_at =>
                {
                    tx.status = TransactionStatus::Expire;
                    Some(tx.clone())
                }
                _ => None,
            }
        };
        if let Some(tx) = expired {
            self.notifier.notify(self, &tx);
        }
    }

    /// Expires every pending transaction whose time is up (the sandbox's ticker).
    pub fn expire_due(self: &Arc<Self>) {
        let due: Vec<String> = lock(&self.transactions)
            .values()
            .filter(|t| t.status == TransactionStatus::Pending && Instant::now() >= t.expires_at)
            .map(|t| t.order_id.clone())
            .collect();
        for order_id in due {
            self.expire_if_due(&order_id);
        }
    }

    /// What a payment page button does; notifies the new status.
    pub fn act(
        &self,
        this: &Arc<Self>,
        order_id: &str,
        action: Action,
    ) -> Result<Transaction, ActError> {
        this.expire_if_due(order_id);
        let tx = {
            let mut map = lock(&self.transactions);
            let tx = map.get_mut(order_id).ok_or(ActError::Unknown)?;
            if tx.status != TransactionStatus::Pending {
                return Err(ActError::NotPending(tx.status));
            }
            tx.status = match action {
                Action::Pay => TransactionStatus::Settlement,
                Action::Fail => TransactionStatus::Deny,
                Action::Expire => TransactionStatus::Expire,
            };
            tx.clone()
        };
        self.notifier.notify(this, &tx);
        Ok(tx)
    }
}

/// Now as `YYYY-MM-DD HH:MM:SS` (UTC).
fn now_text() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
