//! Prometheus counters, hand-written in the text exposition format: a few counters do not need a
//! metrics crate. Gauges that live in the database (stock) are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a stamping ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampOutcome {
    /// Stamped and posted.
    Stamped,
    /// The engine refused the input; the unit went back.
    Refused,
    /// No free quota; nothing was reserved.
    NoQuota,
    /// Our failure (signer, disk, database); the unit went back when the ledger answered.
    Internal,
}

impl StampOutcome {
    const ALL: [StampOutcome; 4] = [StampOutcome::Stamped, StampOutcome::Refused, StampOutcome::NoQuota, StampOutcome::Internal];

    fn label(self) -> &'static str {
        match self {
            StampOutcome::Stamped => "stamped",
            StampOutcome::Refused => "refused",
            StampOutcome::NoQuota => "no_quota",
            StampOutcome::Internal => "internal",
        }
    }
}

/// Upper bounds of the latency histogram's buckets, in seconds: from a cached page (ms) to a
/// stamp of a large document under load (seconds); p99 under 100 ms is the service's target.
pub const LATENCY_BUCKETS_SECONDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Latencies seen for one route: a Prometheus histogram.
#[derive(Debug, Default, Clone, Copy)]
struct Latencies {
    /// Requests at or under each bound of [`LATENCY_BUCKETS_SECONDS`] (not cumulative here).
    buckets: [u64; LATENCY_BUCKETS_SECONDS.len()],
    /// How many requests in all (those over the last bound count only here).
    count: u64,
    /// Their summed duration, in microseconds.
    duration_us_sum: u64,
}

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by (route template, status code).
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Latencies by route template (not by status: one histogram per route keeps the series few).
    latencies: Mutex<BTreeMap<String, Latencies>>,
    /// Stampings by outcome, indexed like [`StampOutcome::ALL`].
    stampings: [AtomicU64; 4],
}

impl Metrics {
    /// Counts one request.
    pub fn record_request(&self, route: &str, status: u16, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        // A poisoned lock only means another request panicked mid-increment: keep counting.
        *self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry((route.to_string(), status)).or_default() += 1;
        let mut latencies = self.latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let l = latencies.entry(route.to_string()).or_default();
        if let Some(i) = LATENCY_BUCKETS_SECONDS.iter().position(|&bound| took.as_secs_f64() <= bound) {
            l.buckets[i] += 1;
        }
        l.count += 1;
        l.duration_us_sum = l.duration_us_sum.saturating_add(micros);
    }

    /// Counts one finished stamping.
    pub fn record_stamping(&self, outcome: StampOutcome) {
        let index = StampOutcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.stampings[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `stock` is the stock level read now and `units` the quota units by
    /// state (`None` if the database did not answer: the gauge is left out rather than reported
    /// wrong); `rollbacks` is the ledger writer's count of rolled-back batch attempts.
    pub fn render(&self, stock: Option<i64>, units: Option<meterai_ledger::QuotaUnits>, rollbacks: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP meterai_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE meterai_http_requests_total counter\n");
        let map = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for ((route, status), count) in &map {
            let _ = writeln!(out, "meterai_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}", label(route));
        }
        out.push_str("# HELP meterai_http_request_duration_seconds Time spent answering, by route.\n");
        out.push_str("# TYPE meterai_http_request_duration_seconds histogram\n");
        let latencies = self.latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (route, l) in &latencies {
            let route = label(route);
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS_SECONDS.iter().zip(l.buckets) {
                cumulative += n;
                let _ = writeln!(out, "meterai_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "meterai_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", l.count);
            let _ = writeln!(out, "meterai_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", l.duration_us_sum as f64 / 1e6);
            let _ = writeln!(out, "meterai_http_request_duration_seconds_count{{route=\"{route}\"}} {}", l.count);
        }
        out.push_str("# HELP meterai_stampings_total Stampings by outcome.\n");
        out.push_str("# TYPE meterai_stampings_total counter\n");
        for (outcome, counter) in StampOutcome::ALL.iter().zip(&self.stampings) {
            let _ = writeln!(out, "meterai_stampings_total{{outcome=\"{}\"}} {}", outcome.label(), counter.load(Ordering::Relaxed));
        }
        out.push_str("# HELP meterai_ledger_batch_rollbacks_total Ledger batch attempts rolled back: races between writers or nodes (retried) and batches an operation failed (split).\n");
        out.push_str("# TYPE meterai_ledger_batch_rollbacks_total counter\n");
        let _ = writeln!(out, "meterai_ledger_batch_rollbacks_total {rollbacks}");
        if let Some(stock) = stock {
            out.push_str("# HELP meterai_stock_units Units of stock that can still be granted.\n");
            out.push_str("# TYPE meterai_stock_units gauge\n");
            let _ = writeln!(out, "meterai_stock_units {stock}");
        }
        if let Some(u) = units {
            out.push_str("# HELP meterai_quota_units Units of quota by state: reserved by stampings in flight, posted (stamped), returned (voided or expired).\n");
            out.push_str("# TYPE meterai_quota_units gauge\n");
            for (state, n) in [("reserved", u.reserved), ("posted", u.posted), ("returned", u.returned)] {
                let _ = writeln!(out, "meterai_quota_units{{state=\"{state}\"}} {n}");
            }
        }
        out
    }
}

/// Orders by state, and the age of the oldest in each state (in seconds): a growing age of
/// `pending` or `paid` orders is the "paid but not credited" alarm.
pub fn render_orders(stats: &[(meterai_ledger::orders::OrderState, i64, Option<meterai_core::Timestamp>)], now: meterai_core::Timestamp) -> String {
    let mut out = String::new();
    out.push_str("# HELP meterai_orders Orders by state.\n# TYPE meterai_orders gauge\n");
    for state in meterai_ledger::orders::OrderState::ALL {
        let count = stats.iter().find(|s| s.0 == state).map_or(0, |s| s.1);
        let _ = writeln!(out, "meterai_orders{{state=\"{state}\"}} {count}");
    }
    out.push_str("# HELP meterai_orders_oldest_age_seconds Age of the oldest order in each state.\n");
    out.push_str("# TYPE meterai_orders_oldest_age_seconds gauge\n");
    for (state, _, oldest) in stats {
        if let Some(oldest) = oldest {
            let age = (now.0 - oldest.0).max(0) as f64 / 1000.0;
            let _ = writeln!(out, "meterai_orders_oldest_age_seconds{{state=\"{state}\"}} {age}");
        }
    }
    out
}

/// Escapes a label value (backslash, quote, newline) as the text format requires.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_the_prometheus_text_format() {
        let m = Metrics::default();
        m.record_request("/v/{sn}", 200, Duration::from_millis(3));
        m.record_request("/v/{sn}", 200, Duration::from_millis(1));
        m.record_request("/v/{sn}", 404, Duration::from_millis(60));
        m.record_request("/v/{sn}", 200, Duration::from_secs(30));
        m.record_stamping(StampOutcome::Refused);
        let units = meterai_ledger::QuotaUnits { reserved: 1, posted: 5, returned: 2 };
        let text = m.render(Some(7), Some(units), 2);
        assert!(text.contains("meterai_http_requests_total{route=\"/v/{sn}\",status=\"200\"} 3\n"), "{text}");
        assert!(text.contains("meterai_ledger_batch_rollbacks_total 2\n"), "{text}");
        // Histogram buckets are cumulative; +Inf counts the request over the last bound too.
        assert!(text.contains("meterai_http_request_duration_seconds_bucket{route=\"/v/{sn}\",le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("meterai_http_request_duration_seconds_bucket{route=\"/v/{sn}\",le=\"0.05\"} 2\n"), "{text}");
        assert!(text.contains("meterai_http_request_duration_seconds_bucket{route=\"/v/{sn}\",le=\"0.1\"} 3\n"), "{text}");
        assert!(text.contains("meterai_http_request_duration_seconds_bucket{route=\"/v/{sn}\",le=\"10\"} 3\n"), "{text}");
        assert!(text.contains("meterai_http_request_duration_seconds_bucket{route=\"/v/{sn}\",le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("meterai_http_request_duration_seconds_count{route=\"/v/{sn}\"} 4\n"), "{text}");
        assert!(text.contains("meterai_quota_units{state=\"reserved\"} 1\n"), "{text}");
        assert!(text.contains("meterai_quota_units{state=\"returned\"} 2\n"), "{text}");
        assert!(text.contains("meterai_stampings_total{outcome=\"refused\"} 1\n"), "{text}");
        assert!(text.contains("meterai_stampings_total{outcome=\"stamped\"} 0\n"), "{text}");
        assert!(text.contains("meterai_stock_units 7\n"), "{text}");
    }

    #[test]
    fn a_quote_in_a_label_is_escaped() {
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
