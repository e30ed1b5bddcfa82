//! The HTTP API and form, called through the router with a real SQLite store.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use seismo_core::Catalog;
use seismo_core::access::{Role, Token, new_secret};
use seismo_core::gazetteer::Gazetteer;
use seismo_core::signal::Signal;
use seismo_core::time::parse_rfc3339;
use seismo_detect::{Engine, EngineConfig};
use seismo_runtime::{Live, Ticker};
use seismo_store::{SqliteStore, Store, WriterConfig};
use seismo_web::{AppState, Rates, WebConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt;

const NOW: &str = "2026-01-22T18:30:00Z";

struct Server {
    router: axum::Router,
    state: Arc<AppState>,
    engine: Arc<std::sync::Mutex<Engine>>,
    dir: tempfile::TempDir,
}

/// The address reports come from unless a test says otherwise.
const PEER: [u8; 4] = [127, 0, 0, 1];

/// `request` as if it came over a connection from `ip`.
fn from(ip: [u8; 4], mut request: Request<Body>) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
    request
}

/// Rates no test reaches unless it means to.
fn unlimited() -> Rates {
    let many = NonZeroU32::new(1_000_000).unwrap();
    Rates {
        per_ip_per_minute: many,
        per_network_per_minute: many,
        per_token_per_minute: many,
    }
}

fn server(config: WebConfig) -> Server {
    server_of(config, Catalog::demo())
}

fn server_of(config: WebConfig, catalog: Catalog) -> Server {
    // Tokens read afresh on every request: tests add and revoke them as they go.
    let config = WebConfig {
        token_refresh: 0,
        ..config
    };
    let dir = tempfile::tempdir().unwrap();
    let now = parse_rfc3339(NOW).unwrap();
    let live = Live::start(
        Box::new(SqliteStore::open(dir.path()).unwrap()),
        Arc::new(catalog),
        Gazetteer::embedded(),
        EngineConfig::default(),
        WriterConfig::default(),
        now,
    )
    .unwrap();
    let live = Arc::new(live);
    let state = Arc::new(AppState::new(
        live.clone(),
        None,
        config,
        Arc::new(move || now),
    ));
    Server {
        router: app(state.clone()),
        state,
        engine: live.engine.clone(),
        dir,
    }
}

impl Server {
    /// A token of `role` stored as `seismo token create` stores it; its secret.
    fn token(&self, name: &str, role: Role, expires_at: Option<i64>) -> String {
        let (secret, digest) = new_secret().unwrap();
        let mut store = SqliteStore::open(self.dir.path()).unwrap();
        assert!(
            store
                .add_token(&Token {
                    name: name.into(),
                    role,
                    digest,
                    created_at: 0,
                    expires_at,
                    revoked_at: None,
                })
                .unwrap()
        );
        secret
    }

    fn revoke(&self, name: &str) {
        let mut store = SqliteStore::open(self.dir.path()).unwrap();
        assert!(store.revoke_token(name, 0).unwrap());
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
    }

    async fn post(&self, content_type: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send_json(from(PEER, request)).await
    }

    async fn send_json(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, body) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn report(&self, report: Value) -> (StatusCode, Value) {
        self.report_from(PEER, report).await
    }

    async fn report_from(&self, ip: [u8; 4], report: Value) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, format!("agent-{}", report))
            .body(Body::from(report.to_string()))
            .unwrap();
        self.send_json(from(ip, request)).await
    }

    /// The page at `uri`, as text.
    async fn page(&self, uri: impl AsRef<str>) -> String {
        let (_, body) = self
            .send(Request::get(uri.as_ref()).body(Body::empty()).unwrap())
            .await;
        String::from_utf8(body).unwrap()
    }

    async fn get_owned(&self, uri: String) -> (StatusCode, Value) {
        self.get(&uri).await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, body) = self
            .send(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

/// A JSON request to `uri` from [`PEER`], with `token` when given.
fn call(method: &str, uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    from(PEER, request.body(Body::from(body.to_string())).unwrap())
}

/// Each `(body, field)` sent to `uri` with `token` gets 400 naming `field`.
async fn refused_naming(s: &Server, method: &str, uri: &str, token: &str, cases: &[(&str, &str)]) {
    for (body, field) in cases {
        let (status, error) = s.send_json(call(method, uri, Some(token), body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error_of(&error).1, Some(*field), "{body}: {error}");
    }
}

fn error_of(body: &Value) -> (&str, Option<&str>) {
    (
        body["error"]["code"].as_str().unwrap(),
        body["error"]["field"].as_str(),
    )
}

#[tokio::test]
async fn a_report_is_accepted_and_counted_once_per_network_and_hour() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let report = json!({"service": "Office 365", "problem": "email", "client": "u1", "city": "Los Angeles", "country": "US"});
    let (status, first) = s.report(report.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(first["counted"], true);
    assert!(first["id"].as_i64().unwrap() > 0);
    let (status, second) = s.report(report).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        second["counted"], false,
        "the same reporter within the hour is a duplicate"
    );
    assert_ne!(first["id"], second["id"], "the duplicate is stored too");
    let (_, forged) = s
        .report_from(
            [127, 0, 0, 77],
            json!({"service": "microsoft-365", "client": "u2"}),
        )
        .await;
    assert_eq!(
        forged["counted"], false,
        "another address and client id of the same /24 is the same voice"
    );
    let (_, other) = s
        .report_from([127, 0, 1, 1], json!({"service": "microsoft-365"}))
        .await;
    assert_eq!(other["counted"], true, "another network counts");

    let (_, service) = s.get("/api/v1/services/microsoft-365").await;
    assert_eq!(service["reports_last_hour"], 2);
}

#[tokio::test]
async fn a_flood_from_one_network_or_one_block_is_no_outage_three_hundred_networks_are() {
    use seismo_core::catalog::ProblemId;
    use seismo_core::report::Report;
    use seismo_core::time::{DAY_MS, MINUTE_MS};

    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let now = parse_rfc3339(NOW).unwrap();
    let aws = Catalog::demo().by_slug("aws").unwrap();
    // The server's ticker, on a clock of the test's.
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(now));
    let mut ticker = Ticker::new(
        s.state.live.clone(),
        {
            let clock = clock.clone();
            Arc::new(move || clock.load(std::sync::atomic::Ordering::Relaxed))
        },
        s.state.clone(),
    );
    let mut aws_incidents = async |until: i64| {
        clock.store(until, std::sync::atomic::Ordering::Relaxed);
        ticker.tick().await.unwrap();
        let engine = s.engine.lock().unwrap();
        engine
            .incidents()
            .iter()
            .filter(|i| i.service == aws)
            .count()
    };
    {
        // Eight days of one report a minute: a learnt baseline of 60 an hour.
        let mut engine = s.engine.lock().unwrap();
        for minute in 0..8 * 24 * 60 {
            let at = now - 8 * DAY_MS - 30 * MINUTE_MS + minute * MINUTE_MS;
            engine.replay(&Signal::Report(Report::from_reporter(
                at,
                aws,
                ProblemId(0),
                Default::default(),
                minute as u64,
            )));
        }
    }
    // A flood from one address: 300 client ids and 300 user agents.
    for n in 0..300u32 {
        let (status, body) = s
            .report_from(
                PEER,
                json!({"service": "aws", "client": format!("user-{n}"), "at": "2026-01-22T18:20:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["counted"], n == 0, "report {n}");
    }
    assert_eq!(
        aws_incidents(now - 5 * MINUTE_MS).await,
        0,
        "one voice is no outage"
    );
    // 250 networks, each counted, but all in one /16: a few of that block's count.
    for n in 0..250u32 {
        let (_, body) = s
            .report_from(
                [127, 200, n as u8, 1],
                json!({"service": "aws", "at": "2026-01-22T18:24:00Z"}),
            )
            .await;
        assert_eq!(body["counted"], true, "network {n}");
    }
    assert_eq!(
        aws_incidents(now - 2 * MINUTE_MS).await,
        0,
        "one block is no outage"
    );
    // The same number from 300 networks of 250 blocks, in the same minutes.
    for n in 0..300u32 {
        let (_, body) = s
            .report_from(
                [127, (n % 250) as u8 + 1, (n / 250) as u8 + 250, 1],
                json!({"service": "aws", "at": "2026-01-22T18:26:00Z"}),
            )
            .await;
        assert_eq!(body["counted"], true, "network {n}");
    }
    assert_eq!(
        aws_incidents(now + 20 * MINUTE_MS).await,
        1,
        "300 voices are"
    );
    let (_, list) = s.get("/api/v1/incidents?service=aws").await;
    let blocks = list["incidents"][0]["reporting_blocks"].as_u64().unwrap();
    assert!(blocks >= 250, "{blocks} blocks");
}

#[tokio::test]
async fn errors_are_json_with_code_and_field() {
    let s = server(WebConfig {
        max_json_body: 200,
        ..WebConfig::default()
    });
    let cases = [
        (
            json!({"service": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_service",
            Some("service"),
        ),
        (
            json!({"problem": "email"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            Some("service"),
        ),
        (
            json!({"service": "aws", "problem": "email"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_problem",
            Some("problem"),
        ),
        (
            json!({"service": "aws", "at": "2026-01-22T18:40:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "time_in_future",
            Some("at"),
        ),
        (
            json!({"service": "aws", "at": "2026-01-10T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "time_too_old",
            Some("at"),
        ),
        (
            json!({"service": "aws", "at": "soon"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
            Some("at"),
        ),
        (
            json!({"service": "aws", "lat": 12.0, "lon": 200.0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_coordinates",
            Some("lon"),
        ),
        (
            json!({"service": "aws", "ip": "nowhere"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_ip",
            Some("ip"),
        ),
        (
            json!({"service": "aws", "sevrice": "x"}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            Some("sevrice"),
        ),
        (
            json!({"service": 42}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("service"),
        ),
    ];
    for (report, status, code, field) in cases {
        let (got, body) = s.report(report.clone()).await;
        assert_eq!((got, error_of(&body)), (status, (code, field)), "{report}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = s.post("application/json", "{\"service\": ").await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, ("malformed_json", None))
    );
    let (status, body) = s.post("text/plain", "{}").await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ("unsupported_media_type", Some("Content-Type"))
        )
    );
    let big = json!({"service": "aws", "client": "x".repeat(300)}).to_string();
    let (status, body) = s.post("application/json", big).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, ("body_too_large", None))
    );
    let (status, body) = s.get("/api/v1/services/nope").await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::NOT_FOUND, ("unknown_service", Some("slug")))
    );
}

#[tokio::test]
async fn old_reports_and_named_reporters_need_an_importer_token() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let importer = s.token("partner", Role::Importer, None);
    let admin = s.token("root", Role::Admin, None);
    let agent = s.token("probe-1", Role::Agent, None);
    let expired = s.token("old-partner", Role::Importer, Some(1));
    let revoked = s.token("leaked", Role::Importer, None);
    s.revoke("leaked");
    let old = json!({"service": "aws", "at": "2025-12-01T00:00:00Z", "client": "partner-user-1"});
    let with = |token: &str, report: &Value| {
        let request = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(report.to_string()))
            .unwrap();
        from(PEER, request)
    };
    let (status, first) = s.send_json(with(&importer, &old)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(first["counted"], true);
    let other_user =
        json!({"service": "aws", "at": "2025-12-01T00:00:00Z", "client": "partner-user-2"});
    let (_, second) = s.send_json(with(&admin, &other_user)).await;
    assert_eq!(
        second["counted"], true,
        "an importer names its reporters: another id from the same address counts"
    );

    for (token, status, code) in [
        ("seismo_guess", StatusCode::UNAUTHORIZED, "invalid_token"),
        (expired.as_str(), StatusCode::UNAUTHORIZED, "invalid_token"),
        (revoked.as_str(), StatusCode::UNAUTHORIZED, "invalid_token"),
        (agent.as_str(), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        let (got, body) = s.send_json(with(token, &old)).await;
        assert_eq!(
            (got, error_of(&body)),
            (status, (code, Some("Authorization"))),
            "{token}"
        );
    }
    let (status, body) = s.report(old).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("time_too_old", Some("at"))
        )
    );
}

#[tokio::test]
async fn the_token_list_is_for_admins_and_never_shows_secrets() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let admin = s.token("root", Role::Admin, None);
    let importer = s.token("partner", Role::Importer, Some(1));
    let list = |token: Option<&str>| {
        let mut request = Request::get("/api/v1/tokens");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        from(PEER, request.body(Body::empty()).unwrap())
    };
    let response = s.router.clone().oneshot(list(None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let (status, body) = s.send_json(list(None)).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::UNAUTHORIZED,
            ("missing_token", Some("Authorization"))
        )
    );
    let (status, _) = s.send_json(list(Some(&importer))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    let fresh = s.token("partner-2", Role::Importer, None);
    let (status, body) = s.send_json(list(Some(&fresh))).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::FORBIDDEN, ("forbidden", Some("Authorization")))
    );
    let (status, body) = s.send_json(list(Some(&admin))).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(&str, &str, &str)> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["role"].as_str().unwrap(),
                t["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("partner", "importer", "expired"),
            ("partner-2", "importer", "active"),
            ("root", "admin", "active")
        ]
    );
    let text = body.to_string();
    assert!(!text.contains(&admin) && !text.contains("digest"), "{text}");
}

#[tokio::test]
async fn ndjson_keeps_good_lines_and_names_bad_ones() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let body = [
        r#"{"service":"aws","client":"a","problem":"console"}"#,
        r#"{"service":"aws","client":"a"}"#,
        "",
        r#"{"service":"not-a-service"}"#,
        "{oops",
        r#"{"service":"GitHub","client":"b","lat":44.98,"lon":-93.27}"#,
        r#"{"service":"github","at":"2026-02-22T00:00:00Z"}"#,
    ]
    .join("\r\n");
    let (status, result) = s.post("application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["accepted"], 3);
    assert_eq!(result["duplicates"], 1);
    assert_eq!(result["rejected_count"], 3);
    let rejected: Vec<(u64, &str)> = result["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["error"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (4, "unknown_service"),
            (5, "malformed_json"),
            (7, "time_in_future")
        ]
    );

    let (_, series) = s.get("/api/v1/services/github/series?from=2026-01-22T18:00:00Z&to=2026-01-22T19:00:00Z&step=3600&by=city").await;
    assert_eq!(
        series["points"],
        json!([{"t": "2026-01-22T18:00:00Z", "count": 1, "key": "Minneapolis, Minnesota, US"}])
    );
}

#[tokio::test]
async fn series_by_problem_and_its_parameter_errors() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    for (network, minute, problem) in [
        (1, "18:01", "email"),
        (2, "18:02", "email"),
        (3, "18:20", "login"),
    ] {
        let at = format!("2026-01-22T{minute}:30Z");
        s.report_from(
            [127, 0, network, 1],
            json!({"service": "m365", "problem": problem, "at": at}),
        )
        .await;
    }
    let (status, total) = s.get("/api/v1/services/microsoft-365/series?from=2026-01-22T18:00:00Z&to=2026-01-22T18:30:00Z&step=900").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(total["by"], "total");
    let counts: Vec<(&str, u64)> = total["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["t"].as_str().unwrap(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [("2026-01-22T18:00:00Z", 2), ("2026-01-22T18:15:00Z", 1)]
    );
    let (_, by_problem) = s.get("/api/v1/services/microsoft-365/series?from=2026-01-22T18:00:00Z&to=2026-01-22T18:30:00Z&step=1800&by=problem").await;
    assert_eq!(
        by_problem["points"],
        json!([{"t": "2026-01-22T18:00:00Z", "count": 2, "key": "email"}, {"t": "2026-01-22T18:00:00Z", "count": 1, "key": "login"}])
    );
    // Default window: the last 24 hours up to now, per minute.
    let (_, default) = s.get("/api/v1/services/microsoft-365/series").await;
    assert_eq!(default["points"].as_array().unwrap().len(), 24 * 60);
    assert_eq!(default["to"], NOW);

    for (query, code, field) in [
        ("step=90", "invalid_step", "step"),
        ("step=0", "invalid_step", "step"),
        ("by=color", "invalid_by", "by"),
        ("from=yesterday", "invalid_time", "from"),
        (
            "from=2026-01-22T19:00:00Z&to=2026-01-22T18:00:00Z",
            "invalid_range",
            "from",
        ),
        (
            "from=2025-01-01T00:00:00Z&step=60",
            "too_many_points",
            "step",
        ),
        ("step=9223372036854775800", "invalid_step", "step"),
        ("step=-60", "invalid_step", "step"),
        ("colour=red", "unknown_parameter", "colour"),
    ] {
        let (status, body) = s.get(&format!("/api/v1/services/aws/series?{query}")).await;
        assert_eq!(
            (status, error_of(&body)),
            (StatusCode::BAD_REQUEST, (code, Some(field))),
            "{query}"
        );
    }
}

#[tokio::test]
async fn old_counts_are_served_from_the_rollups_after_their_reports_are_forgotten() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let importer = s.token("partner", Role::Importer, None);
    for (n, at, problem) in [
        (1, "2025-10-20T10:05:00Z", "email"),
        (2, "2025-10-20T10:50:00Z", "login"),
        (3, "2026-01-12T12:00:00Z", "email"),
        (4, "2026-01-22T17:00:00Z", "email"),
    ] {
        let report =
            json!({"service": "m365", "problem": problem, "at": at, "client": format!("user-{n}")});
        let request = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {importer}"))
            .body(Body::from(report.to_string()))
            .unwrap();
        let (status, _) = s.send_json(from(PEER, request)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // The upkeep rolls them up and forgets October's reports (a retention of 67 days).
    let now = parse_rfc3339(NOW).unwrap();
    let live = s.state.live.clone();
    assert_eq!(live.keep_store(now, 67 * 86_400_000).await.unwrap(), 4);
    let stored = live.writer.read(|store| store.count()).await.unwrap();
    assert_eq!(stored, 2, "October's reports are forgotten");

    let series =
        |query: &str| s.get_owned(format!("/api/v1/services/microsoft-365/series?{query}"));
    let (status, october) =
        series("from=2025-10-20T09:00:00Z&to=2025-10-20T12:00:00Z&step=3600").await;
    assert_eq!(status, StatusCode::OK, "{october}");
    assert_eq!(
        october["points"],
        json!([
            {"t": "2025-10-20T09:00:00Z", "count": 0, "key": null},
            {"t": "2025-10-20T10:00:00Z", "count": 2, "key": null},
            {"t": "2025-10-20T11:00:00Z", "count": 0, "key": null}
        ]),
        "from the roll-ups, zero buckets included"
    );
    let (_, by_problem) =
        series("from=2025-10-20T10:00:00Z&to=2025-10-20T11:00:00Z&step=900&by=problem").await;
    assert_eq!(
        by_problem["points"],
        json!([{"t": "2025-10-20T10:00:00Z", "count": 1, "key": "email"}, {"t": "2025-10-20T10:45:00Z", "count": 1, "key": "login"}])
    );
    // Across the eight days in memory: roll-ups before, minutes after, neither twice.
    let (_, fortnight) =
        series("from=2026-01-08T00:00:00Z&to=2026-01-23T00:00:00Z&step=86400").await;
    let counted: Vec<(&str, u64)> = fortnight["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["count"] != 0)
        .map(|p| (p["t"].as_str().unwrap(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        counted,
        [("2026-01-12T00:00:00Z", 1), ("2026-01-22T00:00:00Z", 1)]
    );
    assert_eq!(fortnight["points"].as_array().unwrap().len(), 15);
    // Two to eight days ago: quarter hours in memory, by city too.
    let (status, by_city) =
        series("from=2026-01-19T00:00:00Z&to=2026-01-19T12:00:00Z&step=900&by=city").await;
    assert_eq!(status, StatusCode::OK, "{by_city}");
    for (query, code, field) in [
        (
            "from=2026-01-19T00:00:00Z&to=2026-01-19T12:00:00Z&step=60",
            "invalid_step",
            "step",
        ),
        (
            "from=2025-10-20T00:00:00Z&to=2025-10-21T00:00:00Z&step=60",
            "invalid_step",
            "step",
        ),
        (
            "from=2025-10-20T00:00:00Z&to=2025-10-21T00:00:00Z&step=3600&by=city",
            "invalid_by",
            "by",
        ),
    ] {
        let (status, body) = series(query).await;
        assert_eq!(
            (status, error_of(&body)),
            (StatusCode::BAD_REQUEST, (code, Some(field))),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn services_list_the_catalog() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let (status, list) = s.get("/api/v1/services").await;
    assert_eq!(status, StatusCode::OK);
    let services = list["services"].as_array().unwrap();
    assert!(services.len() >= 25);
    let mimecast = services.iter().find(|s| s["slug"] == "mimecast").unwrap();
    assert_eq!(mimecast["depends_on"], json!(["microsoft-365"]));
    assert_eq!(
        mimecast["problems"].as_array().unwrap().last().unwrap(),
        "other"
    );
}

#[tokio::test]
async fn the_form_posts_a_report_without_javascript() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let (status, page) = s
        .send(Request::get("/report/slack").body(Body::empty()).unwrap())
        .await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"<form method="post" action="/report/slack">"#),
        "{page}"
    );
    for problem in ["messaging", "login", "calls", "app", "other"] {
        assert!(
            page.contains(&format!(r#"name="problem" value="{problem}""#)),
            "{problem}"
        );
    }
    let post = |body: &'static str, origin: Option<&str>, site: Option<&str>| {
        let mut request = Request::post("/report/slack")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "status.test")
            .header(header::USER_AGENT, "test-browser");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        from(PEER, request.body(Body::from(body)).unwrap())
    };
    let submit = |body: &'static str| post(body, Some("http://status.test"), Some("same-origin"));
    let response = s
        .router
        .clone()
        .oneshot(submit("problem=calls&city=S%C3%A3o+Paulo&country=Brazil"))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "posted, then redirected"
    );
    assert_eq!(
        response.headers()[header::LOCATION],
        "/report/slack?thanks=counted"
    );
    let thanks = s.page("/report/slack?thanks=counted").await;
    assert!(thanks.contains("your report is counted"), "{thanks}");
    assert!(
        thanks.contains(r#"<a href="/services/slack">Back to Slack</a>"#),
        "{thanks}"
    );
    let response = s
        .router
        .clone()
        .oneshot(submit("problem=calls&city=&country="))
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::LOCATION],
        "/report/slack?thanks=duplicate"
    );
    let (status, bad) = s.send(submit("problem=teleportation")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8(bad).unwrap().contains("has no problem"));

    // Another site's page cannot make its visitors post.
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (Some("https://evil.example"), Some("cross-site")),
        (Some("http://status.test"), Some("cross-site")),
        (None, None),
        (Some("null"), None),
    ] {
        let (status, page) = s.send(post("problem=calls", origin, site)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert!(String::from_utf8(page).unwrap().contains("own report page"));
    }
    // A browser that sends a Referer and no Origin, from the public address.
    let referred = from(
        [127, 0, 99, 1],
        Request::post("/report/zoom")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::REFERER, "http://localhost:8080/services/zoom")
            .body(Body::from("problem=other"))
            .unwrap(),
    );
    assert_eq!(s.send(referred).await.0, StatusCode::SEE_OTHER);

    let (_, series) = s.get("/api/v1/services/slack/series?from=2026-01-22T18:00:00Z&to=2026-01-22T19:00:00Z&step=3600&by=city").await;
    assert_eq!(series["points"][0]["key"], "São Paulo, Sao Paulo, BR");
    assert_eq!(series["points"][0]["count"], 1);
    let (status, _) = s
        .send(Request::get("/report/nope").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn incidents_are_listed_filtered_and_shown() {
    use seismo_core::catalog::ProblemId;
    use seismo_core::report::Report;
    use seismo_core::time::{DAY_MS, HOUR_MS, MINUTE_MS};

    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let start = parse_rfc3339(NOW).unwrap() - 9 * DAY_MS;
    {
        let mut engine = s.engine.lock().unwrap();
        let catalog = engine.catalog().clone();
        let slack = catalog.by_slug("slack").unwrap();
        let mut reporters = 0;
        let dallas = Gazetteer::embedded().resolve_named(Some("Dallas"), Some("US"), None);
        // Eight days of one report a minute, then forty a minute for half an hour.
        for minute in 0..(8 * 24 * 60 + 30) {
            let at = start + minute * MINUTE_MS;
            let count = if minute >= 8 * 24 * 60 { 40 } else { 1 };
            let report = |service, reporter| {
                Signal::Report(Report {
                    at,
                    received: at,
                    service,
                    problem: ProblemId(0),
                    place: dallas,
                    client: reporter,
                    block: reporter,
                })
            };
            for _ in 0..count {
                reporters += 1;
                engine.replay(&report(slack, reporters));
            }
            // Zoom's first report, five hours before the end: a baseline that learns.
            if minute == 8 * 24 * 60 - 300 {
                engine.replay(&report(catalog.by_slug("zoom").unwrap(), 0));
            }
        }
        assert_eq!(engine.incidents().len(), 1);
    }
    // Slack has eight days of history; Zoom five hours; AWS none.
    let (_, slack) = s.get("/api/v1/services/slack").await;
    assert_eq!(
        (&slack["learning"], &slack["ready_at"]),
        (&json!(false), &Value::Null)
    );
    let (_, zoom) = s.get("/api/v1/services/zoom").await;
    assert_eq!(zoom["learning"], true);
    let zoom_first_hour = (start + (8 * 24 * 60 - 300) * MINUTE_MS) / HOUR_MS * HOUR_MS;
    assert_eq!(
        parse_rfc3339(zoom["ready_at"].as_str().unwrap()).unwrap(),
        zoom_first_hour + (7 * 24 + 2) * HOUR_MS,
        "a week of hours after its first, once the last is closed"
    );
    let (_, aws) = s.get("/api/v1/services/aws").await;
    assert_eq!(
        (&aws["learning"], &aws["ready_at"]),
        (&json!(true), &Value::Null)
    );
    let (status, list) = s.get("/api/v1/incidents").await;
    assert_eq!(status, StatusCode::OK);
    let incident = &list["incidents"][0];
    assert_eq!(incident["service"], "slack");
    let id = incident["id"].as_u64().unwrap();
    let detected = parse_rfc3339(incident["detected_at"].as_str().unwrap()).unwrap();
    let slack = Catalog::demo().by_slug("slack").unwrap();
    assert_eq!(
        id,
        (detected / 60_000) as u64 * (1 << 20) + u64::from(slack.0),
        "the id is the detection minute and the service"
    );
    assert_eq!(incident["cities"][0]["city"], "Dallas");
    assert_eq!(incident["problems"][0]["problem"], "messaging");
    assert!(["suspected", "confirmed"].contains(&incident["state"].as_str().unwrap()));

    let (_, active) = s.get("/api/v1/incidents?state=active&service=slack").await;
    assert_eq!(active["incidents"].as_array().unwrap().len(), 1);
    let (_, none) = s.get("/api/v1/incidents?service=zoom").await;
    assert!(none["incidents"].as_array().unwrap().is_empty());
    let (_, resolved) = s.get("/api/v1/incidents?state=resolved").await;
    assert!(resolved["incidents"].as_array().unwrap().is_empty());
    let (status, one) = s.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["log"][0]["event"], "opened");
    assert_eq!(one["log"][0]["evidence"]["kind"], "reports", "{one}");
    assert!(one["log"][0]["evidence"]["observed"].as_u64().unwrap() > 0);

    for (uri, status, code, field) in [
        (
            "/api/v1/incidents/1",
            StatusCode::NOT_FOUND,
            "unknown_incident",
            "id",
        ),
        (
            "/api/v1/incidents/x",
            StatusCode::NOT_FOUND,
            "unknown_incident",
            "id",
        ),
        (
            "/api/v1/incidents?state=burning",
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "state",
        ),
        (
            "/api/v1/incidents?service=nope",
            StatusCode::BAD_REQUEST,
            "unknown_service",
            "service",
        ),
    ] {
        let (got, body) = s.get(uri).await;
        assert_eq!(
            (got, error_of(&body)),
            (status, (code, Some(field))),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn read_mostly_pages_are_kept_briefly_and_revalidated_by_etag() {
    // Within the freshness period a page is served as rendered; with none, afresh.
    for (fresh_for, shows_the_new_report) in [(5_000, false), (0, true)] {
        let s = server(WebConfig {
            fresh_for,
            ..WebConfig::default()
        });
        let page = || async {
            let (_, body) = s
                .send(
                    Request::get("/services/microsoft-365")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            String::from_utf8(body).unwrap()
        };
        assert!(page().await.contains("0 reports in the last hour"));
        s.report(json!({"service": "microsoft-365", "client": "u1"}))
            .await;
        assert_eq!(
            page().await.contains("1 reports in the last hour"),
            shows_the_new_report,
            "fresh_for {fresh_for}"
        );
    }

    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let get = |etag: Option<&str>| {
        let mut request = Request::get("/api/v2/summary.json");
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        s.router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=5");
    assert_eq!(first.headers()[header::CONTENT_TYPE], "application/json");
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();
    let again = get(Some(&etag)).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::ETAG], etag.as_str());
    assert_eq!(
        get(Some("\"other\"")).await.unwrap().status(),
        StatusCode::OK
    );
    // Errors are not kept.
    let missing = s
        .router
        .clone()
        .oneshot(Request::get("/services/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(header::ETAG).is_none());
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_real_routes() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let (status, document) = s.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "/agent/assignments",
            "/agent/results",
            "/agents",
            "/channels",
            "/channels/{name}",
            "/events",
            "/incidents",
            "/incidents/{id}",
            "/incidents/{id}/updates",
            "/maintenances",
            "/maintenances/{id}",
            "/notifications",
            "/posts",
            "/posts/{id}",
            "/reports",
            "/services",
            "/services/{slug}",
            "/services/{slug}/official",
            "/services/{slug}/posts",
            "/services/{slug}/probes",
            "/services/{slug}/probes/{probe}/history",
            "/services/{slug}/series",
            "/silences",
            "/silences/{id}",
            "/subscriptions",
            "/tokens",
            "/tokens/{name}"
        ]
    );
    // Every documented operation reaches its handler: not the fallback's `not_found`,
    // not 405.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let uri = format!(
                "/api/v1{}",
                path.replace("{slug}", "microsoft-365")
                    .replace("{id}", "1")
                    .replace("{probe}", "smtp")
                    .replace("{name}", "nobody")
            );
            let request = match method.as_str() {
                "get" => Request::get(&uri).body(Body::empty()).unwrap(),
                "post" => Request::post(&uri)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(r#"{"service": "microsoft-365"}"#))
                    .unwrap(),
                "put" => Request::put(&uri)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
                "delete" => Request::delete(&uri).body(Body::empty()).unwrap(),
                other => panic!("undocumented method {other}"),
            };
            let response = s.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            if path == "/events" {
                assert_eq!(
                    response.headers()[header::CONTENT_TYPE],
                    "text/event-stream"
                );
                continue;
            }
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_ne!(body["error"]["code"], "not_found", "{method} {uri}: {body}");
            // Each status the route answered is one the document declares.
            assert!(
                item[method]["responses"].get(status.as_str()).is_some(),
                "{method} {uri} answered {status}, not documented"
            );
        }
    }
}

#[tokio::test]
async fn a_burst_is_answered_429_with_retry_after_per_address_and_per_network() {
    let s = server(WebConfig {
        rates: Rates {
            per_ip_per_minute: NonZeroU32::new(5).unwrap(),
            per_network_per_minute: NonZeroU32::new(8).unwrap(),
            per_token_per_minute: NonZeroU32::new(20).unwrap(),
        },
        ..WebConfig::default()
    });
    let report = json!({"service": "aws"});
    let statuses = async |ip: [u8; 4], n: usize| {
        let mut statuses = Vec::new();
        for _ in 0..n {
            statuses.push(s.report_from(ip, report.clone()).await.0.as_u16());
        }
        statuses
    };
    assert_eq!(
        statuses([127, 0, 5, 1], 6).await,
        [202, 202, 202, 202, 202, 429]
    );
    assert_eq!(
        statuses([127, 0, 5, 2], 4).await,
        [202, 202, 202, 429],
        "the network's bucket holds 8"
    );
    assert_eq!(
        statuses([127, 0, 6, 1], 1).await,
        [202],
        "another network is not held back"
    );

    let request = from(
        [127, 0, 5, 3],
        Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(report.to_string()))
            .unwrap(),
    );
    let response = s.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&wait), "{wait}");
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(error_of(&body), ("rate_limited", None));

    // A token has its own, larger bucket, wherever it comes from.
    let token = s.token("partner", Role::Importer, None);
    for n in 0..21 {
        let request = from(
            [127, 0, 5, 1],
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(report.to_string()))
                .unwrap(),
        );
        let (status, _) = s.send(request).await;
        let expected = if n < 20 {
            StatusCode::ACCEPTED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "token request {n}");
    }
    // The form is a write route too.
    let form = from(
        [127, 0, 5, 1],
        Request::post("/report/aws")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://localhost:8080")
            .body(Body::from("problem=console"))
            .unwrap(),
    );
    assert_eq!(s.send(form).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ndjson_without_a_token_is_capped_in_lines_and_bad_lines_cost_a_count() {
    let s = server(WebConfig {
        rates: unlimited(),
        max_json_body: 1024,
        ..WebConfig::default()
    });
    let lines = |n: usize, line: &str| vec![line; n].join("\n");
    let (status, body) = s
        .post("application/x-ndjson", lines(101, r#"{"service":"aws"}"#))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, ("too_many_lines", None))
    );
    let (_, aws) = s.get("/api/v1/services/aws").await;
    assert_eq!(
        aws["reports_last_hour"], 0,
        "nothing of a refused body is stored"
    );
    let (status, body) = s
        .post("application/x-ndjson", lines(100, r#"{"service":"aws"}"#))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(100), &json!(99))
    );

    let token = s.token("partner", Role::Importer, None);
    let mut bad = lines(250_000, "{}");
    bad.push('\n');
    bad.push_str(&"x".repeat(5_000));
    bad.push_str("\n{\"service\":\"github\"}");
    let request = from(
        PEER,
        Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(bad))
            .unwrap(),
    );
    let (status, body) = s.send_json(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["accepted"], 1,
        "the line after a line too long is read"
    );
    assert_eq!(body["rejected_count"], 250_001);
    let listed = body["rejected"].as_array().unwrap();
    assert_eq!(listed.len(), 100, "only the first hundred are listed");
    assert_eq!(
        (
            listed[0]["line"].as_u64(),
            listed[0]["error"]["code"].as_str()
        ),
        (Some(1), Some("missing_field"))
    );
}

#[tokio::test]
async fn links_come_from_the_public_url_and_the_cache_keeps_only_real_pages() {
    let s = server(WebConfig {
        rates: unlimited(),
        public_url: "https://status.example.org".into(),
        ..WebConfig::default()
    });
    let forged = |uri: &str| {
        Request::get(uri)
            .header(header::HOST, "evil.example")
            .body(Body::empty())
            .unwrap()
    };
    let (_, feed) = s.send(forged("/feed.atom")).await;
    let feed = String::from_utf8(feed).unwrap();
    assert!(
        feed.contains("https://status.example.org/feed.atom"),
        "{feed}"
    );
    assert!(!feed.contains("evil.example"));
    let (_, summary) = s.send_json(forged("/api/v2/summary.json")).await;
    assert_eq!(summary["page"]["url"], "https://status.example.org");

    // Searches and made-up parameters do not grow the cache.
    let before = s.state.pages.size();
    let long = "x".repeat(60_000);
    for n in 0..50 {
        let (status, _) = s.send(forged(&format!("/?q={long}{n}"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.send(forged(&format!("/?utm={n}"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.send(forged(&format!("/services/nope{n}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let after = s.state.pages.size();
    assert_eq!(
        after.0,
        before.0 + 1,
        "one page, /, whatever its parameters"
    );
    assert!(after.1 < before.1 + 200_000, "{before:?} -> {after:?}");

    // Found by fuzzing (fuzz/ http): a path that is not valid percent-encoding got
    // axum's plain-text refusal.
    for uri in [
        "/api/v1/incidents/%%%%%ea",
        "/api/v1/services/%FF%FE/series",
    ] {
        let (status, body) = s.get(uri).await;
        assert_eq!(
            (status, error_of(&body)),
            (StatusCode::BAD_REQUEST, ("invalid_path", None)),
            "{uri}"
        );
    }
    let (status, body) = s.get("/api/v1/incidents?servce=aws").await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            ("unknown_parameter", Some("servce"))
        )
    );
}

#[tokio::test]
async fn pages_forbid_framing_and_inline_code_except_the_widget_frames() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let headers = async |uri: &str| {
        let response = s
            .router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        response.headers().clone()
    };
    for uri in ["/", "/services/aws", "/report/aws", "/feed.atom"] {
        let h = headers(uri).await;
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
        let policy = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"),
            "{uri}: {policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{uri}: {policy}");
    }
    // JSON is never rendered: it needs no policy, only nosniff.
    let json = headers("/api/v1/services").await;
    assert_eq!(json[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(json.get(header::CONTENT_SECURITY_POLICY).is_none());
    let widget = headers("/widget/aws").await;
    assert!(widget.get(header::X_FRAME_OPTIONS).is_none());
    assert!(
        !widget[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors")
    );
    // The pages hold no inline script or style for the policy to block.
    let page = s.page("/services/aws").await;
    assert!(!page.contains("<script>") && !page.contains("<style>") && !page.contains("style="));
    let (status, _) = s
        .send(Request::get("/assets/site.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let s = server(WebConfig {
        rates: unlimited(),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..WebConfig::default()
    });
    let post = async |peer: [u8; 4], forwarded: &str| {
        let request = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", forwarded)
            .body(Body::from(r#"{"service":"aws"}"#))
            .unwrap();
        let (_, body) = s.send_json(from(peer, request)).await;
        body["counted"].as_bool().unwrap()
    };
    let proxy = [127, 0, 0, 1];
    assert!(
        post(proxy, "198.51.100.7").await,
        "the client behind the proxy"
    );
    assert!(!post(proxy, "198.51.100.9").await, "its network again");
    assert!(post(proxy, "203.0.113.5").await, "another client's network");
    assert!(
        !post(proxy, "10.9.9.9, 198.51.100.7").await,
        "an entry the client wrote itself is not believed: the proxy's is"
    );
    assert!(
        post([127, 0, 5, 5], "192.0.2.1").await,
        "an untrusted peer is itself"
    );
    assert!(
        !post([127, 0, 5, 6], "192.0.2.77").await,
        "and its X-Forwarded-For is ignored"
    );
}

const MAIL_CATALOG: &str = r#"
[[service]]
slug = "mail"
name = "Mail"

[[service.probe]]
name = "mx"
kind = "smtp"
target = "mx.mail.test:25"
mail_from = "probe@seismo.test"
rcpt_to = "postmaster@mail.test"
quorum = 2

[[service.probe]]
kind = "tcp"
target = "mx.mail.test:587"
"#;

fn smtp_result(location: &str, at: &str, code: u16) -> seismo_core::probe::ProbeResult {
    use seismo_core::probe::{Detail, Failure, FailureKind, Outcome, ReplyClass, SmtpStep};
    let ok = code == 250;
    seismo_core::probe::ProbeResult {
        service: "mail".into(),
        probe: "mx".into(),
        location: location.into(),
        at: parse_rfc3339(at).unwrap(),
        attempts: if ok { 1 } else { 2 },
        outcome: Outcome {
            ok,
            latency_ms: 80,
            failure: (!ok).then(|| {
                Failure::new(
                    FailureKind::Unexpected,
                    format!("RCPT TO answered {code} 4.3.2 Temporary server error"),
                )
            }),
            detail: Detail::Smtp {
                steps: vec![SmtpStep {
                    step: "rcpt_to".into(),
                    code,
                    enhanced_code: Some("4.3.2".into()),
                    class: ReplyClass::of(code),
                    text: "Temporary server error".into(),
                    elapsed_ms: 20,
                }],
                tls: false,
            },
        },
    }
}

#[tokio::test]
async fn probes_show_the_latest_run_per_location_and_their_history() {
    let catalog = Catalog::parse("mail.toml", MAIL_CATALOG).unwrap();
    let s = server_of(WebConfig::default(), catalog);
    s.state
        .live
        .record_probe_results(vec![
            smtp_result("Dallas, US", "2026-01-22T18:27:00Z", 250),
            smtp_result("Dallas, US", "2026-01-22T18:29:00Z", 451),
            smtp_result("Seattle, US", "2026-01-22T18:29:00Z", 250),
            // A place not heard from for half an hour (its agent is down).
            smtp_result("Boston, US", "2026-01-22T18:00:00Z", 451),
        ])
        .await
        .unwrap();

    let (status, body) = s.get("/api/v1/services/mail/probes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let probes = body["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2, "every declared probe, run or not");
    assert_eq!(
        (
            &probes[0]["name"],
            &probes[0]["kind"],
            &probes[0]["target"],
            &probes[0]["quorum"]
        ),
        (
            &json!("mx"),
            &json!("smtp"),
            &json!("mx.mail.test:25"),
            &json!(2)
        )
    );
    assert_eq!(probes[1]["name"], "tcp mx.mail.test:587");
    assert_eq!(probes[1]["locations"], json!([]));
    assert_eq!(probes[1]["state"], "unknown");
    // Dallas fails, Seattle passes: one of two, under the declared quorum of two.
    assert_eq!(
        (
            &probes[0]["state"],
            &probes[0]["failing_locations"],
            &probes[0]["reporting_locations"]
        ),
        (&json!("location_problem"), &json!(1), &json!(2))
    );
    let dallas = &probes[0]["locations"][1];
    assert_eq!(dallas["location"], "Dallas, US");
    assert_eq!(dallas["at"], "2026-01-22T18:29:00Z", "the latest run");
    assert_eq!(
        (&dallas["ok"], &dallas["attempts"]),
        (&json!(false), &json!(2))
    );
    assert_eq!(dallas["error"]["kind"], "unexpected");
    assert_eq!(
        dallas["error"]["message"],
        "RCPT TO answered 451 4.3.2 Temporary server error"
    );
    let step = &dallas["detail"]["steps"][0];
    assert_eq!(
        (
            &step["step"],
            &step["code"],
            &step["enhanced_code"],
            &step["class"],
            &step["text"]
        ),
        (
            &json!("rcpt_to"),
            &json!(451),
            &json!("4.3.2"),
            &json!("transient"),
            &json!("Temporary server error")
        )
    );
    assert_eq!(probes[0]["locations"][2]["ok"], true);

    let (status, body) = s
        .get("/api/v1/services/mail/probes/mx/history?since=2026-01-22T18:00:00Z&location=Dallas,%20US")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let times: Vec<&str> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["at"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["2026-01-22T18:27:00Z", "2026-01-22T18:29:00Z"]);
    let (_, body) = s
        .get("/api/v1/services/mail/probes/mx/history?limit=1")
        .await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 1);

    // The service page's probe panel: a row per probe and location, the last failure
    // in the remote's words, a probe not run yet said so.
    let (status, page) = s
        .send(Request::get("/services/mail").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    let panel = &page[page.find("<h2>Probes</h2>").expect("a probe panel")..];
    let rows: Vec<&str> = panel.split("<tr data-probe=").skip(1).collect();
    assert_eq!(rows.len(), 4, "{panel}");
    assert!(
        rows[0].contains("Boston, US") && rows[0].contains(">silent<"),
        "{}",
        rows[0]
    );
    let rows = &rows[1..];
    assert!(
        rows[0].contains("Dallas, US") && rows[0].contains(">failing<"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("RCPT TO answered 451 4.3.2 Temporary server error"));
    assert!(rows[0].contains("<svg class=\"sparkline\""));
    assert!(
        rows[1].contains("Seattle, US") && rows[1].contains(">ok<"),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains(">none<"), "{}", rows[1]);
    assert!(rows[2].contains("tcp mx.mail.test:587") && rows[2].contains("not run yet"));

    for (uri, status, code, field) in [
        (
            "/api/v1/services/mail/probes/nope/history",
            404,
            "unknown_probe",
            "probe",
        ),
        (
            "/api/v1/services/nope/probes",
            404,
            "unknown_service",
            "slug",
        ),
        (
            "/api/v1/services/mail/probes/mx/history?limit=0",
            400,
            "invalid_limit",
            "limit",
        ),
        (
            "/api/v1/services/mail/probes/mx/history?since=yesterday",
            400,
            "invalid_time",
            "since",
        ),
        (
            "/api/v1/services/mail/probes/mx/history?from=x",
            400,
            "unknown_parameter",
            "from",
        ),
    ] {
        let (got, body) = s.get(uri).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert_eq!(error_of(&body), (code, Some(field)), "{uri}");
    }
}

#[tokio::test]
async fn agents_need_their_token_and_their_bad_results_are_named_not_stored() {
    let s = server_of(
        WebConfig::default(),
        Catalog::parse("mail.toml", MAIL_CATALOG).unwrap(),
    );
    let agent = s.token("edge", Role::Agent, None);
    let importer = s.token("partner", Role::Importer, None);
    let assignments = |token: Option<&str>| {
        let mut request = Request::get("/api/v1/agent/assignments?location=Dallas,%20US");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(
        s.send_json(assignments(None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.send_json(assignments(Some(&importer))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = s.send_json(assignments(Some(&agent))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let probes = body["assignments"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        (
            &probes[0]["service"],
            &probes[0]["probe"]["name"],
            &probes[0]["probe"]["kind"],
            &probes[0]["probe"]["interval"]
        ),
        (&json!("mail"), &json!("mx"), &json!("smtp"), &json!("1m"))
    );
    let (_, agents) = s.get("/api/v1/agents").await;
    assert_eq!(
        agents,
        json!([{"location": "Dallas, US", "last_contact": NOW, "state": "up"}])
    );

    let post = |body: Value| {
        Request::post("/api/v1/agent/results")
            .header(header::AUTHORIZATION, format!("Bearer {agent}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let run = |probe: &str, at: &str| {
        json!({"service": "mail", "probe": probe, "at": at, "attempts": 1, "ok": true,
               "latency_ms": 12, "error": null, "detail": {"kind": "tcp"}})
    };
    let (status, body) = s
        .send_json(post(json!({"location": "Dallas, US", "results": [
            run("mx", "2026-01-22T18:29:00Z"),
            run("nope", "2026-01-22T18:29:00Z"),
            run("mx", "2026-01-20T18:29:00Z"),
        ]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    let fields: Vec<&str> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["results[1].probe", "results[2].at"]);
    let (_, probes) = s.get("/api/v1/services/mail/probes").await;
    assert_eq!(
        probes["probes"][0]["locations"][0]["location"],
        "Dallas, US"
    );

    let (status, body) = s
        .send_json(post(json!({"location": "", "results": []})))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            ("invalid_location", Some("location"))
        )
    );
    let (status, body) = s
        .send_json(post(
            json!({"location": "Dallas", "results": [{"service": "mail"}]}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "invalid_json");
    assert_eq!(
        error_of(&body).1,
        Some("results[0].probe"),
        "the missing field named: {body}"
    );
}

#[tokio::test]
async fn maintenance_shows_on_the_site_and_in_the_statuspage_api() {
    let maintenance =
        |text: &str| -> seismo_core::maintenance::Maintenance { toml::from_str(text).unwrap() };
    let s = server(WebConfig {
        maintenances: vec![
            // Open now (18:30): AWS's console upgrade, 18:00 to 20:00.
            maintenance(
                "title = \"Console upgrade\"\nservices = [\"aws\"]\nstarts = \"2026-01-22T18:00:00Z\"\nduration = \"2h\"\nmessage = \"The console may log you out.\"\n",
            ),
            // Weekly on Thursdays at 02:00: the last closed this morning, the next in a week.
            maintenance(
                "title = \"Slack patching\"\nservices = [\"slack\"]\nstarts = \"2026-01-01T02:00:00Z\"\nduration = \"1h\"\nevery = \"7days\"\n",
            ),
        ],
        ..WebConfig::default()
    });
    let (_, components) = s.get("/api/v2/components.json").await;
    let status_of = |slug: &str| {
        components["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == slug)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of("aws"), "under_maintenance");
    assert_eq!(status_of("slack"), "operational");
    let (_, status) = s.get("/api/v2/status.json").await;
    assert_eq!(status["status"]["indicator"], "maintenance");

    let (_, active) = s.get("/api/v2/scheduled-maintenances/active.json").await;
    let active = active["scheduled_maintenances"].as_array().unwrap().clone();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["name"], "Console upgrade");
    assert_eq!(active[0]["status"], "in_progress");
    assert_eq!(active[0]["impact"], "maintenance");
    assert_eq!(active[0]["scheduled_for"], "2026-01-22T18:00:00Z");
    assert_eq!(active[0]["scheduled_until"], "2026-01-22T20:00:00Z");
    assert_eq!(active[0]["components"][0]["id"], "aws");
    assert_eq!(
        active[0]["incident_updates"][1]["body"],
        "The console may log you out."
    );
    let (_, upcoming) = s.get("/api/v2/scheduled-maintenances/upcoming.json").await;
    let upcoming = upcoming["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0]["name"], "Slack patching");
    assert_eq!(upcoming[0]["status"], "scheduled");
    assert_eq!(upcoming[0]["scheduled_for"], "2026-01-29T02:00:00Z");
    let (_, all) = s.get("/api/v2/scheduled-maintenances.json").await;
    let statuses: Vec<&str> = all["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["scheduled", "in_progress", "completed"]);
    let (_, summary) = s.get("/api/v2/summary.json").await;
    assert_eq!(
        summary["scheduled_maintenances"].as_array().unwrap().len(),
        2
    );

    let (_, home) = s.send(Request::get("/").body(Body::empty()).unwrap()).await;
    let home = String::from_utf8(home.to_vec()).unwrap();
    let aws_row = home.split("data-slug=\"aws\"").nth(1).unwrap();
    let aws_row = aws_row.split("</tr>").next().unwrap();
    assert!(aws_row.contains("Under maintenance"), "{aws_row}");
    let page = s.page("/services/aws").await;
    assert!(page.contains("Under maintenance until <time datetime=\"2026-01-22T20:00:00Z\">"));
    let slack = s.page("/services/slack").await;
    assert!(slack.contains("Maintenance planned from <time datetime=\"2026-01-29T02:00:00Z\">"));
}

#[tokio::test]
async fn operators_add_list_and_end_silences_and_nobody_else_may() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let operator = s.token("ops", Role::Operator, None);
    let revoked = s.token("old-ops", Role::Operator, None);
    s.revoke("old-ops");
    let importer = s.token("partner", Role::Importer, None);
    let request = call;
    let good = r#"{"services": ["microsoft-365"], "until": "2026-01-22T20:00:00Z", "comment": "known: MO1221364"}"#;
    let wrong = format!("seismo_{}", "0".repeat(64));
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(wrong.as_str()), StatusCode::UNAUTHORIZED),
        (Some(revoked.as_str()), StatusCode::UNAUTHORIZED),
        (Some(importer.as_str()), StatusCode::FORBIDDEN),
    ] {
        for (method, uri) in [
            ("GET", "/api/v1/silences"),
            ("POST", "/api/v1/silences"),
            ("DELETE", "/api/v1/silences/1"),
        ] {
            let (got, _) = s.send_json(request(method, uri, token, good)).await;
            assert_eq!(got, status, "{method} {uri} with {token:?}");
        }
    }
    // Mistakes name their field.
    refused_naming(
        &s,
        "POST",
        "/api/v1/silences",
        &operator,
        &[
            (
                r#"{"services": ["myspace"], "until": "2026-01-22T20:00:00Z"}"#,
                "services",
            ),
            (
                r#"{"services": ["aws"], "until": "2026-01-22T18:00:00Z"}"#,
                "until",
            ),
            (r#"{"services": ["aws"], "until": "tonight"}"#, "until"),
            (r#"{"until": "2026-01-22T20:00:00Z"}"#, "services"),
            (
                r#"{"services": ["aws"], "until": "2026-01-22T20:00:00Z", "forever": true}"#,
                "forever",
            ),
        ],
    )
    .await;
    let (status, created) = s
        .send_json(request("POST", "/api/v1/silences", Some(&operator), good))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["services"], json!(["microsoft-365"]));
    assert_eq!(created["created_by"], "ops");
    assert_eq!(created["comment"], "known: MO1221364");
    let id = created["id"].as_i64().unwrap();
    let (_, listed) = s
        .send_json(request("GET", "/api/v1/silences", Some(&operator), ""))
        .await;
    assert_eq!(listed["silences"][0]["id"], id);
    let end = format!("/api/v1/silences/{id}");
    let (status, _) = s.send(request("DELETE", &end, Some(&operator), "")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = s
        .send_json(request("DELETE", &end, Some(&operator), ""))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "unknown_silence")
    );
    let (_, listed) = s
        .send_json(request("GET", "/api/v1/silences", Some(&operator), ""))
        .await;
    assert_eq!(listed["silences"], json!([]));
}

#[tokio::test]
async fn operators_declare_update_and_take_over_incidents_and_nobody_else_may() {
    use seismo_core::catalog::ProblemId;
    use seismo_core::report::Report;
    use seismo_core::time::{DAY_MS, MINUTE_MS};

    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    // Eight days of one Slack report a minute, then forty a minute for half an hour:
    // a detected incident to take over.
    {
        let mut engine = s.engine.lock().unwrap();
        let slack = engine.catalog().by_slug("slack").unwrap();
        let start = parse_rfc3339(NOW).unwrap() - 8 * DAY_MS - 30 * MINUTE_MS;
        let mut reporter = 0;
        for minute in 0..(8 * 24 * 60 + 30) {
            let at = start + minute * MINUTE_MS;
            for _ in 0..if minute >= 8 * 24 * 60 { 40 } else { 1 } {
                reporter += 1;
                engine.replay(&Signal::Report(Report::from_reporter(
                    at,
                    slack,
                    ProblemId(0),
                    Default::default(),
                    reporter,
                )));
            }
        }
        assert_eq!(engine.incidents().len(), 1);
    }
    let detected = s.get("/api/v1/incidents").await.1["incidents"][0]["id"]
        .as_u64()
        .unwrap();
    let operator = s.token("ops", Role::Operator, None);
    let revoked = s.token("old-ops", Role::Operator, None);
    s.revoke("old-ops");
    let importer = s.token("partner", Role::Importer, None);
    let request = call;
    let declare = r#"{"title": "Mail to Outlook bounces", "services": ["microsoft-365", "slack"],
        "message": "We **see** bounces <script>alert(1)</script>", "impact": "critical",
        "components": ["Exchange Online"]}"#;
    let updates = format!("/api/v1/incidents/{detected}/updates");
    let wrong = format!("seismo_{}", "0".repeat(64));
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(wrong.as_str()), StatusCode::UNAUTHORIZED),
        (Some(revoked.as_str()), StatusCode::UNAUTHORIZED),
        (Some(importer.as_str()), StatusCode::FORBIDDEN),
    ] {
        for uri in ["/api/v1/incidents", updates.as_str()] {
            let (got, _) = s.send_json(request("POST", uri, token, declare)).await;
            assert_eq!(got, status, "POST {uri} with {token:?}");
        }
    }
    assert_eq!(
        s.get("/api/v1/incidents").await.1["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing refused was declared"
    );
    // Mistakes name their field.
    refused_naming(
        &s,
        "POST",
        "/api/v1/incidents",
        &operator,
        &[
            (
                r#"{"title": " ", "services": ["aws"], "message": "x"}"#,
                "title",
            ),
            (
                r#"{"title": "x", "services": [], "message": "x"}"#,
                "services",
            ),
            (
                r#"{"title": "x", "services": ["myspace"], "message": "x"}"#,
                "services",
            ),
            (
                r#"{"title": "x", "services": ["aws"], "message": ""}"#,
                "message",
            ),
            (r#"{"title": "x", "services": ["aws"]}"#, "message"),
            (
                r#"{"title": "x", "services": ["aws"], "message": "x", "state": "false_alarm"}"#,
                "state",
            ),
            (
                r#"{"title": "x", "services": ["aws"], "message": "x", "state": "fixed"}"#,
                "state",
            ),
            (
                r#"{"title": "x", "services": ["aws"], "message": "x", "severity": 1}"#,
                "severity",
            ),
        ],
    )
    .await;

    let (status, declared) = s
        .send_json(request(
            "POST",
            "/api/v1/incidents",
            Some(&operator),
            declare,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{declared}");
    assert_eq!(declared["declared"]["title"], "Mail to Outlook bounces");
    assert_eq!(
        declared["declared"]["service_names"],
        json!(["Microsoft 365", "Slack"])
    );
    assert_eq!(declared["state"], "confirmed");
    assert_eq!(declared["impact"], "critical");
    assert_eq!(declared["updates"][0]["by"], "ops");
    assert_eq!(declared["updates"][0]["state"], "investigating");
    let id = declared["id"].as_u64().unwrap();
    assert!(id > 1 << 52, "numbered apart from detected incidents: {id}");

    // Public at once: the list, the pages, the Atom feed and the Statuspage API.
    let (_, slack_list) = s.get("/api/v1/incidents?service=slack").await;
    assert!(
        slack_list["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id),
        "listed under every service it names"
    );
    let page = s.page("/services/microsoft-365").await;
    assert!(page.contains("Mail to Outlook bounces"), "{page}");
    assert!(
        page.contains("We <strong>see</strong> bounces"),
        "Markdown rendered"
    );
    assert!(
        !page.contains("<script>alert(1)") && page.contains("&lt;script&gt;alert(1)"),
        "raw HTML shown as text"
    );
    let (_, feed) = s
        .send(
            Request::get("/services/microsoft-365/feed.atom")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        String::from_utf8(feed)
            .unwrap()
            .contains("Mail to Outlook bounces")
    );
    let (_, v2) = s.get("/api/v2/incidents/unresolved.json").await;
    let listed = v2["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_str() == Some(id.to_string().as_str()))
        .expect("in /api/v2");
    assert_eq!(listed["name"], "Mail to Outlook bounces");
    assert_eq!(listed["status"], "investigating");
    assert_eq!(listed["impact"], "critical");
    assert_eq!(listed["components"].as_array().unwrap().len(), 2);
    assert!(
        listed["incident_updates"][0]["body"]
            .as_str()
            .unwrap()
            .starts_with("We **see** bounces")
    );

    // Its operator moves it along, then it is over.
    let post_update = |incident: u64, body: &'static str| {
        let uri = format!("/api/v1/incidents/{incident}/updates");
        let request = request("POST", &uri, Some(&operator), body);
        async { s.send_json(request).await }
    };
    let (status, moved) =
        post_update(id, r#"{"state": "monitoring", "message": "A fix is out"}"#).await;
    assert_eq!(
        (status, &moved["state"]),
        (StatusCode::CREATED, &json!("recovering"))
    );
    let (status, error) =
        post_update(id, r#"{"state": "false_alarm", "message": "never mind"}"#).await;
    assert_eq!(
        (status, error_of(&error).1),
        (StatusCode::BAD_REQUEST, Some("state"))
    );
    let (status, done) = post_update(id, r#"{"state": "resolved", "message": "Fixed"}"#).await;
    assert_eq!(
        (status, &done["state"]),
        (StatusCode::CREATED, &json!("resolved"))
    );
    let (status, error) = post_update(id, r#"{"state": "resolved", "message": "again"}"#).await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::CONFLICT, "incident_ended")
    );
    let (status, error) = post_update(12345, r#"{"state": "resolved", "message": "x"}"#).await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "unknown_incident")
    );

    // The detected one: acknowledged, then a false alarm with its reason.
    let (status, acknowledged) = post_update(
        detected,
        r#"{"state": "identified", "message": "A load test"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{acknowledged}");
    assert!(
        acknowledged["confidence_sources"]["operator"]
            .as_f64()
            .unwrap()
            > 0.9
    );
    let (status, dismissed) = post_update(
        detected,
        r#"{"state": "false_alarm", "message": "Our own load test"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dismissed}");
    assert_eq!(dismissed["state"], "resolved");
    assert_eq!(dismissed["false_alarm"], true);
    let page = s.page(format!("/incidents/{detected}")).await;
    assert!(page.contains("data-false-alarm"), "{page}");
    assert!(page.contains("Our own load test"));
}

/// Signs `name` in with `password` through the form; the response.
/// Adds user `name` with `role` and the password `NAME-password-1` to the server's
/// store; false when the name is taken.
fn add_user(s: &Server, name: &str, role: Role) -> bool {
    use seismo_core::access::{User, hash_password};
    SqliteStore::open(s.dir.path())
        .unwrap()
        .add_user(&User {
            name: name.into(),
            role,
            password_hash: hash_password(&format!("{name}-password-1")).unwrap(),
            created_at: 0,
            revoked_at: None,
        })
        .unwrap()
}

async fn sign_in(s: &Server, name: &str, password: &str) -> axum::response::Response {
    let request = Request::post("/admin/login")
        .header(header::HOST, "seismo.test")
        .header(header::ORIGIN, "http://seismo.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("name={name}&password={password}")))
        .unwrap();
    s.router.clone().oneshot(from(PEER, request)).await.unwrap()
}

/// A form posted to `uri` from the site, with `cookie` (`name=value`), as a browser
/// posts it.
fn form(uri: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::post(uri)
        .header(header::HOST, "seismo.test")
        .header(header::ORIGIN, "http://seismo.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    from(PEER, request.body(Body::from(body.to_string())).unwrap())
}

#[tokio::test]
async fn the_admin_pages_need_a_session_of_the_right_role_and_its_csrf_token() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    for (name, role) in [
        ("ada", Role::Admin),
        ("otto", Role::Operator),
        ("gone", Role::Admin),
    ] {
        assert!(add_user(&s, name, role));
    }
    // Signing in: a wrong password and an unknown name are refused alike.
    for (name, password) in [("ada", "nope"), ("nobody", "ada-password-1")] {
        let refused = sign_in(&s, name, password).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers().get(header::SET_COOKIE).is_none());
    }
    let cookie_of = |response: &axum::response::Response| {
        let set = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        set.split(';').next().unwrap().to_string()
    };
    let signed = sign_in(&s, "ada", "ada-password-1").await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let ada = cookie_of(&signed);
    let otto = cookie_of(&sign_in(&s, "otto", "otto-password-1").await);
    let gone = cookie_of(&sign_in(&s, "gone", "gone-password-1").await);
    SqliteStore::open(s.dir.path())
        .unwrap()
        .revoke_user("gone", 1)
        .unwrap();

    let page = |cookie: Option<String>| {
        let mut request = Request::get("/admin");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let request = request.body(Body::empty()).unwrap();
        async { s.send(request).await }
    };
    let (status, _) = page(None).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "to the sign-in page");
    let (status, html) = page(Some(ada.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("data-user>ada<"));
    let csrf_of = |html: &str| {
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let ada_csrf = csrf_of(&html);
    let otto_csrf = csrf_of(&String::from_utf8(page(Some(otto.clone())).await.1).unwrap());
    assert_ne!(ada_csrf, otto_csrf);
    let (status, _) = page(Some(gone.clone())).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a revoked user's session has ended"
    );

    // Every action refuses no session, a forged one, a revoked user's, the wrong role
    // and a missing or wrong CSRF token.
    let declare =
        "title=Mail+bounces&services=microsoft-365&state=identified&impact=major&message=We+know";
    let forged =
        "seismo_session=seismo_0000000000000000000000000000000000000000000000000000000000000000";
    let routes = [
        ("/admin/incidents", declare, Role::Operator),
        (
            "/admin/incidents/1/updates",
            "state=resolved&message=x",
            Role::Operator,
        ),
        (
            "/admin/silences",
            "services=aws&until=2026-01-22T20:00:00Z",
            Role::Operator,
        ),
        ("/admin/silences/1/end", "", Role::Operator),
        (
            "/admin/maintenances",
            "title=Patch&services=aws&starts=2026-01-22T18:00:00Z&duration=2h",
            Role::Operator,
        ),
        ("/admin/maintenances/1/cancel", "", Role::Operator),
        (
            "/admin/channels",
            "name=c&kind=webhook&url=https%3A%2F%2Fhooks.example.com%2Fx",
            Role::Admin,
        ),
        ("/admin/channels/c/delete", "", Role::Admin),
        ("/admin/tokens", "name=t&role=importer", Role::Admin),
        ("/admin/tokens/t/revoke", "", Role::Admin),
        ("/admin/logout", "", Role::Operator),
    ];
    for (uri, fields, needed) in routes {
        let with = |csrf: &str| format!("csrf={csrf}&{fields}");
        for (cookie, body, status) in [
            (None, with(&ada_csrf), StatusCode::UNAUTHORIZED),
            (Some(forged), with(&ada_csrf), StatusCode::UNAUTHORIZED),
            (
                Some(gone.as_str()),
                with(&ada_csrf),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Some(ada.as_str()),
                fields.to_string(),
                StatusCode::FORBIDDEN,
            ),
            (Some(ada.as_str()), with(&otto_csrf), StatusCode::FORBIDDEN),
        ] {
            let (got, _) = s.send(form(uri, cookie, &body)).await;
            assert_eq!(got, status, "{uri} with {cookie:?} and {body}");
        }
        if needed == Role::Admin {
            let (got, _) = s.send(form(uri, Some(&otto), &with(&otto_csrf))).await;
            assert_eq!(got, StatusCode::FORBIDDEN, "{uri}: operators may not");
        }
        // From another site, even with the right cookie and token.
        let mut cross = form(uri, Some(&ada), &with(&ada_csrf));
        cross
            .headers_mut()
            .insert(header::ORIGIN, "https://evil.test".parse().unwrap());
        let (got, _) = s.send(cross).await;
        assert_eq!(got, StatusCode::FORBIDDEN, "{uri} posted from another site");
    }
    assert_eq!(
        s.get("/api/v1/incidents").await.1["incidents"],
        json!([]),
        "nothing refused was done"
    );

    // What the pages do is what the API does.
    let (status, _) = s
        .send(form(
            "/admin/maintenances",
            Some(&otto),
            &format!("csrf={otto_csrf}&title=Patch&services=aws&starts=2026-01-22T18%3A00%3A00Z&duration=2h&every="),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, listed) = s.get("/api/v1/maintenances").await;
    assert_eq!(listed["maintenances"][0]["key"], "api-1");
    let (status, _) = s
        .send(form(
            "/admin/maintenances/1/cancel",
            Some(&otto),
            &format!("csrf={otto_csrf}"),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.get("/api/v1/maintenances").await.1["maintenances"],
        json!([])
    );
    let (status, _) = s
        .send(form(
            "/admin/incidents",
            Some(&otto),
            &format!("csrf={otto_csrf}&{declare}"),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, list) = s.get("/api/v1/incidents").await;
    assert_eq!(list["incidents"][0]["declared"]["title"], "Mail bounces");
    assert_eq!(list["incidents"][0]["updates"][0]["by"], "otto");
    let (status, made) = s
        .send(form(
            "/admin/tokens",
            Some(&ada),
            &format!("csrf={ada_csrf}&name=partner&role=admin"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let made = String::from_utf8(made).unwrap();
    let secret = made
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string();
    let with_token = |secret: &str| {
        Request::get("/api/v1/tokens")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, listed) = s.send_json(with_token(&secret)).await;
    assert_eq!(status, StatusCode::OK, "the token made works at once");
    assert_eq!(listed[0]["name"], "partner");
    let (status, _) = s
        .send(form(
            "/admin/tokens/partner/revoke",
            Some(&ada),
            &format!("csrf={ada_csrf}"),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = s.send_json(with_token(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked at once");

    // Signing out ends the session.
    let (status, _) = s
        .send(form(
            "/admin/logout",
            Some(&ada),
            &format!("csrf={ada_csrf}"),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = page(Some(ada)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_session_cookie_over_https_is_secure_and_host_only() {
    let s = server(WebConfig {
        rates: unlimited(),
        public_url: "https://seismo.test".into(),
        ..WebConfig::default()
    });
    add_user(&s, "ada", Role::Admin);
    let signed = sign_in(&s, "ada", "ada-password-1").await;
    let set = signed.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("__Host-seismo_session=seismo_"), "{set}");
    assert!(set.contains("; Secure") && set.contains("Path=/;"), "{set}");
}

#[tokio::test]
async fn tokens_are_made_and_revoked_through_the_api_by_admins_only() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let admin = s.token("root", Role::Admin, None);
    let operator = s.token("ops", Role::Operator, None);
    let request = |method: &str, uri: &str, token: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let new = r#"{"name": "feeds", "role": "importer", "expires_in_days": 90}"#;
    let (status, _) = s
        .send_json(request("POST", "/api/v1/tokens", &operator, new))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, made) = s
        .send_json(request("POST", "/api/v1/tokens", &admin, new))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (&made["name"], &made["role"]),
        (&json!("feeds"), &json!("importer"))
    );
    assert!(made["secret"].as_str().unwrap().starts_with("seismo_"));
    assert!(made["expires_at"].is_string());
    let (status, error) = s
        .send_json(request("POST", "/api/v1/tokens", &admin, new))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::CONFLICT, "token_exists")
    );
    let (status, error) = s
        .send_json(request(
            "POST",
            "/api/v1/tokens",
            &admin,
            r#"{"name": "x", "role": "king"}"#,
        ))
        .await;
    assert_eq!(
        (status, error_of(&error).1),
        (StatusCode::BAD_REQUEST, Some("role"))
    );
    let (status, _) = s
        .send(request("DELETE", "/api/v1/tokens/feeds", &operator, ""))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .send(request("DELETE", "/api/v1/tokens/feeds", &admin, ""))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = s
        .send_json(request("DELETE", "/api/v1/tokens/feeds", &admin, ""))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "unknown_token")
    );
}

#[tokio::test]
async fn readers_subscribe_confirm_by_link_and_leave_with_one_click() {
    let off = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let ask = |email: &str, services: &str| {
        let body = format!(r#"{{"email": "{email}", "services": {services}}}"#);
        from(
            PEER,
            Request::post("/api/v1/subscriptions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let (status, error) = off.send_json(ask("ann@example.com", r#"["slack"]"#)).await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "subscriptions_off")
    );
    let s = server(WebConfig {
        rates: unlimited(),
        subscriptions: true,
        ..WebConfig::default()
    });
    for (email, services, field) in [
        ("not an address", r#"["slack"]"#, "email"),
        ("ann@example.com", r#"["myspace"]"#, "services"),
        ("ann@example.com", "[]", "services"),
    ] {
        let (status, error) = s.send_json(ask(email, services)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error_of(&error).1, Some(field), "{error}");
    }
    let (status, asked) = s
        .send_json(ask("ann@example.com", r#"["slack", "zoom"]"#))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert_eq!(asked["status"], "confirmation_sent");
    let queued = || {
        SqliteStore::open(s.dir.path())
            .unwrap()
            .due_notifications(i64::MAX, 100)
            .unwrap()
    };
    let confirmation = &queued()[0];
    assert_eq!(confirmation.channel, "subscriber-1");
    let body: Value = serde_json::from_str(&confirmation.body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("Slack") && text.contains("Zoom"), "{text}");
    let token = text
        .split("/subscriptions/confirm?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // Someone typing Ann's address again and again: three mails a day at most, and
    // the same answer.
    for email in ["ann@example.com", "ANN@example.com", "Ann@Example.com"] {
        let (status, _) = s.send_json(ask(email, r#"["slack"]"#)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    assert_eq!(
        queued().len(),
        3,
        "capped at three confirmations a day, whatever the case"
    );

    // The link shows a button; pressing it confirms, once.
    let (status, page) = s
        .send(
            Request::get(format!("/subscriptions/confirm?token={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(page).unwrap().contains(&token));
    let confirm = || {
        Request::post("/subscriptions/confirm")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap()
    };
    let (status, page) = s.send(confirm()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("ann@example.com will get an email")
    );
    let (status, _) = s.send(confirm()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once");

    // The service page's form, from the site only.
    let (_, page) = s
        .send(Request::get("/services/slack").body(Body::empty()).unwrap())
        .await;
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("action=\"/services/slack/subscribe\"")
    );
    let (status, page) = s
        .send(form(
            "/services/slack/subscribe",
            None,
            "email=bob%40example.com",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("Check your inbox")
    );
    let mut cross = form("/services/slack/subscribe", None, "email=cat%40example.com");
    cross
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.test".parse().unwrap());
    assert_eq!(s.send(cross).await.0, StatusCode::FORBIDDEN);

    // One click from the mail client, which posts from anywhere (RFC 8058).
    let leave = SqliteStore::open(s.dir.path())
        .unwrap()
        .subscribers()
        .unwrap()[0]
        .unsubscribe
        .clone();
    let one_click = || {
        Request::post(format!("/subscriptions/unsubscribe?token={leave}"))
            .header(header::ORIGIN, "https://mail.example.net")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("List-Unsubscribe=One-Click"))
            .unwrap()
    };
    let (status, _) = s.send(one_click()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.send(one_click()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing left to stop");
    assert!(
        SqliteStore::open(s.dir.path())
            .unwrap()
            .subscribers()
            .unwrap()
            .iter()
            .all(|sub| sub.unsubscribe != leave)
    );
}

#[tokio::test]
async fn operators_schedule_and_cancel_maintenance_through_the_api() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let operator = s.token("ops", Role::Operator, None);
    let importer = s.token("partner", Role::Importer, None);
    let request = call;
    let good = r#"{"title": "Exchange patching", "services": ["microsoft-365"],
        "starts": "2026-01-22T18:00:00Z", "duration": "2h", "message": "Mail may be slow."}"#;
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(importer.as_str()), StatusCode::FORBIDDEN),
    ] {
        for (method, uri) in [
            ("POST", "/api/v1/maintenances"),
            ("DELETE", "/api/v1/maintenances/1"),
        ] {
            let (got, _) = s.send_json(request(method, uri, token, good)).await;
            assert_eq!(got, status, "{method} {uri} with {token:?}");
        }
    }
    for (body, field) in [
        (
            r#"{"title": "x", "services": ["myspace"], "starts": "2026-01-22T18:00:00Z", "duration": "2h"}"#,
            "services",
        ),
        (
            r#"{"title": "x", "services": ["aws"], "starts": "soon", "duration": "2h"}"#,
            "starts",
        ),
        (
            r#"{"title": "x", "services": ["aws"], "starts": "2026-01-22T18:00:00Z"}"#,
            "duration",
        ),
    ] {
        let (status, error) = s
            .send_json(request(
                "POST",
                "/api/v1/maintenances",
                Some(&operator),
                body,
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error_of(&error).1, Some(field), "{body}: {error}");
    }
    let (status, made) = s
        .send_json(request(
            "POST",
            "/api/v1/maintenances",
            Some(&operator),
            good,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["key"], "api-1");
    let id = made["id"].as_i64().unwrap();
    // At once: listed, open in /api/v2, and on the pages.
    let (_, listed) = s.get("/api/v1/maintenances").await;
    assert_eq!(listed["maintenances"][0]["title"], "Exchange patching");
    let (_, active) = s.get("/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(
        active["scheduled_maintenances"][0]["name"],
        "Exchange patching"
    );
    let (_, summary) = s.get("/api/v2/components.json").await;
    let m365 = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Microsoft 365")
        .unwrap();
    assert_eq!(m365["status"], "under_maintenance");
    // Kept across a restart of the server.
    let again = AppState::new(
        s.state.live.clone(),
        None,
        WebConfig::default(),
        s.state.clock.clone(),
    );
    again.load_stored().await.unwrap();
    assert_eq!(again.maintenances().len(), 1);
    let uri = format!("/api/v1/maintenances/{id}");
    let (status, _) = s.send(request("DELETE", &uri, Some(&operator), "")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = s
        .send_json(request("DELETE", &uri, Some(&operator), ""))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "unknown_maintenance")
    );
    let (_, active) = s.get("/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(active["scheduled_maintenances"], json!([]));
}

#[tokio::test]
async fn admins_make_replace_and_delete_channels_through_the_api() {
    let s = server(WebConfig {
        rates: unlimited(),
        channels: vec![seismo_notify::Channel::webhook(
            "declared",
            "https://hooks.example.com/x",
        )],
        ..WebConfig::default()
    });
    let admin = s.token("root", Role::Admin, None);
    let operator = s.token("ops", Role::Operator, None);
    let request = call;
    let good = r#"{"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/secretpath", "services": ["microsoft-365"], "min_state": "confirmed"}"#;
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(operator.as_str()), StatusCode::FORBIDDEN),
    ] {
        for method in ["PUT", "DELETE"] {
            let (got, _) = s
                .send_json(request(method, "/api/v1/channels/chat", token, good))
                .await;
            assert_eq!(got, status, "{method} with {token:?}");
        }
    }
    refused_naming(
        &s,
        "PUT",
        "/api/v1/channels/chat",
        &admin,
        &[
            (r#"{"kind": "slack", "url": "ftp://x"}"#, "url"),
            (r#"{"kind": "pager", "url": "https://x.test"}"#, "kind"),
            (
                r#"{"kind": "slack", "url": "https://x.test", "colour": "red"}"#,
                "colour",
            ),
        ],
    )
    .await;
    let (status, error) = s
        .send_json(request(
            "PUT",
            "/api/v1/channels/declared",
            Some(&admin),
            good,
        ))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::CONFLICT, "declared_in_settings")
    );
    let (status, made) = s
        .send_json(request("PUT", "/api/v1/channels/chat", Some(&admin), good))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (&made["name"], &made["source"]),
        (&json!("chat"), &json!("api"))
    );
    let (status, _) = s
        .send_json(request("PUT", "/api/v1/channels/chat", Some(&admin), good))
        .await;
    assert_eq!(status, StatusCode::OK, "replaced");
    let (_, listed) = s
        .send_json(request("GET", "/api/v1/channels", Some(&admin), ""))
        .await;
    let text = listed.to_string();
    assert!(
        !text.contains("secretpath"),
        "only the host of a webhook: {text}"
    );
    assert_eq!(
        listed["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["source"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("declared", "settings"), ("chat", "api")]
    );
    let (status, _) = s
        .send(request("DELETE", "/api/v1/channels/chat", Some(&admin), ""))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = s
        .send_json(request("DELETE", "/api/v1/channels/chat", Some(&admin), ""))
        .await;
    assert_eq!(
        (status, error_of(&error).0),
        (StatusCode::NOT_FOUND, "unknown_channel")
    );
}

/// Every route the OpenAPI document marks as needing a token, found from the document
/// itself (a new route cannot be forgotten): no token, a wrong one and a revoked admin
/// token get 401; an importer's (a role no such route takes) gets 403; nothing is done.
#[tokio::test]
async fn every_secured_route_refuses_missing_wrong_revoked_and_wrong_role_tokens() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let revoked = s.token("old-root", Role::Admin, None);
    s.revoke("old-root");
    let importer = s.token("partner", Role::Importer, None);
    let wrong = format!("seismo_{}", "1".repeat(64));
    let (_, document) = s.get("/api/v1/openapi.json").await;
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_none() {
                continue;
            }
            for status in ["401", "403"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
            let uri = format!(
                "/api/v1{}",
                path.replace("{id}", "1").replace("{name}", "partner")
            );
            for (token, expected) in [
                (None, StatusCode::UNAUTHORIZED),
                (Some(wrong.as_str()), StatusCode::UNAUTHORIZED),
                (Some(revoked.as_str()), StatusCode::UNAUTHORIZED),
                (Some(importer.as_str()), StatusCode::FORBIDDEN),
            ] {
                let mut request = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(token) = token {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                let request = from(PEER, request.body(Body::from("{}")).unwrap());
                let (status, body) = s.send_json(request).await;
                assert_eq!(status, expected, "{method} {uri} with {token:?}: {body}");
            }
            checked.push(format!("{method} {path}"));
        }
    }
    // The operator and admin routes of this issue are among them.
    for route in [
        "post /incidents",
        "post /incidents/{id}/updates",
        "post /maintenances",
        "delete /maintenances/{id}",
        "put /channels/{name}",
        "delete /channels/{name}",
        "post /tokens",
        "delete /tokens/{name}",
        "post /silences",
        "get /notifications",
    ] {
        assert!(
            checked.iter().any(|c| c == route),
            "{route} is not secured: {checked:?}"
        );
    }
    assert_eq!(s.get("/api/v1/incidents").await.1["incidents"], json!([]));
    let tokens = SqliteStore::open(s.dir.path()).unwrap().tokens().unwrap();
    assert_eq!(tokens.len(), 2, "no token was made");
    assert!(
        tokens
            .iter()
            .all(|t| t.name != "partner" || t.revoked_at.is_none()),
        "nor revoked"
    );
}

#[tokio::test]
async fn readiness_says_whether_the_store_answers_and_who_leads() {
    let s = server(WebConfig::default());
    let (status, ready) = s.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["leader"], true);
    assert_eq!(ready["database"], "ok");
    let live = s.state.live.clone();
    tokio::task::spawn_blocking(move || live.finish())
        .await
        .unwrap();
    let (status, ready) = s.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["ready"], false);
}

/// An NDJSON request to `uri` from [`PEER`], with `token` when given.
fn ndjson(uri: &str, token: Option<&str>, lines: &[&str]) -> Request<Body> {
    let mut request = call("POST", uri, token, &lines.join("\n"));
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-ndjson"),
    );
    request
}

#[tokio::test]
async fn a_post_is_answered_with_its_classification_and_explained_by_its_id() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let outlook = r#"{"text":"Outlook can't send anything: 451 4.3.2 temporary server issue","author":"@jane@mastodon.social","lang":"en","city":"Phoenix"}"#;
    let (status, answer) = s
        .send_json(call("POST", "/api/v1/posts", None, outlook))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["service"], "microsoft-365");
    assert_eq!(answer["complaint"], true);
    assert_eq!(answer["problem"], "email");
    assert_eq!(answer["counted"], true);
    assert_eq!(
        answer["author"],
        Value::Null,
        "a name is believed only with a token"
    );
    assert_eq!(answer["city"], "Phoenix");
    let (_, again) = s
        .send_json(call("POST", "/api/v1/posts", None, outlook))
        .await;
    assert_eq!(again["counted"], false, "the same network within the hour");

    // An importer names its authors: each counts, shown abbreviated.
    let importer = s.token("firehose", Role::Importer, None);
    let (_, named) = s
        .send_json(call("POST", "/api/v1/posts", Some(&importer), outlook))
        .await;
    assert_eq!(named["counted"], true);
    assert_eq!(named["author"], "@ja…@mastodon.social");

    let (status, explained) = s.get_owned(format!("/api/v1/posts/{}", answer["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        explained["text"],
        "Outlook can't send anything: 451 4.3.2 temporary server issue"
    );
    let rules: Vec<&str> = explained["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rules[0], "service: name \"Outlook\"");
    assert!(rules[1].starts_with("complaint: phrase"), "{rules:?}");
    assert!(rules[2].starts_with("problem: word"), "{rules:?}");

    let (status, missing) = s.get("/api/v1/posts/999999").await;
    assert_eq!(
        (status, error_of(&missing)),
        (StatusCode::NOT_FOUND, ("unknown_post", Some("id")))
    );
    let (status, _) = s.get("/api/v1/posts/latest").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, recent) = s.get("/api/v1/services/microsoft-365/posts").await;
    assert_eq!(status, StatusCode::OK);
    let posts = recent["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 3, "every complaint, counted or not: {recent}");
    assert_eq!(posts[0]["id"], named["id"], "newest first");
    let (status, _) = s.get("/api/v1/services/nothing/posts").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn posts_as_ndjson_keep_good_lines_and_name_bad_ones() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let too_long = format!(r#"{{"text":"{}"}}"#, "down ".repeat(1_001));
    let lines = [
        r#"{"text":"is slack down for anyone else?"}"#,
        r#"{"text":"Steam download finished, what a game"}"#,
        r#"{"text":"Slack down here too"}"#,
        r#"{"text":"Netflix ne marche plus","lang":"fr_FR"}"#,
        r#"{"lang":"en"}"#,
        r#"{"text":"zoom is down","likes":12}"#,
        &too_long,
        "[1, 2]",
    ];
    let (status, batch) = s.send_json(ndjson("/api/v1/posts", None, &lines)).await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(batch["accepted"], 3);
    assert_eq!(batch["complaints"], 2);
    assert_eq!(
        batch["counted"], 1,
        "one network, one count per service and hour"
    );
    assert_eq!(batch["rejected_count"], 5);
    let rejected: Vec<(u64, &str, Option<&str>)> = batch["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (code, field) = error_of(r);
            (r["line"].as_u64().unwrap(), code, field)
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (4, "invalid_language", Some("lang")),
            (5, "missing_field", Some("text")),
            (6, "unknown_field", Some("likes")),
            (7, "invalid_text", Some("text")),
            (8, "malformed_json", None),
        ]
    );
}

#[tokio::test]
async fn a_stranger_cannot_flood_posts_or_name_authors() {
    let s = server(WebConfig {
        rates: unlimited(),
        anonymous_ndjson_lines: 10,
        ..WebConfig::default()
    });
    // Many names from one network count as that network, once.
    let lines: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"text":"Discord is down","author":"bot{i}"}}"#))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (status, batch) = s.send_json(ndjson("/api/v1/posts", None, &lines)).await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(
        (batch["accepted"].as_u64(), batch["counted"].as_u64()),
        (Some(10), Some(1))
    );
    let eleven = [&lines[..], &[lines[0]]].concat();
    let (status, error) = s.send_json(ndjson("/api/v1/posts", None, &eleven)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&error).0, "too_many_lines");
    let (status, error) = s
        .send_json(call(
            "POST",
            "/api/v1/posts",
            Some("not-a-token"),
            r#"{"text":"x"}"#,
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    let mut form = call("POST", "/api/v1/posts", None, "text=hi");
    form.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let (status, error) = s.send_json(form).await;
    assert_eq!(
        (status, error_of(&error)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ("unsupported_media_type", Some("Content-Type"))
        )
    );
}

#[tokio::test]
async fn the_service_page_shows_recent_complaints_escaped_with_authors_abbreviated() {
    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    let importer = s.token("firehose", Role::Importer, None);
    let hostile = r#"{"text":"Slack is down <script>alert(1)</script> & <b>nothing</b> loads","author":"@mallory@evil.example"}"#;
    let (status, _) = s
        .send_json(call("POST", "/api/v1/posts", Some(&importer), hostile))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let long = format!(r#"{{"text":"slack not working {}"}}"#, "x".repeat(400));
    s.send_json(call("POST", "/api/v1/posts", None, &long))
        .await;
    let joke = r#"{"text":"my cat loves Slack notifications"}"#;
    s.send_json(call("POST", "/api/v1/posts", None, joke)).await;

    let page = s.page("/services/slack").await;
    assert!(page.contains("<h2>What people post</h2>"), "{page}");
    assert!(!page.contains("<script>alert"), "the text is escaped");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{page}"
    );
    assert!(page.contains("@ma…@evil.example"), "the author abbreviated");
    assert!(!page.contains("mallory"), "never the whole name");
    assert!(
        page.contains(&format!("{}…", "x".repeat(262))),
        "a long post is cut"
    );
    assert!(!page.contains("cat loves"), "only complaints are shown");
    assert!(page.contains("data-posts-last-hour="), "{page}");
    // A service nobody posted about has no such panel.
    assert!(!s.page("/services/zoom").await.contains("What people post"));
}

#[tokio::test]
async fn the_admin_page_shows_each_post_stream_s_status_line() {
    use seismo_core::post::{ConnectorStatus, Link};

    let s = server(WebConfig {
        rates: unlimited(),
        ..WebConfig::default()
    });
    add_user(&s, "ada", Role::Admin);
    s.state.live.connectors.set(ConnectorStatus {
        name: "jetstream".into(),
        kind: "bluesky",
        link: Link::Waiting,
        since: parse_rfc3339(NOW).unwrap(),
        messages: 1_200,
        kept: 31,
        malformed: 2,
        drops: 3,
        last_error: Some("<b>HTTP 503</b>".into()),
        resume: Some("cursor 1769097799000000".into()),
    });
    let signed = sign_in(&s, "ada", "ada-password-1").await;
    let cookie = signed.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let request = Request::get("/admin")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (status, page) = s.send(from(PEER, request)).await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"<li data-connector="jetstream" data-link="waiting"><strong>jetstream</strong> (bluesky): waiting since <time datetime="2026-01-22T18:30:00Z">"#),
        "{page}"
    );
    assert!(page.contains(
        "1200 messages, 31 posts kept, 2 malformed, 3 drops; resumes at cursor 1769097799000000"
    ));
    assert!(
        page.contains("last error: &#60;b&#62;HTTP 503"),
        "escaped: {page}"
    );
    // Nobody signed in sees none of it.
    assert!(!s.page("/admin").await.contains("jetstream"));
}
