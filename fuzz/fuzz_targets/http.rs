//! Whole requests through seismo's router (a real store, a real engine): reports as
//! JSON and NDJSON, the form, and every read route with any query string. Whatever
//! arrives, the answer is never a 5xx other than 503, and an API error is the JSON
//! error body.
#![no_main]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use seismo_core::{Catalog, Gazetteer};
use seismo_detect::EngineConfig;
use seismo_runtime::Live;
use seismo_store::{SqliteStore, WriterConfig};
use seismo_web::{AppState, Rates, WebConfig};
use tower::ServiceExt;

#[derive(Arbitrary, Debug)]
enum Route {
    Reports,
    Form,
    Series,
    Incidents,
    Incident,
    Service,
    Index,
    History,
    Feed,
    Summary,
    Badge,
    Widget,
    Tokens,
}

#[derive(Arbitrary, Debug)]
struct Input {
    route: Route,
    slug: String,
    query: String,
    content_type: u8,
    origin: bool,
    bearer: Option<String>,
    peer: [u8; 4],
    body: Vec<u8>,
}

struct Server {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let now = 1_769_105_400_000;
        let live = Live::start(
            Box::new(SqliteStore::open(dir.path()).unwrap()),
            Arc::new(Catalog::demo()),
            Gazetteer::embedded(),
            EngineConfig::default(),
            WriterConfig::default(),
            now,
        )
        .unwrap();
        let many = NonZeroU32::new(u32::MAX).unwrap();
        let config = WebConfig {
            rates: Rates {
                per_ip_per_minute: many,
                per_network_per_minute: many,
                per_token_per_minute: many,
            },
            ..WebConfig::default()
        };
        let state = AppState::new(Arc::new(live), None, config, Arc::new(move || now));
        let router = runtime.block_on(async { seismo_web::app(Arc::new(state)) });
        Server {
            runtime,
            router,
            _dir: dir,
        }
    })
}

fuzz_target!(|input: Input| {
    let server = server();
    let slug = input.slug.replace(['/', '?', '#'], "");
    let path = match input.route {
        Route::Reports => "/api/v1/reports".to_string(),
        Route::Form => format!("/report/{slug}"),
        Route::Series => format!("/api/v1/services/{slug}/series"),
        Route::Incidents => "/api/v1/incidents".to_string(),
        Route::Incident => format!("/api/v1/incidents/{slug}"),
        Route::Service => format!("/services/{slug}"),
        Route::Index => "/".to_string(),
        Route::History => "/history".to_string(),
        Route::Feed => format!("/services/{slug}/feed.atom"),
        Route::Summary => "/api/v2/summary.json".to_string(),
        Route::Badge => format!("/badge/{slug}"),
        Route::Widget => format!("/widget/{slug}"),
        Route::Tokens => "/api/v1/tokens".to_string(),
    };
    let uri = format!("{path}?{}", input.query);
    let post = matches!(input.route, Route::Reports | Route::Form);
    let mut request = if post {
        Request::post(&uri)
    } else {
        Request::get(&uri)
    };
    let content_type = match input.content_type % 4 {
        0 => "application/json",
        1 => "application/x-ndjson",
        2 => "application/x-www-form-urlencoded",
        _ => "text/plain",
    };
    request = request.header(header::CONTENT_TYPE, content_type);
    if input.origin {
        request = request.header(header::ORIGIN, "http://localhost:8080");
    }
    if let Some(bearer) = &input.bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    // A URI or header the HTTP layer itself would refuse never reaches seismo.
    let Ok(mut request) = request.body(Body::from(input.body)) else {
        return;
    };
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((input.peer, 4000))));
    let (status, body) = server.runtime.block_on(async {
        let response = server.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    });
    assert!(
        !status.is_server_error() || status == 503,
        "{status} for {uri}"
    );
    if path.starts_with("/api/") && status.is_client_error() {
        let error: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
        assert!(error["error"]["code"].is_string(), "{error}");
    }
});
