//! `/metrics`: what Prometheus scrapes, in its text format, named by its conventions
//! (`seismo_` and the thing measured, `_total` for counters, `_seconds` for durations).
//!
//! The crates record through the `metrics` facade where things happen (the intake, the
//! writer, the engine's tick, probes, notifications); this module installs the process's
//! Prometheus recorder, describes every metric, and sets the gauges that are read at
//! scrape time (the lead, the writer's queue, the open event streams).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Bounds of the duration histograms, in seconds: a commit or a tick takes from a
/// millisecond to seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process's recorder: installed by the first server of the process, shared by the
/// others (tests run several). When another recorder was installed first, this one
/// still renders the gauges set at scrape time.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows only its gauges");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        "seismo_reports_accepted_total",
        "Reports stored (each acknowledged once durable), counted or not."
    );
    describe_counter!(
        "seismo_reports_rejected_total",
        "Report requests and NDJSON lines refused, by the error's code."
    );
    describe_histogram!(
        "seismo_writer_commit_seconds",
        Unit::Seconds,
        "Time of one transaction of reports."
    );
    describe_gauge!(
        "seismo_writer_queue_depth",
        "Submissions waiting for the writer."
    );
    describe_histogram!(
        "seismo_engine_tick_seconds",
        Unit::Seconds,
        "Time of one tick of the engine, signals in to changes out."
    );
    describe_counter!(
        "seismo_probe_runs_total",
        "Probe runs recorded, from this node and its agents, by outcome."
    );
    describe_counter!(
        "seismo_notifications_total",
        "Deliveries tried, by outcome: delivered, failed (to be retried), dead (given up)."
    );
    describe_gauge!(
        "seismo_leader",
        "1 when this node stores incidents and notifies, 0 when another does."
    );
    describe_gauge!(
        "seismo_live_connections",
        "Live event streams (/api/v1/events) open now."
    );
}

pub async fn render(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let handle = recorder();
    let leader = if state.live.leadership.is_leader() {
        1.0
    } else {
        0.0
    };
    metrics::gauge!("seismo_leader").set(leader);
    metrics::gauge!("seismo_writer_queue_depth").set(state.live.writer.queue_depth() as f64);
    metrics::gauge!("seismo_live_connections").set(state.events.open_streams() as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
