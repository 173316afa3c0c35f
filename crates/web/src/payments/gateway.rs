//! The payment gateway as the service sees it: create a transaction (the buyer is sent to its
//! payment page) and ask for a transaction's status. Notifications are only hints; the status
//! answer is what moves an order.

use std::future::Future;
use std::pin::Pin;

use meterai_core::Rupiah;

/// A boxed future, so the trait stays object safe.
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GatewayError>> + Send + 'a>>;

/// A transaction to open for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    /// Our order id (the gateway's `order_id`).
    pub order_id: String,
    /// What the buyer pays.
    pub gross_amount: Rupiah,
    /// How long the buyer has to pay, in minutes.
    pub expiry_minutes: i64,
    /// Where the gateway sends notifications (Midtrans: `X-Override-Notification`).
    pub notification_url: Option<String>,
    /// Where the payment page sends the buyer back.
    pub finish_url: Option<String>,
}

/// The gateway's answer to a new transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTransaction {
    /// The Snap token.
    pub token: String,
    /// The payment page.
    pub redirect_url: String,
}

/// A transaction's status as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatus {
    /// The order id it is for.
    pub order_id: String,
    /// `capture`, `settlement`, `pending`, `deny`, `cancel`, `expire`, `refund`, ...
    pub transaction_status: String,
    /// `accept`, `challenge`, `deny` (card payments), if given.
    pub fraud_status: Option<String>,
    /// What the gateway says was paid.
    pub gross_amount: Rupiah,
    /// How (`bank_transfer`, `qris`, ...), if given.
    pub payment_type: Option<String>,
}

/// Why the gateway did not answer usefully.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Not reachable, timed out, or a 5xx: try again later.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused the request (4xx other than "not found").
    #[error("payment gateway refused the request ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The gateway's message.
        message: String,
    },
    /// An answer that is not the protocol's.
    #[error("payment gateway answered something unexpected: {0}")]
    BadResponse(String),
}

/// A payment gateway.
pub trait PaymentGateway: Send + Sync {
    /// Opens a transaction for an order.
    fn create_transaction<'a>(
        &'a self,
        request: &'a NewTransaction,
    ) -> GatewayFuture<'a, OpenedTransaction>;
    /// The transaction of an order; `None` if the gateway has none.
    fn status<'a>(&'a self, order_id: &'a str) -> GatewayFuture<'a, Option<TransactionStatus>>;
}
