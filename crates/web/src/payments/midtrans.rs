//! The Midtrans adapter: Snap's create-transaction call, the v2 status API, and the
//! notification body with its signature. Works against the real gateway (sandbox or
//! production base URLs) and against `meterai-sandbox-gateway`.

use std::time::Duration;

use meterai_core::Rupiah;
use meterai_core::midtrans::{parse_gross_amount, signature_matches};
use serde::Deserialize;

use super::gateway::{
    GatewayError, GatewayFuture, NewTransaction, OpenedTransaction, PaymentGateway,
    TransactionStatus,
};

/// How long one call to the gateway may take, in seconds (Midtrans answers in well under one).
pub const GATEWAY_TIMEOUT_SECS: u64 = 10;
/// Longest gateway answer read, in bytes.
pub const GATEWAY_RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// Where and how to reach Midtrans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidtransConfig {
    /// The merchant's server key (HTTP Basic user; the signature secret).
    pub server_key: String,
    /// Snap's base URL, e.g. `https://app.sandbox.midtrans.com`.
    pub snap_base: String,
    /// The Core API's base URL, e.g. `https://api.sandbox.midtrans.com`.
    pub api_base: String,
}

/// The adapter.
#[derive(Debug, Clone)]
pub struct Midtrans {
    config: MidtransConfig,
    client: reqwest::Client,
}

impl Midtrans {
    /// An adapter with its own HTTP client (TLS with the system's roots).
    pub fn new(config: MidtransConfig) -> Result<Midtrans, GatewayError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(GATEWAY_TIMEOUT_SECS))
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Midtrans { config, client })
    }

    /// The server key (notifications are verified with it).
    pub fn server_key(&self) -> &str {
        &self.config.server_key
    }

    async fn read(response: reqwest::Response) -> Result<(u16, serde_json::Value), GatewayError> {
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if bytes.len() > GATEWAY_RESPONSE_BYTES_MAX {
            return Err(GatewayError::BadResponse(format!("{} bytes", bytes.len())));
        }
        if status >= 500 {
            return Err(GatewayError::Unavailable(format!("HTTP {status}")));
        }
        let json = serde_json::from_slice(&bytes)
            .map_err(|e| GatewayError::BadResponse(format!("HTTP {status}: {e}")))?;
        Ok((status, json))
    }

    async fn create(&self, request: &NewTransaction) -> Result<OpenedTransaction, GatewayError> {
        let mut body = serde_json::json!({
            "transaction_details": { "order_id": request.order_id, "gross_amount": request.gross_amount.0 },
            "expiry": { "unit": "minute", "duration": request.expiry_minutes },
        });
        if let Some(finish) = &request.finish_url {
            body["callbacks"] = serde_json::json!({ "finish": finish });
        }
        let url = format!(
            "{}/snap/v1/transactions",
            self.config.snap_base.trim_end_matches('/')
        );
        let mut call = self
            .client
            .post(url)
            .basic_auth(&self.config.server_key, Some(""))
            .json(&body);
        if let Some(notify) = &request.notification_url {
            call = call.header("X-Override-Notification", notify);
        }
        let response = call
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let (status, json) = Self::read(response).await?;
        if !(200..300).contains(&status) {
            return Err(GatewayError::Refused {
                status,
                message: json["error_messages"].to_string(),
            });
        }
        match (json["token"].as_str(), json["redirect_url"].as_str()) {
            (Some(token), Some(redirect_url)) => Ok(OpenedTransaction {
                token: token.to_string(),
                redirect_url: redirect_url.to_string(),
            }),
            _ => Err(GatewayError::BadResponse("no token or redirect_url".into())),
        }
    }

    async fn get_status(&self, order_id: &str) -> Result<Option<TransactionStatus>, GatewayError> {
        let url = format!(
            "{}/v2/{order_id}/status",
            self.config.api_base.trim_end_matches('/')
        );
        let response = self
            .client
            .get(url)
            .basic_auth(&self.config.server_key, Some(""))
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let (status, json) = Self::read(response).await?;
        // Midtrans says "not found" in the body's status_code (with HTTP 200 or 404).
        if status == 404 || json["status_code"].as_str() == Some("404") {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(GatewayError::Refused {
                status,
                message: json["status_message"].to_string(),
            });
        }
        let text = |name: &str| json[name].as_str().map(str::to_string);
        let gross = text("gross_amount").and_then(|g| parse_gross_amount(&g));
        match (text("order_id"), text("transaction_status"), gross) {
            (Some(order_id), Some(transaction_status), Some(gross_amount)) => {
                Ok(Some(TransactionStatus {
                    order_id,
                    transaction_status,
                    fraud_status: text("fraud_status"),
                    gross_amount,
                    payment_type: text("payment_type"),
                }))
            }
            _ => Err(GatewayError::BadResponse(
                "status without order_id, transaction_status or gross_amount".into(),
            )),
        }
    }
}

impl PaymentGateway for Midtrans {
    fn create_transaction<'a>(
        &'a self,
        request: &'a NewTransaction,
    ) -> GatewayFuture<'a, OpenedTransaction> {
        Box::pin(self.create(request))
    }

    fn status<'a>(&'a self, order_id: &'a str) -> GatewayFuture<'a, Option<TransactionStatus>> {
        Box::pin(self.get_status(order_id))
    }
}

/// The fields of a notification the receiver reads (Midtrans sends more).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// Our order id.
    pub order_id: String,
    /// `200`, `201`, `202`, ... as a string.
    pub status_code: String,
    /// `"10000.00"`.
    pub gross_amount: String,
    /// hex SHA-512(order_id + status_code + gross_amount + server key).
    pub signature_key: String,
    /// What the sender claims happened (not covered by the signature).
    pub transaction_status: String,
    /// Card payments' fraud verdict.
    #[serde(default)]
    pub fraud_status: Option<String>,
}

impl Notification {
    /// Parses a notification body; `None` if it is not one.
    pub fn parse(body: &[u8]) -> Option<Notification> {
        serde_json::from_slice(body).ok()
    }

    /// Whether the signature is ours (constant-time comparison).
    pub fn is_signed_with(&self, server_key: &str) -> bool {
        signature_matches(
            &self.signature_key,
            &self.order_id,
            &self.status_code,
            &self.gross_amount,
            server_key,
        )
    }

    /// The amount, if it is a whole-rupiah amount.
    pub fn amount(&self) -> Option<Rupiah> {
        parse_gross_amount(&self.gross_amount)
    }
}
