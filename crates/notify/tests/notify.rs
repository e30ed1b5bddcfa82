//! The notifier on a real SQLite store, delivering to a webhook receiver and an SMTP
//! server started by the tests on 127.0.0.1. Incidents are stored as the engine stores
//! them (records and outbox events); time is passed to each step.

use std::sync::{Arc, Mutex};

use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_detect::incident::Confidence;
use seismo_detect::record::{self, UpstreamRecord};
use seismo_detect::{Footprint, State};
use seismo_notify::{
    Channel, Deliverer, Grouping, Kind, Notifier, Settings, Silence, Step, Templates, signature,
};
use seismo_store::{IncidentEventRecord, IncidentRecord, SqliteStore, Writer, WriterConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// 2026-01-22T18:15:00Z.
const T0: Millis = 1_769_105_700_000;
const SECRET: &str = "correct horse battery staple";

/// A request the receiver heard.
#[derive(Debug, Clone)]
struct Heard {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A webhook receiver that records every request and fails the first `failures` of
/// them with 500.
#[derive(Clone, Default)]
struct Receiver {
    base: String,
    heard: Arc<Mutex<Vec<Heard>>>,
    failures: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(failures: usize) -> (Receiver, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Receiver {
            base: url.clone(),
            failures: Arc::new(Mutex::new(failures)),
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .fallback(
                |Shared(receiver): Shared<Receiver>,
                 uri: axum::http::Uri,
                 headers: HeaderMap,
                 body: String| async move {
                    receiver.heard.lock().unwrap().push(Heard {
                        path: uri.path().to_string(),
                        headers,
                        body,
                    });
                    let mut failures = receiver.failures.lock().unwrap();
                    if *failures > 0 {
                        *failures -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn heard(&self, path: &str) -> Vec<Heard> {
        let heard = self.heard.lock().unwrap();
        heard.iter().filter(|h| h.path == path).cloned().collect()
    }
}

/// An SMTP server that accepts every mail and keeps what came after DATA.
async fn mail_server() -> (Arc<Mutex<Vec<String>>>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 mail.test ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(mail) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 2.0.0 Queued\r\n").await.unwrap();
                        } else {
                            mail.push_str(&line);
                            mail.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split([' ', ':']).next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-mail.test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 Go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 Bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (mails, format!("smtp://{address}"))
}

fn webhook(name: &str, url: String) -> Channel {
    Channel::webhook(name, &url)
}

/// A stored incident of `service` as the engine stores it, with one outbox event.
fn incident(
    id: u64,
    service: &str,
    state: State,
    upstream: Option<(u64, &str)>,
    at: Millis,
) -> (IncidentRecord, IncidentEventRecord) {
    let resolved = state == State::Resolved;
    let record = record::IncidentRecord {
        id,
        service: service.into(),
        state,
        detected_at: T0,
        started_at: T0,
        ended_at: resolved.then_some(at),
        peak_at: T0,
        peak_per_minute: 200,
        confidence: 0.95,
        problems: Vec::new(),
        cities: Vec::new(),
        regions: Vec::new(),
        countries: Vec::new(),
        footprint: Footprint::Unknown,
        upstream: upstream.map(|(incident, service)| UpstreamRecord {
            incident,
            service: service.into(),
            inferred: false,
            provider: false,
        }),
        log: Vec::new(),
        sources: Confidence::default(),
        official: Vec::new(),
        acknowledged_at: None,
        says_operational_since: None,
        declared: None,
    };
    (
        IncidentRecord {
            id: id as i64,
            service: service.into(),
            state: state.as_str().into(),
            started_at: T0,
            ended_at: record.ended_at,
            format: record::FORMAT,
            body: serde_json::to_string(&record).unwrap(),
        },
        IncidentEventRecord {
            seq: 0,
            incident: id as i64,
            at,
            body: "{}".into(),
        },
    )
}

struct Setup {
    maintenances: Vec<seismo_core::maintenance::Maintenance>,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    writer: Writer,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let (writer, thread) = start_writer(&path);
        Setup {
            maintenances: Vec::new(),
            _dir: dir,
            path,
            writer,
            thread: Some(thread),
        }
    }

    /// Stops the writer and starts another on the same store: a restart.
    async fn restart(&mut self) {
        let (writer, thread) = (self.writer.clone(), self.thread.take().unwrap());
        tokio::task::spawn_blocking(move || {
            writer.stop();
            thread.join().unwrap()
        })
        .await
        .unwrap();
        let (writer, thread) = start_writer(&self.path);
        self.writer = writer;
        self.thread = Some(thread);
    }

    /// Stores Microsoft 365's incident 1 in `state` at `at`.
    async fn microsoft_365(&self, state: State, at: Millis) {
        self.store(vec![incident(1, "microsoft-365", state, None, at)])
            .await;
    }

    async fn store(&self, incidents: Vec<(IncidentRecord, IncidentEventRecord)>) {
        let (records, events) = incidents.into_iter().unzip();
        self.writer.save_incidents(records, events).await.unwrap();
    }

    fn notifier(&self, channels: Vec<Channel>, silences: Vec<Silence>) -> Notifier {
        self.notifier_with(channels, silences, None)
    }

    fn notifier_with(
        &self,
        channels: Vec<Channel>,
        silences: Vec<Silence>,
        subscriptions: Option<seismo_notify::SubscriptionMail>,
    ) -> Notifier {
        let tls = seismo_probe::tls::Settings::new(Vec::new()).unwrap();
        Notifier::new(
            self.writer.clone(),
            Arc::new(Catalog::demo()),
            Gazetteer::embedded(),
            "http://seismo.test".into(),
            Settings {
                grouping: Grouping::default(),
                channels,
                silences,
                maintenances: self.maintenances.clone(),
                subscriptions,
            },
            Templates::load(None).unwrap(),
            Deliverer::new(&tls).unwrap(),
        )
    }
}

fn start_writer(path: &std::path::Path) -> (Writer, std::thread::JoinHandle<()>) {
    Writer::start(
        Box::new(SqliteStore::open(path).unwrap()),
        Arc::new(Catalog::demo()),
        Gazetteer::embedded(),
        WriterConfig::default(),
        Box::new(|_| {}),
    )
    .unwrap()
}

fn step(queued: usize, delivered: usize, failed: usize) -> Step {
    Step {
        queued,
        delivered,
        failed,
    }
}

fn json(heard: &Heard) -> serde_json::Value {
    serde_json::from_str(&heard.body).unwrap()
}

/// A notifier with one webhook channel (`/hook` of a receiver failing its first
/// `failures` requests), told of Microsoft 365's outage at [`T0`].
async fn one_outage(failures: usize) -> (Setup, Receiver, Notifier) {
    let setup = Setup::new();
    let (receiver, url) = Receiver::start(failures).await;
    let mut notifier = setup.notifier(vec![webhook("it-team", format!("{url}/hook"))], vec![]);
    setup.microsoft_365(State::Confirmed, T0).await;
    notifier.step(T0).await.unwrap();
    (setup, receiver, notifier)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_incident_is_told_opened_and_resolved_once_on_every_channel_signed() {
    let setup = Setup::new();
    let (receiver, url) = Receiver::start(0).await;
    let (mails, smtp) = mail_server().await;
    let mut signed = webhook("it-team", format!("{url}/hook"));
    signed.secret = Some(seismo_core::official::Secret(SECRET.into()));
    let mut slack = webhook("chat", format!("{url}/slack"));
    slack.kind = Kind::Slack;
    let mut teams = webhook("teams", format!("{url}/teams"));
    teams.kind = Kind::Teams;
    let mut email = webhook("mail", String::new());
    email.kind = Kind::Email;
    email.url = None;
    email.smtp = Some(seismo_core::official::Secret(smtp));
    email.from = Some("seismo <seismo@example.com>".into());
    email.to = vec!["it@example.com".into()];
    let mut notifier = setup.notifier(vec![signed, slack, teams, email], Vec::new());

    setup.microsoft_365(State::Confirmed, T0).await;
    assert_eq!(notifier.step(T0).await.unwrap(), step(0, 0, 0), "waits");
    assert_eq!(
        notifier.step(T0 + 30_000).await.unwrap(),
        step(4, 4, 0),
        "opened, on each channel"
    );
    let hook = receiver.heard("/hook");
    assert_eq!(hook.len(), 1);
    let opened = json(&hook[0]);
    assert_eq!(opened["kind"], "opened");
    assert_eq!(opened["incidents"][0]["service"], "microsoft-365");
    assert_eq!(opened["url"], "http://seismo.test/incidents/1");
    assert_eq!(
        opened["incidents"][0]["labels"],
        serde_json::json!(["mail", "work"]),
        "the catalog's labels"
    );
    assert_eq!(
        hook[0].headers["x-seismo-signature"].to_str().unwrap(),
        signature(SECRET, hook[0].body.as_bytes()),
        "the signature verifies over the body received"
    );
    assert_eq!(hook[0].headers["x-seismo-event"], "opened");
    assert!(
        receiver.heard("/slack")[0]
            .headers
            .get("x-seismo-signature")
            .is_none()
    );
    assert_eq!(
        json(&receiver.heard("/slack")[0])["text"],
        "Confirmed outage: Microsoft 365 outage"
    );
    let card = json(&receiver.heard("/teams")[0]);
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0].contains("Subject: [seismo] Confirmed outage: Microsoft 365 outage"),
            "{}",
            mails[0]
        );
        assert!(mails[0].contains("To: it@example.com"), "{}", mails[0]);
    }

    for minute in 1..20 {
        assert_eq!(
            notifier.step(T0 + minute * MINUTE_MS).await.unwrap(),
            step(0, 0, 0)
        );
    }
    setup
        .microsoft_365(State::Resolved, T0 + 20 * MINUTE_MS)
        .await;
    assert_eq!(
        notifier.step(T0 + 20 * MINUTE_MS).await.unwrap(),
        step(4, 4, 0)
    );
    for minute in 21..30 {
        assert_eq!(
            notifier.step(T0 + minute * MINUTE_MS).await.unwrap(),
            step(0, 0, 0)
        );
    }
    let hook = receiver.heard("/hook");
    let kinds: Vec<String> = hook.iter().map(|h| json(h)["kind"].to_string()).collect();
    assert_eq!(kinds, ["\"opened\"", "\"resolved\""]);
    assert_eq!(receiver.heard("/slack").len(), 2);
    assert_eq!(receiver.heard("/teams").len(), 2);
    let mails = mails.lock().unwrap();
    assert_eq!(mails.len(), 2);
    assert!(mails[1].contains("Subject: [seismo] Resolved: Microsoft 365 outage"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_fails_three_times_then_succeeds_gets_the_message_once() {
    let (_setup, receiver, mut notifier) = one_outage(3).await;
    let mut delivered = 0;
    for minute in 0..30 {
        delivered += notifier
            .step(T0 + 30_000 + minute * MINUTE_MS)
            .await
            .unwrap()
            .delivered;
    }
    assert_eq!(delivered, 1);
    let hook = receiver.heard("/hook");
    assert_eq!(hook.len(), 4, "three failures and the success");
    let ids: Vec<&str> = hook
        .iter()
        .map(|h| h.headers["x-seismo-delivery"].to_str().unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one delivery id: {ids:?}"
    );
    assert!(hook.iter().all(|h| h.body == hook[0].body));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_never_answers_well_ends_in_the_dead_letters() {
    let (setup, receiver, mut notifier) = one_outage(usize::MAX).await;
    for hour in 0..24 {
        notifier.step(T0 + 30_000 + hour * 3_600_000).await.unwrap();
    }
    // The opening, tried until given up on (the reminders every four hours too).
    let hook = receiver.heard("/hook");
    let first = hook[0].headers["x-seismo-delivery"].clone();
    let tries = hook
        .iter()
        .filter(|h| h.headers["x-seismo-delivery"] == first)
        .count();
    assert_eq!(tries, seismo_notify::deliver::MAX_ATTEMPTS as usize);
    let dead = setup
        .writer
        .read(|s| s.dead_notifications(100))
        .await
        .unwrap();
    let opening = dead
        .iter()
        .find(|d| d.id.to_string() == first.to_str().unwrap())
        .expect("the opening is a dead letter");
    assert_eq!(
        (opening.channel.as_str(), opening.event.as_str()),
        ("it-team", "opened")
    );
    assert!(
        opening
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("HTTP 500"),
        "{opening:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_between_opened_and_resolved_sends_neither_twice() {
    let (mut setup, receiver, mut notifier) = one_outage(0).await;
    let channels = vec![webhook("it-team", receiver.url("/hook"))];
    notifier.step(T0 + 30_000).await.unwrap();
    drop(notifier);
    setup.restart().await;
    let mut notifier = setup.notifier(channels.clone(), vec![]);
    for minute in 1..10 {
        notifier.step(T0 + minute * MINUTE_MS).await.unwrap();
    }
    setup
        .microsoft_365(State::Resolved, T0 + 10 * MINUTE_MS)
        .await;
    drop(notifier);
    setup.restart().await;
    let mut notifier = setup.notifier(channels, vec![]);
    for minute in 10..20 {
        notifier.step(T0 + minute * MINUTE_MS).await.unwrap();
    }
    let kinds: Vec<String> = receiver
        .heard("/hook")
        .iter()
        .map(|h| json(h)["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["opened", "resolved"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_provider_and_its_two_dependants_make_one_message_and_a_silence_or_maintenance_holds_back()
 {
    let (receiver, url) = Receiver::start(0).await;
    let silence = Silence {
        services: vec!["microsoft-365".into(), "mimecast".into(), "godaddy".into()],
        regions: Vec::new(),
        labels: Vec::new(),
        until: seismo_core::time::format_rfc3339(T0 + 24 * 3_600_000),
        comment: "known".into(),
    };
    // The same outage on three stores: one notifier without a silence, one with it,
    // one during a maintenance window of the three services.
    let (told, silenced, mut maintained) = (Setup::new(), Setup::new(), Setup::new());
    // And one whose silence an operator made through the API (stored).
    let stored = Setup::new();
    let body = serde_json::to_string(&silence).unwrap();
    stored
        .writer
        .read(move |s| {
            s.add_silence(&seismo_store::NewSilence {
                created_at: T0,
                created_by: "ops".into(),
                until: T0 + 24 * 3_600_000,
                body,
            })
        })
        .await
        .unwrap();
    maintained.maintenances = vec![seismo_core::maintenance::Maintenance {
        title: "Mail migration".into(),
        services: silence.services.clone(),
        starts: seismo_core::time::format_rfc3339(T0 - 3_600_000),
        duration: std::time::Duration::from_secs(3 * 3600),
        every: None,
        until: None,
        message: String::new(),
    }];
    let mut notifiers = [
        told.notifier(vec![webhook("ops", format!("{url}/ops"))], vec![]),
        silenced.notifier(vec![webhook("it", format!("{url}/it"))], vec![silence]),
        maintained.notifier(
            vec![webhook("maintained", format!("{url}/maintained"))],
            vec![],
        ),
        stored.notifier(vec![webhook("stored", format!("{url}/stored"))], vec![]),
    ];
    for setup in [&told, &silenced, &maintained, &stored] {
        setup.microsoft_365(State::Confirmed, T0).await;
    }
    for notifier in &mut notifiers {
        notifier.step(T0 + 10_000).await.unwrap();
    }
    // Within the group wait the dependants open, linked to Microsoft 365.
    for setup in [&told, &silenced, &maintained, &stored] {
        setup
            .store(vec![
                incident(
                    2,
                    "mimecast",
                    State::Suspected,
                    Some((1, "microsoft-365")),
                    T0 + 20_000,
                ),
                incident(
                    3,
                    "godaddy",
                    State::Suspected,
                    Some((1, "microsoft-365")),
                    T0 + 20_000,
                ),
            ])
            .await;
    }
    for now in [
        T0 + 20_000,
        T0 + 40_000,
        T0 + 2 * MINUTE_MS,
        T0 + 4 * MINUTE_MS,
    ] {
        for notifier in &mut notifiers {
            notifier.step(now).await.unwrap();
        }
    }
    let ops = receiver.heard("/ops");
    assert_eq!(ops.len(), 1, "one grouped message");
    let services: Vec<String> = json(&ops[0])["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["service"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(services, ["microsoft-365", "mimecast", "godaddy"]);
    assert!(receiver.heard("/it").is_empty(), "silenced");
    assert!(
        receiver.heard("/maintained").is_empty(),
        "under maintenance"
    );
    // Once the window closes, the outage still going on is told.
    let [_, _, mut maintained_notifier, _] = notifiers;
    maintained_notifier.step(T0 + 2 * 3_600_000).await.unwrap();
    assert_eq!(
        receiver.heard("/maintained").len(),
        1,
        "told after the window"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_gets_a_confirmation_then_outages_with_a_one_click_unsubscribe() {
    use seismo_core::access::digest;
    use seismo_store::{NewNotification, NewSubscriber};

    let setup = Setup::new();
    let (mails, smtp) = mail_server().await;
    let mut notifier = setup.notifier_with(
        vec![],
        vec![],
        Some(seismo_notify::SubscriptionMail {
            smtp: seismo_core::official::Secret(smtp),
            from: "Status <status@seismo.test>".into(),
        }),
    );
    let ask = |email: &str, secret: &str, services: &[&str]| {
        let subscriber = NewSubscriber {
            email: email.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
            created_at: T0 - 10 * MINUTE_MS,
            confirm_digest: digest(secret),
            unsubscribe: format!("leave-{secret}"),
        };
        let confirmation = NewNotification {
            channel: String::new(),
            created_at: T0 - 10 * MINUTE_MS,
            event: "confirm".into(),
            body: serde_json::json!({"subject": "Confirm", "text": format!("open /confirm?token={secret}")})
                .to_string(),
        };
        let writer = setup.writer.clone();
        async move {
            writer
                .read(move |s| s.add_subscriber(&subscriber, &confirmation))
                .await
                .unwrap()
        }
    };
    ask("ann@example.com", "a1", &["microsoft-365"]).await;
    ask("bob@example.com", "b1", &["microsoft-365"]).await;
    ask("cat@example.com", "c1", &["slack"]).await;
    // The confirmations go out; nothing else does.
    assert_eq!(
        notifier.step(T0 - 9 * MINUTE_MS).await.unwrap(),
        step(0, 3, 0)
    );
    assert_eq!(mails.lock().unwrap().len(), 3);
    for to in ["ann", "bob", "cat"] {
        let header = format!("To: {to}@example.com");
        assert!(
            mails.lock().unwrap().iter().any(|m| m.contains(&header)),
            "{to}"
        );
    }
    // Ann and Cat confirm; Bob never does.
    for secret in ["a1", "c1"] {
        let confirmed = setup
            .writer
            .read(move |s| s.confirm_subscriber(&digest(secret), T0 - 5 * MINUTE_MS, 0))
            .await
            .unwrap();
        assert!(confirmed.is_some());
    }
    setup.microsoft_365(State::Confirmed, T0).await;
    notifier.step(T0).await.unwrap();
    assert_eq!(notifier.step(T0 + MINUTE_MS).await.unwrap(), step(1, 1, 0));
    let opened = mails.lock().unwrap().last().unwrap().clone();
    assert!(opened.contains("To: ann@example.com"), "{opened}");
    assert!(
        opened.contains(
            "List-Unsubscribe: <http://seismo.test/subscriptions/unsubscribe?token=leave-a1>"
        ),
        "{opened}"
    );
    assert!(
        opened.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{opened}"
    );
    // The text is quoted-printable: soft line breaks and `=3D` for `=`.
    let text = opened.replace("=\n", "").replace("=3D", "=");
    assert!(
        text.contains("To stop: http://seismo.test/subscriptions/unsubscribe?token=leave-a1"),
        "{text}"
    );
    assert_eq!(
        mails.lock().unwrap().len(),
        4,
        "not Bob (unconfirmed), not Cat (Slack)"
    );
    // Ann leaves with one click: the end of the outage is not sent to her.
    let left = setup
        .writer
        .read(|s| s.end_subscription("leave-a1", T0 + 2 * MINUTE_MS))
        .await
        .unwrap();
    assert!(left);
    setup
        .microsoft_365(State::Resolved, T0 + 30 * MINUTE_MS)
        .await;
    notifier.step(T0 + 30 * MINUTE_MS).await.unwrap();
    notifier.step(T0 + 31 * MINUTE_MS).await.unwrap();
    assert_eq!(
        mails.lock().unwrap().len(),
        4,
        "nothing after unsubscribing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_maintenance_made_through_the_api_holds_back_until_cancelled() {
    let setup = Setup::new();
    let (receiver, url) = Receiver::start(0).await;
    let mut notifier = setup.notifier(vec![webhook("it-team", format!("{url}/hook"))], vec![]);
    let body = serde_json::json!({
        "title": "Exchange patching",
        "services": ["microsoft-365"],
        "starts": "2026-01-22T18:00:00Z",
        "duration": "2h",
    })
    .to_string();
    let id = setup
        .writer
        .read(move |s| {
            s.add_maintenance(&seismo_store::NewMaintenance {
                created_at: T0,
                created_by: "ops".into(),
                body,
            })
        })
        .await
        .unwrap();
    setup.microsoft_365(State::Confirmed, T0).await;
    notifier.step(T0).await.unwrap();
    assert_eq!(notifier.step(T0 + MINUTE_MS).await.unwrap(), step(0, 0, 0));
    let cancelled = setup
        .writer
        .read(move |s| s.cancel_maintenance(id, T0 + 2 * MINUTE_MS))
        .await
        .unwrap();
    assert!(cancelled);
    assert_eq!(
        notifier.step(T0 + 3 * MINUTE_MS).await.unwrap(),
        step(1, 1, 0),
        "told once the maintenance is cancelled"
    );
    assert_eq!(receiver.heard.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_made_through_the_api_hears_the_next_incident() {
    let setup = Setup::new();
    let (receiver, url) = Receiver::start(0).await;
    let mut notifier = setup.notifier(vec![], vec![]);
    let body = serde_json::to_string(&webhook("made", format!("{url}/made"))).unwrap();
    let created = setup
        .writer
        .read(move |s| s.put_channel("made", &body, T0))
        .await
        .unwrap();
    assert!(created);
    setup.microsoft_365(State::Confirmed, T0).await;
    notifier.step(T0).await.unwrap();
    assert_eq!(notifier.step(T0 + MINUTE_MS).await.unwrap(), step(1, 1, 0));
    let heard = receiver.heard.lock().unwrap().clone();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].path, "/made");
}
