//! The status site in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), driven over WebDriver, against
//! `seismo serve --demo`: the home page is opened before the outage and must change by
//! itself when the engine opens the incident; the service page shows the chart, the map
//! with the seven cities and the timeline; a problem button records a report.
//! Screenshots go to `target/screenshots/`.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::Server;

/// A chromedriver process on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The reader lives in Chicago: times and chart axes must be in their zone.
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TZ", "America/Chicago")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    browser_with(driver, profile, &[]).await
}

async fn browser_with(driver: &Driver, profile: &std::path::Path, extra: &[&str]) -> Client {
    // The flags that keep Chromium from reaching for the network this machine lacks.
    let options = json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1200,2200",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut options = options;
    options["args"]
        .as_array_mut()
        .unwrap()
        .extend(extra.iter().map(|a| json!(a)));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn eval(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// Evaluates `script` until it returns true, or fails with `what` after `seconds`.
async fn wait_until(client: &Client, script: &str, seconds: u64, what: &str) {
    let started = Instant::now();
    while eval(client, script).await != Value::Bool(true) {
        assert!(started.elapsed() < Duration::from_secs(seconds), "{what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Finds the first element `css` selects and acts on it. A live page swaps its content
/// when an incident changes, until the reader starts writing on it: when the swap falls
/// between the find and the act, find it again.
async fn act_on<F, A>(client: &Client, css: &str, act: F)
where
    F: Fn(Element) -> A,
    A: Future<Output = Result<(), CmdError>>,
{
    let started = Instant::now();
    loop {
        let done = match client.find(Locator::Css(css)).await {
            Ok(element) => act(element).await,
            Err(error) => Err(error),
        };
        match done {
            Ok(()) => return,
            Err(error) => assert!(started.elapsed() < Duration::from_secs(5), "{css}: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the first element `css` selects.
async fn click(client: &Client, css: &str) {
    act_on(client, css, |element| async move { element.click().await }).await;
}

/// Replaces the text of the first field `css` selects.
async fn fill(client: &Client, css: &str, text: &str) {
    act_on(client, css, |field| async move {
        field.clear().await?;
        field.send_keys(text).await
    })
    .await;
}

async fn screenshot(client: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert_eq!(&png[1..4], b"PNG");
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_site_in_chromium_shows_the_outage_live() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let server = Server::start(&dir.path().join("unused"), &["--demo"]);
    let client = browser(&driver, &dir.path().join("profile")).await;

    // Before the outage: Microsoft 365 is fine.
    client.goto(&server.url("/")).await.unwrap();
    let pill = "document.querySelector('tr[data-slug=\"microsoft-365\"] .pill').dataset.level";
    assert_eq!(
        eval(&client, &format!("return {pill}")).await,
        "ok",
        "the page must be open before the engine finds the outage"
    );
    // The engine opens the incident; the page follows without a reload.
    wait_until(
        &client,
        &format!("return {pill} !== 'ok' && Number(document.body.dataset.updates) > 0"),
        90,
        "the home page did not update itself",
    )
    .await;
    let first_row = eval(
        &client,
        "return document.querySelector('tr[data-name]').dataset.slug",
    )
    .await;
    assert_eq!(first_row, "microsoft-365");
    assert_eq!(
        eval(&client, "return document.getElementById('live').hidden").await,
        false
    );
    // Wait for the whole story (seven cities, followers) before the pictures.
    wait_until(
        &client,
        "return document.querySelectorAll('svg.map circle.city').length >= 7",
        60,
        "the world map did not fill",
    )
    .await;
    // The search box filters as one types, by the names people use too, and says so
    // when nothing matches.
    let search = client.find(Locator::Css("#search")).await.unwrap();
    let visible = "return [...document.querySelectorAll('tr[data-name]')].filter(r => !r.hidden).map(r => r.dataset.slug)";
    for (typed, found) in [
        ("slack", json!(["slack"])),
        ("Outlook", json!(["microsoft-365"])),
        ("office 365", json!(["microsoft-365"])),
        ("gmail", json!(["google-workspace"])),
        ("myspace", json!([])),
    ] {
        search.clear().await.unwrap();
        search.send_keys(typed).await.unwrap();
        assert_eq!(eval(&client, visible).await, found, "{typed}");
        assert_eq!(
            eval(&client, "return document.getElementById('no-match').hidden").await,
            json!(found != json!([])),
            "{typed}"
        );
    }
    client.goto(&server.url("/")).await.unwrap();
    screenshot(&client, "home.png").await;

    // The service page: chart, map with the seven cities, timeline.
    client
        .goto(&server.url("/services/microsoft-365"))
        .await
        .unwrap();
    let count = |css: &str| format!("return document.querySelectorAll('{css}').length");
    assert_eq!(eval(&client, &count("svg.chart")).await, 2);
    assert!(
        eval(&client, &count("svg.chart rect.bar.high"))
            .await
            .as_u64()
            .unwrap()
            > 5
    );
    let cities = eval(
        &client,
        "return [...document.querySelectorAll('figure.us circle.city')].map(c => c.dataset.city).sort()",
    )
    .await;
    assert_eq!(
        cities,
        json!([
            "Dallas",
            "Houston",
            "Los Angeles",
            "Minneapolis",
            "Phoenix",
            "San Francisco",
            "Seattle"
        ])
    );
    // Circles are drawn inside the map, on the outlines' image.
    let inside = eval(
        &client,
        "const m = document.querySelector('figure.us svg').getBoundingClientRect(); \
         return [...document.querySelectorAll('figure.us circle.city')].every(c => { \
           const r = c.getBoundingClientRect(); \
           return r.width > 0 && r.left >= m.left && r.right <= m.right && r.top >= m.top && r.bottom <= m.bottom; })",
    )
    .await;
    assert_eq!(inside, true);
    assert_eq!(
        eval(
            &client,
            "return document.querySelector('figure.us image').href.baseVal"
        )
        .await,
        "/assets/us-states.svg"
    );
    assert!(
        eval(&client, &count("ol.timeline li"))
            .await
            .as_u64()
            .unwrap()
            >= 2
    );
    // Times are shown in the reader's zone, not as raw RFC 3339.
    let shown = eval(
        &client,
        "return document.querySelector('ol.timeline time').textContent",
    )
    .await;
    assert!(!shown.as_str().unwrap().contains('T'), "{shown}");
    // The charts' axes too, and their captions name the zone.
    let axis = eval(
        &client,
        "const t = [...document.querySelectorAll('svg.chart text[data-at]')].find(t => t.dataset.at.endsWith('T20:00:00Z')); \
         return [t.textContent, document.querySelector('figcaption .zone').textContent]",
    )
    .await;
    // 20:00 UTC is 14:00 in Chicago, written as the reader's locale writes it.
    let label = axis[0].as_str().unwrap();
    assert!(
        ["14:00", "2:00 PM", "2:00\u{202f}PM"].contains(&label),
        "{axis}"
    );
    assert_eq!(axis[1], "America/Chicago");
    // The 24-hour chart reads on its y-axis from zero up, not only at its top.
    let ticks = eval(&client, &count("svg.chart:first-of-type text.axis.y")).await;
    assert!(ticks.as_u64().unwrap() >= 3, "{ticks} y-axis values");
    // One sentence at the top says what is going on.
    let headline = eval(
        &client,
        "return document.querySelector('[data-headline]').textContent",
    )
    .await;
    let headline = headline.as_str().unwrap();
    assert!(
        headline.starts_with("Microsoft 365: confirmed outage since ")
            && headline.contains(", mostly email, in 7 US cities"),
        "{headline}"
    );
    screenshot(&client, "service.png").await;

    // On a phone's width nothing runs off the side: charts and maps shrink to fit.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&server.url("/services/microsoft-365"))
        .await
        .unwrap();
    let too_wide = eval(
        &client,
        "return [...document.querySelectorAll('body *')] \
           .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1) \
           .map(e => e.tagName + '.' + e.getAttribute('class')).slice(0, 5)",
    )
    .await;
    assert_eq!(too_wide, json!([]), "the service page overflows on a phone");
    // Its charts stay readable: axis text at least 9 px tall, every label inside.
    let axes = eval(
        &client,
        "return [...document.querySelectorAll('svg.chart')].map(svg => { \
           const box = svg.getBoundingClientRect(); \
           const labels = [...svg.querySelectorAll('text.axis')].map(t => t.getBoundingClientRect()).filter(r => r.width > 0); \
           return {smallest: Math.min(...labels.map(r => r.height)), \
                   outside: labels.filter(r => r.left < box.left - 0.5 || r.right > box.right + 0.5).length}; })",
    )
    .await;
    for chart in axes.as_array().unwrap() {
        assert!(chart["smallest"].as_f64().unwrap() >= 9.0, "{axes}");
        assert_eq!(chart["outside"], 0, "{axes}");
    }
    screenshot(&client, "service-phone.png").await;

    // "I have a problem with … email" records a report.
    click(&client, "form.report button[value='email']").await;
    wait_until(
        &client,
        "return document.body.textContent.includes('your report is counted')",
        10,
        "the report was not counted",
    )
    .await;
    // The widget in its documented 320×60 frame: two lines, none cut off below.
    client
        .goto(&server.url("/widget/microsoft-365"))
        .await
        .unwrap();
    let fits = eval(
        &client,
        "document.documentElement.style.width = '320px'; document.documentElement.style.height = '60px'; \
         const lines = [...document.querySelectorAll('.line')].map(l => l.getBoundingClientRect()); \
         return lines.length === 2 && lines.every(r => r.bottom <= 60 && r.right <= 320 && r.height < 24)",
    )
    .await;
    assert_eq!(fits, true, "the widget overflows 320×60");
    client.close().await.unwrap();

    // In dark mode, links keep a contrast of 4.5:1 or more on the dark background.
    let dark = browser_with(&driver, &dir.path().join("dark"), &["--force-dark-mode"]).await;
    dark.goto(&server.url("/")).await.unwrap();
    let contrast = eval(
        &dark,
        "if (!matchMedia('(prefers-color-scheme: dark)').matches) return 'not dark'; \
         const luminance = rgb => { const c = rgb.match(/\\d+/g).slice(0, 3).map(v => { v /= 255; \
           return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); \
           return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }; \
         const link = luminance(getComputedStyle(document.querySelector('main a')).color); \
         const canvas = luminance('rgb(18, 18, 18)'); \
         return (link + 0.05) / (canvas + 0.05)",
    )
    .await;
    assert!(
        contrast.as_f64().is_some_and(|c| c >= 4.5),
        "link contrast in dark mode: {contrast}"
    );
    screenshot(&dark, "home-dark.png").await;
    dark.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_signs_in_declares_and_updates_and_readers_see_it() {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut adding = support::seismo()
        .args([
            "user",
            "add",
            "ada",
            "--role",
            "operator",
            "--password-stdin",
            "--data",
        ])
        .arg(&data)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    adding
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(adding.wait().unwrap().success());
    let token = support::create_token(&data, "operator");
    let driver = Driver::start();
    let server = Server::start(&data, &[]);
    let client = browser(&driver, &dir.path().join("profile")).await;

    // The admin pages send a stranger to the sign-in form.
    client.goto(&server.url("/admin")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    fill(&client, "input[name=name]", "ada").await;
    fill(&client, "input[name=password]", "a wrong password").await;
    click(&client, "form button").await;
    wait_until(
        &client,
        "return document.body.textContent.includes('Wrong name or password')",
        10,
        "a wrong password was not refused",
    )
    .await;
    fill(&client, "input[name=name]", "ada").await;
    fill(&client, "input[name=password]", "a long enough password").await;
    click(&client, "form button").await;
    wait_until(
        &client,
        "return document.querySelector('[data-user]')?.textContent === 'ada'",
        10,
        "signing in did not reach the dashboard",
    )
    .await;
    // No token section for an operator.
    assert_eq!(
        eval(
            &client,
            "return document.querySelectorAll('[data-token]').length"
        )
        .await,
        0
    );

    // Declare an incident on Slack.
    fill(
        &client,
        "#declare input[name=title]",
        "Messages are delayed",
    )
    .await;
    fill(&client, "#declare input[name=services]", "slack").await;
    fill(
        &client,
        "#declare textarea[name=message]",
        "We are **on it**.",
    )
    .await;
    click(&client, "#declare button").await;
    wait_until(
        &client,
        "return document.querySelectorAll('.admin-incident').length === 1",
        10,
        "the declared incident is not listed",
    )
    .await;
    let id = eval(
        &client,
        "return document.querySelector('.admin-incident').dataset.incident",
    )
    .await;
    let this = format!("[data-incident='{}']", id.as_str().unwrap());
    // Write an update on it.
    click(
        &client,
        &format!("{this} select[name=state] option[value=identified]"),
    )
    .await;
    let typed = "The cause is a bad deploy.";
    fill(&client, &format!("{this} textarea[name=message]"), typed).await;
    // Meanwhile another operator declares an incident through the API: the page says
    // so, but keeps the form being written rather than swapping it for a fresh page.
    let api = server.url("/api/v1/incidents");
    let declared = tokio::task::spawn_blocking(move || {
        support::http()
            .build()
            .unwrap()
            .post(api)
            .bearer_auth(token)
            .json(&json!({"title": "Calls drop", "services": ["zoom"],
                          "state": "investigating", "message": "Calls drop after a minute."}))
            .send()
            .unwrap()
            .status()
    })
    .await
    .unwrap();
    assert_eq!(declared, 201);
    wait_until(
        &client,
        "return document.getElementById('live').textContent.includes('Calls drop after a minute') \
                && document.body.dataset.held === 'true'",
        10,
        "the page did not tell of the other incident while an update was being written",
    )
    .await;
    let kept = eval(
        &client,
        &format!(
            "const field = document.querySelector(\"{this} textarea[name=message]\"); \
             return [field.value, document.activeElement === field, \
                     document.querySelectorAll('.admin-incident').length]"
        ),
    )
    .await;
    assert_eq!(
        kept,
        json!([typed, true, 1]),
        "the form being written was replaced"
    );
    click(&client, &format!("{this} button")).await;
    wait_until(
        &client,
        &format!(
            "return document.querySelector(\"{this} p\")?.textContent.includes('Identified by ada') \
                    && document.querySelectorAll('.admin-incident').length === 2"
        ),
        10,
        "the update is not shown on the dashboard",
    )
    .await;
    assert_eq!(
        eval(
            &client,
            &format!("return document.querySelector(\"{this} select[name=state]\").value")
        )
        .await,
        "identified",
        "the next update starts from where the last one left it"
    );
    screenshot(&client, "admin.png").await;

    // Readers see both updates on the public page, the Markdown rendered.
    client.goto(&server.url("/services/slack")).await.unwrap();
    let seen = eval(
        &client,
        "return { title: document.querySelector('.incident h2').textContent, \
                  updates: [...document.querySelectorAll('li[data-operator]')].map(li => li.textContent), \
                  strong: document.querySelector('li[data-operator] .message strong')?.textContent }",
    )
    .await;
    assert_eq!(seen["title"], "Messages are delayed", "{seen}");
    let updates = seen["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2, "{seen}");
    assert!(
        updates[1]
            .as_str()
            .unwrap()
            .contains("The cause is a bad deploy."),
        "{seen}"
    );
    assert_eq!(seen["strong"], "on it", "{seen}");
    screenshot(&client, "operator-update.png").await;
    client.goto(&server.url("/")).await.unwrap();
    let pill = eval(
        &client,
        "return document.querySelector('tr[data-slug=\"slack\"] .pill').dataset.level",
    )
    .await;
    assert_ne!(pill, "ok", "Slack is shown in trouble on the home page");
    client.close().await.unwrap();
}
