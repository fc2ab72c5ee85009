//! Prometheus metrics: the process-wide recorder (installed once), what each finished
//! request and shadow call adds to it, and the scrape-time values read from the gateway's
//! own counters. `GET /metrics` (`gateway::metrics`) renders it.
//!
//! Counting happens where a row is finished, in background tasks (`handlers::record` and
//! the shadow task), never on the caller's path. Labels come only from kt's config and
//! fixed vocabularies (target ids, statuses, error classes): never from what a caller
//! sends (the model name, headers), so no caller can grow the number of series.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::{RequestRow, ShadowRow};

/// Histogram bucket bounds, in seconds: from a fast rejection (10 ms) to a long streamed
/// answer (2 min), roughly ×2–2.5 apart, so p50/p99 of LLM latencies and TTFTs resolve.
pub const BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes: the
/// recorder keeps raw samples until then, so without it memory would grow with traffic.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The exposition format's content type (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs kt's recorder as the process's global one, once: later calls (a second
/// gateway in the same process, a router built by a test) return the same handle.
/// `None` when another recorder was installed first; counting is then that recorder's
/// business and `/metrics` answers 503.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build_and_install).as_ref()
}

fn build_and_install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .and_then(PrometheusBuilder::install_recorder);
    let handle = match handle {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot install the metrics recorder; /metrics is off");
            return None;
        }
    };
    describe();
    gauge!("kt_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    // A plain thread, not a task on the gateway's tracker: it lives as long as the
    // process, holds nothing the shutdown drain must wait for, and needs no runtime.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("kt-metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        // Scrapes still fold the samples; only an unscraped gateway would grow.
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
    Some(handle)
}

/// HELP lines for every metric kt exports.
fn describe() {
    describe_counter!(
        "kt_requests_total",
        "Answered requests by answering target, outcome (status), HTTP status (code) and ingress API."
    );
    describe_histogram!(
        "kt_request_duration_seconds",
        Unit::Seconds,
        "Time from receiving a request to its last byte, as the caller saw it, every outcome."
    );
    describe_histogram!(
        "kt_upstream_duration_seconds",
        Unit::Seconds,
        "Time waiting on a successful upstream call, primary or shadow (side), whole stream included."
    );
    describe_histogram!(
        "kt_ttft_seconds",
        Unit::Seconds,
        "Time to first token of streamed upstream calls, primary or shadow (side)."
    );
    describe_counter!(
        "kt_mirror_decisions_total",
        "Requests by mirror decision (mirror_state)."
    );
    describe_counter!(
        "kt_shadow_requests_total",
        "Finished background calls by target, kind (shadow or noise_floor) and status (success, error, timeout)."
    );
    describe_counter!(
        "kt_shadow_failures_total",
        "Failed background calls by target, kind and error class."
    );
    describe_gauge!(
        "kt_event_queue_depth",
        "Event rows waiting in the writer's queue."
    );
    describe_counter!(
        "kt_events_written_total",
        "Event rows committed to the database."
    );
    describe_counter!(
        "kt_events_dropped_total",
        "Event rows lost, by reason (queue_full, write_failed)."
    );
    describe_gauge!(
        "kt_shadows_in_flight",
        "Shadow and noise-floor calls running now."
    );
    describe_gauge!(
        "kt_shadow_max_in_flight",
        "traffic_mirror.max_in_flight: shadow calls allowed at once."
    );
    describe_counter!(
        "kt_mirror_dropped_total",
        "Sampled shadow calls skipped because every max_in_flight slot was taken."
    );
    describe_counter!(
        "kt_config_reloads_total",
        "Config reloads by result (applied, refused)."
    );
    describe_gauge!(
        "kt_spend_guard_paused",
        "1 while the spend guard pauses the shadow target, else 0."
    );
    describe_gauge!("kt_build_info", "Always 1; the kt version as a label.");
}

/// Counts one answered request (called with its finished row, off the request path).
pub fn request_recorded(row: &RequestRow) {
    let ingress = if row.ingress.is_empty() {
        "openai"
    } else {
        row.ingress
    };
    counter!(
        "kt_requests_total",
        "target" => row.target.clone(),
        "status" => row.status.clone(),
        "code" => row.http_status.to_string(),
        "ingress" => ingress,
    )
    .increment(1);
    let stream = bool_label(row.stream);
    histogram!(
        "kt_request_duration_seconds",
        "target" => row.target.clone(),
        "stream" => stream,
    )
    .record(seconds(row.latency_ms));
    counter!("kt_mirror_decisions_total", "state" => row.mirror_state.clone()).increment(1);
    if row.status == "success"
        && let Some(ms) = row.upstream_latency_ms
    {
        upstream_duration("primary", &row.target, row.stream, ms);
    }
    if let Some(ms) = row.ttft_ms {
        ttft("primary", &row.target, ms);
    }
}

/// Counts one finished shadow or noise-floor call (called with its row, in its task).
pub fn shadow_finished(row: &ShadowRow) {
    let kind = if row.kind.is_empty() {
        "shadow".to_string()
    } else {
        row.kind.clone()
    };
    counter!(
        "kt_shadow_requests_total",
        "target" => row.shadow_target.clone(),
        "kind" => kind.clone(),
        "status" => row.status.clone(),
    )
    .increment(1);
    if let Some(class) = &row.error_class {
        counter!(
            "kt_shadow_failures_total",
            "target" => row.shadow_target.clone(),
            "kind" => kind,
            "error_class" => class.clone(),
        )
        .increment(1);
    }
    // The shadow side of the duration and TTFT histograms holds shadow calls only: a
    // noise-floor call asks the primary again and would blur the comparison.
    if row.kind == "noise_floor" {
        return;
    }
    if row.status == "success" {
        upstream_duration("shadow", &row.shadow_target, row.stream, row.latency_ms);
    }
    if let Some(ms) = row.ttft_ms {
        ttft("shadow", &row.shadow_target, ms);
    }
}

fn upstream_duration(side: &'static str, target: &str, stream: bool, ms: u64) {
    histogram!(
        "kt_upstream_duration_seconds",
        "side" => side,
        "target" => target.to_string(),
        "stream" => bool_label(stream),
    )
    .record(seconds(ms));
}

fn ttft(side: &'static str, target: &str, ms: u64) {
    histogram!("kt_ttft_seconds", "side" => side, "target" => target.to_string())
        .record(seconds(ms));
}

/// The gateway's own counters at scrape time; they already exist for `/healthz`, so
/// they are copied into the recorder when scraped instead of being counted twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub event_queue_depth: usize,
    pub events_written: u64,
    pub events_dropped_queue_full: u64,
    pub events_dropped_write_failed: u64,
    pub shadows_in_flight: usize,
    /// `traffic_mirror.max_in_flight`; 0 when mirroring is off (a reload can turn it off,
    /// and a series cannot be taken back, so it must not keep the old value).
    pub max_in_flight: usize,
    pub mirror_dropped: u64,
    pub reloads_applied: u64,
    pub reloads_refused: u64,
    /// Each shadow target and whether the spend guard pauses it now.
    pub paused: Vec<(String, bool)>,
}

/// Copies `snap` into the recorder and renders the exposition text.
pub fn render(handle: &PrometheusHandle, snap: &Snapshot) -> String {
    apply(snap);
    handle.render()
}

fn apply(snap: &Snapshot) {
    gauge!("kt_event_queue_depth").set(snap.event_queue_depth as f64);
    counter!("kt_events_written_total").absolute(snap.events_written);
    counter!("kt_events_dropped_total", "reason" => "queue_full")
        .absolute(snap.events_dropped_queue_full);
    counter!("kt_events_dropped_total", "reason" => "write_failed")
        .absolute(snap.events_dropped_write_failed);
    gauge!("kt_shadows_in_flight").set(snap.shadows_in_flight as f64);
    gauge!("kt_shadow_max_in_flight").set(snap.max_in_flight as f64);
    counter!("kt_mirror_dropped_total").absolute(snap.mirror_dropped);
    counter!("kt_config_reloads_total", "result" => "applied").absolute(snap.reloads_applied);
    counter!("kt_config_reloads_total", "result" => "refused").absolute(snap.reloads_refused);
    for (target, paused) in &snap.paused {
        gauge!("kt_spend_guard_paused", "target" => target.clone())
            .set(f64::from(u8::from(*paused)));
    }
}

fn bool_label(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Milliseconds (as rows store them) to the seconds Prometheus expects.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders what `f` records on a recorder of its own (not the global one).
    fn rendered(f: impl FnOnce()) -> String {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, f);
        handle.render()
    }

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    // Proves a request row maps to its labels, in seconds, and that a failed primary call
    // counts but stays out of the upstream latency histogram.
    #[test]
    fn request_rows_map_to_labels_and_seconds() {
        let ok = RequestRow {
            target: "openai".into(),
            status: "success".into(),
            http_status: 200,
            latency_ms: 1500,
            upstream_latency_ms: Some(1250),
            mirror_state: "mirrored".into(),
            stream: true,
            ttft_ms: Some(300),
            ..RequestRow::default()
        };
        let failed = RequestRow {
            status: "error".into(),
            http_status: 502,
            stream: false,
            ttft_ms: None,
            upstream_latency_ms: Some(40),
            ingress: "anthropic",
            ..ok.clone()
        };
        let text = rendered(|| {
            request_recorded(&ok);
            request_recorded(&failed);
        });
        let has = |l: &str| assert!(text.lines().any(|x| x == l), "no `{l}` in:\n{text}");
        has(r#"kt_requests_total{target="openai",status="success",code="200",ingress="openai"} 1"#);
        has(
            r#"kt_requests_total{target="openai",status="error",code="502",ingress="anthropic"} 1"#,
        );
        has(r#"kt_mirror_decisions_total{state="mirrored"} 2"#);
        has(
            r#"kt_upstream_duration_seconds_sum{side="primary",target="openai",stream="true"} 1.25"#,
        );
        has(r#"kt_ttft_seconds_sum{side="primary",target="openai"} 0.3"#);
        has(r#"kt_request_duration_seconds_sum{target="openai",stream="false"} 1.5"#);
        assert!(
            line(&text, r#"kt_upstream_duration_seconds_count{side="primary",target="openai",stream="false"}"#)
                .is_none(),
            "a failed call must not be in the latency histogram:\n{text}"
        );
    }

    // Proves shadow rows count by kind and error class, and that noise-floor calls stay
    // out of the shadow side of the latency histograms.
    #[test]
    fn shadow_rows_count_by_kind_and_error_class() {
        let ok = ShadowRow {
            shadow_target: "anthropic".into(),
            kind: "shadow".into(),
            status: "success".into(),
            latency_ms: 800,
            ..ShadowRow::default()
        };
        let timeout = ShadowRow {
            status: "timeout".into(),
            error_class: Some("timeout".into()),
            ..ok.clone()
        };
        let noise = ShadowRow {
            shadow_target: "openai".into(),
            kind: "noise_floor".into(),
            ..ok.clone()
        };
        let text = rendered(|| {
            shadow_finished(&ok);
            shadow_finished(&timeout);
            shadow_finished(&noise);
        });
        let has = |l: &str| assert!(text.lines().any(|x| x == l), "no `{l}` in:\n{text}");
        has(r#"kt_shadow_requests_total{target="anthropic",kind="shadow",status="success"} 1"#);
        has(r#"kt_shadow_requests_total{target="anthropic",kind="shadow",status="timeout"} 1"#);
        has(
            r#"kt_shadow_failures_total{target="anthropic",kind="shadow",error_class="timeout"} 1"#,
        );
        has(r#"kt_shadow_requests_total{target="openai",kind="noise_floor",status="success"} 1"#);
        has(
            r#"kt_upstream_duration_seconds_count{side="shadow",target="anthropic",stream="false"} 1"#,
        );
        assert!(
            !text.contains(r#"side="shadow",target="openai""#),
            "noise-floor calls must not be on the shadow side:\n{text}"
        );
    }

    // Proves the scrape-time values become gauges and counters with their labels.
    #[test]
    fn snapshot_values_are_exported() {
        let snap = Snapshot {
            event_queue_depth: 3,
            events_written: 10,
            events_dropped_queue_full: 2,
            events_dropped_write_failed: 1,
            shadows_in_flight: 4,
            max_in_flight: 256,
            mirror_dropped: 5,
            reloads_applied: 6,
            reloads_refused: 7,
            paused: vec![("anthropic".into(), true), ("staging".into(), false)],
        };
        let text = rendered(|| apply(&snap));
        for l in [
            "kt_event_queue_depth 3",
            "kt_events_written_total 10",
            r#"kt_events_dropped_total{reason="queue_full"} 2"#,
            r#"kt_events_dropped_total{reason="write_failed"} 1"#,
            "kt_shadows_in_flight 4",
            "kt_shadow_max_in_flight 256",
            "kt_mirror_dropped_total 5",
            r#"kt_config_reloads_total{result="applied"} 6"#,
            r#"kt_config_reloads_total{result="refused"} 7"#,
            r#"kt_spend_guard_paused{target="anthropic"} 1"#,
            r#"kt_spend_guard_paused{target="staging"} 0"#,
        ] {
            assert!(text.lines().any(|x| x == l), "no `{l}` in:\n{text}");
        }
    }

    // Proves installing twice gives the one recorder instead of failing or panicking.
    #[test]
    fn install_is_idempotent() {
        let a = install().map(|h| h as *const PrometheusHandle);
        let b = install().map(|h| h as *const PrometheusHandle);
        assert!(a.is_some());
        assert_eq!(a, b);
    }
}
