-- Buying quota: orders and the payment gateway's notifications. Same conventions as 0001:
-- `{{IDENTITY}}` per backend, times in unix ms, money in whole rupiah (BIGINT).

-- One order per purchase. Its id is what the gateway knows ("MTR-" + the hold's transfer id),
-- so the ledger transfers that hold, credit or void it derive from it. States move forward only
-- (the conditional UPDATEs in orders.rs): created -> pending -> paid -> credited, or -> expired |
-- cancelled | denied; paid/credited -> refunded.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    units BIGINT NOT NULL CHECK (units > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    fee BIGINT NOT NULL CHECK (fee >= 0),
    gross_amount BIGINT NOT NULL CHECK (gross_amount = units * unit_price + fee),
    state TEXT NOT NULL CHECK (state IN ('created', 'pending', 'paid', 'credited', 'expired', 'cancelled', 'denied', 'refunded')),
    hold_transfer_id TEXT NOT NULL UNIQUE REFERENCES transfers (id),
    credit_transfer_id TEXT NULL REFERENCES transfers (id),
    gateway_token TEXT NULL,
    redirect_url TEXT NULL,
    gateway_status TEXT NULL,
    payment_type TEXT NULL,
    pay_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    paid_at BIGINT NULL,
    credited_at BIGINT NULL,
    CHECK (state <> 'credited' OR credit_transfer_id IS NOT NULL)
);
CREATE INDEX orders_by_user ON orders (user_id, created_at);
CREATE INDEX orders_by_state ON orders (state, updated_at);

-- Every notification body received, raw (hex), deduplicated by its SHA-256, genuine or not:
-- the audit trail of what the gateway (or anyone) told us.
CREATE TABLE payment_notifications (
    id {{IDENTITY}},
    body_sha256 TEXT NOT NULL UNIQUE,
    body_hex TEXT NOT NULL,
    order_id TEXT NULL,
    transaction_status TEXT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('genuine', 'forged', 'malformed', 'unknown_order', 'wrong_amount')),
    received_at BIGINT NOT NULL,
    times_received BIGINT NOT NULL DEFAULT 1,
    processed_at BIGINT NULL,
    outcome TEXT NULL
);
CREATE INDEX payment_notifications_by_order ON payment_notifications (order_id, received_at);
