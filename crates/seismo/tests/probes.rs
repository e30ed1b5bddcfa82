//! Probes run by the real binary: declared in a catalog file, run against listeners of
//! the test's own, stored, served, and still there after a restart.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::Server;

/// A catalog of one service, `mail`, with these probes (TOML tables without header).
fn mail_probed_by(probes: &[String]) -> String {
    let mut catalog = "[[service]]\nslug = \"mail\"\nname = \"Mail\"\n".to_string();
    for probe in probes {
        catalog.push_str("\n[[service.probe]]\n");
        catalog.push_str(probe);
    }
    catalog
}

fn catalog(open: &str, closed: &str) -> String {
    mail_probed_by(&[
        format!("name = \"submission\"\nkind = \"tcp\"\ntarget = \"{open}\"\ninterval = \"1s\"\n"),
        format!(
            "name = \"legacy\"\nkind = \"tcp\"\ntarget = \"{closed}\"\ninterval = \"1s\"\nretries = 0\n"
        ),
    ])
}

/// The probes of `mail` once each has a run, or after ten seconds whatever there is.
fn probes_once_run(server: &Server) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = server.get("/api/v1/services/mail/probes");
        let all_ran = body["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["locations"].as_array().unwrap().is_empty());
        if all_ran || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_catalogs_probes_run_are_served_and_survive_a_restart() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.toml");
    std::fs::write(
        &file,
        catalog(&open.local_addr().unwrap().to_string(), &closed_address),
    )
    .unwrap();
    let data = dir.path().join("data");
    let catalog_arg = file.to_str().unwrap();

    let location = std::ffi::OsStr::new("Test Lab, US");
    let server = Server::start_with_env(
        &data,
        &["--catalog", catalog_arg],
        &[("SEISMO_PROBES__LOCATION", location)],
    );
    let body = probes_once_run(&server);
    let [submission, legacy] = body["probes"].as_array().unwrap().as_slice() else {
        panic!("{body}")
    };
    let run = &submission["locations"][0];
    assert_eq!(
        (&run["location"], &run["ok"]),
        (&"Test Lab, US".into(), &true.into()),
        "{body}"
    );
    let run = &legacy["locations"][0];
    assert_eq!(run["ok"], false, "{body}");
    assert_eq!(run["error"]["kind"], "refused");
    drop(server);

    // Not probing any more: what is shown comes from the store.
    let off = std::ffi::OsStr::new("false");
    let server = Server::start_with_env(
        &data,
        &["--catalog", catalog_arg],
        &[("SEISMO_PROBES__ENABLED", off)],
    );
    let body = server.get("/api/v1/services/mail/probes");
    assert_eq!(
        body["probes"][1]["locations"][0]["error"]["kind"], "refused",
        "{body}"
    );
    let history = server.get("/api/v1/services/mail/probes/legacy/history");
    assert!(!history["runs"].as_array().unwrap().is_empty(), "{history}");
}

#[test]
fn a_bad_probe_in_the_catalog_is_named_by_file_line_and_key() {
    let (file, stderr) = support::serve_refuses_catalog(
        "[[service]]\nslug = \"mail\"\nname = \"Mail\"\n\n[[service.probe]]\nkind = \"smtp\"\ntarget = \"mx.example.com\"\nmail_from = \"a@b\"\nrcpt_to = \"c@d\"\n",
    );
    assert!(
        stderr.contains(&format!("{file}:5:1: service[0].probe[0].target:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"mx.example.com\" is not host:port"),
        "{stderr}"
    );
}

/// An HTTPS server on loopback answering `200 ok` to every request, with a certificate
/// for `localhost` from an authority of the test's own; that authority's PEM.
fn private_https() -> (std::net::SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use std::io::{Read, Write};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let authority = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &authority)
        .unwrap();
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), authority.der().clone()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let config = config.clone();
            std::thread::spawn(move || {
                let connection = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream.unwrap());
                let mut request = [0u8; 4096];
                if tls.read(&mut request).is_ok_and(|n| n > 0) {
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            });
        }
    });
    (address, authority.pem())
}

#[test]
fn probes_trust_the_certificate_authorities_of_the_config_file() {
    let (address, authority) = private_https();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    let portal = format!(
        "name = \"portal\"\nkind = \"http\"\nurl = \"https://localhost:{}/\"\ninterval = \"1s\"\nretries = 0\n",
        address.port()
    );
    std::fs::write(&catalog, mail_probed_by(&[portal])).unwrap();
    let pem = dir.path().join("company-ca.pem");
    std::fs::write(&pem, authority).unwrap();
    let trusting = dir.path().join("trusting.toml");
    std::fs::write(
        &trusting,
        format!("[probes]\nca_roots = [{:?}]\n", pem.to_str().unwrap()),
    )
    .unwrap();
    let catalog = catalog.to_str().unwrap();
    let portal = |server: &Server| probes_once_run(server)["probes"][0]["locations"][0].clone();

    // Without the company's authority the certificate is untrusted…
    let server = Server::start(&dir.path().join("a"), &["--catalog", catalog]);
    let run = portal(&server);
    assert_eq!(run["error"]["kind"], "tls", "{run}");
    drop(server);
    // …with it, the probe passes.
    let server = Server::start(
        &dir.path().join("b"),
        &["--catalog", catalog, "--config", trusting.to_str().unwrap()],
    );
    let run = portal(&server);
    assert_eq!(run["ok"], true, "{run}");
    drop(server);

    // A file that is not there stops the server before it starts, naming key and file.
    let missing = dir.path().join("missing.toml");
    std::fs::write(&missing, "[probes]\nca_roots = [\"/nonexistent/ca.pem\"]\n").unwrap();
    let output = support::seismo()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--catalog",
            catalog,
            "--data",
        ])
        .arg(dir.path().join("c"))
        .arg("--config")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[probes] ca_roots: /nonexistent/ca.pem: "),
        "{stderr}"
    );
}
