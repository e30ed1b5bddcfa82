//! Notifications through the real binary: the admin's list of what waits and what was
//! given up on, refused to everyone else; a channel's mistake stops the server with
//! its file, line and key.

mod support;

use seismo_store::{Attempt, NewNotification, SqliteStore, Store};
use support::{Server, create_token, seismo};

#[test]
fn only_an_admin_sees_the_channels_pending_notifications_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let mut store = SqliteStore::open(&data).unwrap();
        let new = |event: &str, created_at: i64| NewNotification {
            channel: "it-team".into(),
            created_at,
            event: event.into(),
            body: "{\"kind\":\"opened\"}".into(),
        };
        // The pending one is due in 2096: the server's notifier leaves it alone.
        store
            .queue_notifications(
                &[
                    new("opened", 1_769_105_700_000),
                    new("resolved", 4_000_000_000_000),
                ],
                "notify-test",
                "",
            )
            .unwrap();
        let dead = store.due_notifications(i64::MAX, 1).unwrap()[0].id;
        store
            .notification_tried(
                dead,
                &Attempt::Failed {
                    at: 1_769_105_760_000,
                    error: "HTTP 500 Internal Server Error: down".into(),
                    retry_at: None,
                },
            )
            .unwrap();
    }
    let admin = create_token(&data, "admin");
    let revoked = create_token(&data, "admin");
    let operator = create_token(&data, "operator");
    let revoking = seismo()
        .args(["token", "revoke", "admin-2", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(revoking.status.success());
    let config = dir.path().join("seismo.toml");
    std::fs::write(
        &config,
        "[[channel]]\nname = \"it-team\"\nkind = \"slack\"\nurl = \"https://hooks.slack.test/services/T0/B0/very-secret\"\nmin_state = \"confirmed\"\n",
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    let get_from = |path: &str, token: Option<&str>| {
        let mut request = support::http().build().unwrap().get(server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().unwrap())
    };
    let get = |token: Option<&str>| get_from("/api/v1/notifications", token);
    let wrong = format!("seismo_{}", "0".repeat(64));
    for (token, status, code) in [
        (None, 401, "missing_token"),
        (Some(wrong.as_str()), 401, "invalid_token"),
        (Some(revoked.as_str()), 401, "invalid_token"),
        (Some(operator.as_str()), 403, "forbidden"),
    ] {
        let (got, body) = get(token);
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let (status, list) = get(Some(&admin));
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["dead"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["dead"][0]["event"], "opened");
    assert_eq!(
        list["dead"][0]["last_error"],
        "HTTP 500 Internal Server Error: down"
    );
    assert_eq!(list["dead"][0]["next_at"], serde_json::Value::Null);
    assert_eq!(list["pending"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["pending"][0]["event"], "resolved");
    assert_eq!(list["pending"][0]["attempts"], 0);
    // The channels too, without what makes their addresses secret.
    assert_eq!(get_from("/api/v1/channels", Some(&operator)).0, 403);
    let (status, channels) = get_from("/api/v1/channels", Some(&admin));
    assert_eq!(status, 200);
    assert_eq!(channels["channels"][0]["name"], "it-team");
    assert_eq!(channels["channels"][0]["kind"], "slack");
    assert_eq!(channels["channels"][0]["host"], "hooks.slack.test");
    assert_eq!(channels["channels"][0]["min_state"], "confirmed");
    assert!(!channels.to_string().contains("very-secret"), "{channels}");
}

/// What `seismo serve` says on standard error when its settings file is `text`.
fn refused_settings(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seismo.toml");
    std::fs::write(&config, text).unwrap();
    let output = seismo()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    (
        config.display().to_string(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_channels_or_maintenances_mistake_stops_the_server_with_its_place() {
    let (file, stderr) = refused_settings(
        "[[channel]]\nname = \"mail\"\nkind = \"email\"\nsmtp = \"smtp://127.0.0.1:25\"\nfrom = \"seismo <s@example.com>\"\nto = []\n",
    );
    assert!(
        stderr.contains(&format!(
            "{file}:1: channel[0].to: email needs at least one recipient"
        )),
        "{stderr}"
    );
    let (file, stderr) = refused_settings(
        "tick = \"5s\"\n\n[[maintenance]]\ntitle = \"Patching\"\nservices = [\"exchange\"]\nstarts = \"2026-12-06T02:00:00Z\"\nduration = \"2h\"\n",
    );
    assert!(
        stderr.contains(&format!(
            "{file}:3: maintenance[0].services: unknown service \"exchange\""
        )),
        "{stderr}"
    );
}
