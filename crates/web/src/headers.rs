//! Headers every response carries: no sniffing of types, no framing (except the widget,
//! which is made to be embedded), and a Content-Security-Policy that allows only the
//! site's own script, style and connections. Set by plain layers, without a boxed
//! middleware per request: they are on the path of every report.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";
/// The widget is framed by other sites, and styles itself with the service's colour.
const WIDGET_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'";

/// Every route of `router` secured, framing forbidden.
pub fn pages<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    // One layer of the router holding them all: each `Router::layer` wraps every route
    // in a service of its own, cloned for each request.
    router.layer(
        common()
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                page_policy as Decide,
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                deny_framing as Decide,
            )),
    )
}

/// Every route of `router` secured, framing allowed.
pub fn widget<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(common().layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        widget_policy as Decide,
    )))
}

type Fixed = SetResponseHeaderLayer<HeaderValue>;

/// What pages and the widget share: no sniffing, and the referrer policy.
fn common() -> ServiceBuilder<Stack<Fixed, Stack<Fixed, Identity>>> {
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static(REFERRER_POLICY),
        ))
}

const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// The value of a header for a response, if it gets one.
type Decide = fn(&Response) -> Option<HeaderValue>;

fn page_policy(response: &Response) -> Option<HeaderValue> {
    document(response).then(|| HeaderValue::from_static(PAGE_POLICY))
}

fn widget_policy(response: &Response) -> Option<HeaderValue> {
    document(response).then(|| HeaderValue::from_static(WIDGET_POLICY))
}

fn deny_framing(response: &Response) -> Option<HeaderValue> {
    document(response).then(|| HeaderValue::from_static("DENY"))
}

/// Whether a browser may render `response` as a document (HTML, SVG, XML, text): JSON
/// answers, such as every report's, need no policy.
fn document(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|kind| !kind.as_bytes().starts_with(b"application/json"))
}
