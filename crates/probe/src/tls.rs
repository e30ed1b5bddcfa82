//! The TLS probe: a handshake, and what the server's certificate says — its chain,
//! days to expiry, whether it names the host, whether the chain is trusted. The
//! handshake itself accepts any certificate, so an expired or self-signed one is
//! still described, not just refused.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use seismo_core::probe::{Certificate, Detail, Failure, FailureKind, TlsCheck, host_port};
use seismo_core::time::format_rfc3339;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::{Finding, connect, within};

/// The roots and client settings every TLS connection of a prober uses.
#[derive(Debug)]
pub struct Settings {
    verifier: Arc<WebPkiServerVerifier>,
    /// Checks the chain and the name, as a browser would.
    pub(crate) verified: Arc<ClientConfig>,
    /// Accepts any certificate (signatures are still checked), to describe it.
    pub(crate) unverified: Arc<ClientConfig>,
}

/// The certificates of the PEM files at `paths`: certificate authorities to trust
/// besides the system's (a company's own, for its internal services). An error names
/// the file.
pub fn read_roots(
    paths: &[impl AsRef<std::path::Path>],
) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let named = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let before = roots.len();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| named(&e))? {
            roots.push(cert.map_err(|e| named(&e))?);
        }
        if roots.len() == before {
            return Err(named(&"no PEM certificate in it"));
        }
    }
    Ok(roots)
}

impl Settings {
    /// The client settings that check the chain and the name: for whatever else of
    /// seismo's reads over TLS (status feeds), trusting the same roots.
    pub fn verified(&self) -> Arc<ClientConfig> {
        self.verified.clone()
    }

    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<Settings, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if roots.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for root in extra_roots {
            roots
                .add(root)
                .map_err(|e| format!("an extra root certificate: {e}"))?;
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        let builder = || {
            ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())
        };
        let verified = builder()?
            .with_webpki_verifier(verifier.clone())
            .with_no_client_auth();
        let unverified = builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth();
        Ok(Settings {
            verifier,
            verified: Arc::new(verified),
            unverified: Arc::new(unverified),
        })
    }

    /// A TLS session over `stream` that accepts any certificate.
    pub(crate) async fn handshake_unverified<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        host: &str,
    ) -> Result<TlsStream<S>, Failure> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| Failure::new(FailureKind::Tls, format!("{host:?}: {e}")))?;
        TlsConnector::from(self.unverified.clone())
            .connect(name, stream)
            .await
            .map_err(|e| Failure::new(FailureKind::Tls, format!("handshake failed: {e}")))
    }
}

pub async fn run(
    settings: &Settings,
    check: &TlsCheck,
    timeout: Duration,
    local: Option<IpAddr>,
) -> Finding {
    let mut chain = Vec::new();
    let result = within(timeout, handshake(settings, check, local, &mut chain)).await;
    let Ok(host) = result else {
        let detail = Detail::Tls {
            chain: Vec::new(),
            days_left: None,
            hostname_match: None,
            untrusted: None,
        };
        return (detail, result.err());
    };
    examine(settings, check, &host, &chain)
}

/// Shakes hands and keeps the chain the server sent; returns the name checked.
async fn handshake(
    settings: &Settings,
    check: &TlsCheck,
    local: Option<IpAddr>,
    chain: &mut Vec<CertificateDer<'static>>,
) -> Result<String, Failure> {
    let (target_host, _) =
        host_port(&check.target).map_err(|e| Failure::new(FailureKind::Connect, e))?;
    let host = check
        .server_name
        .as_deref()
        .unwrap_or(target_host)
        .to_string();
    let stream = connect(&check.target, local).await?;
    let session = settings.handshake_unverified(stream, &host).await?;
    let (_, connection) = session.get_ref();
    chain.extend(
        connection
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .cloned(),
    );
    if chain.is_empty() {
        return Err(Failure::new(
            FailureKind::Tls,
            "the server sent no certificate",
        ));
    }
    Ok(host)
}

/// Describes the chain and finds the first thing wrong with it, most urgent first:
/// expired, another host's, untrusted, expiring soon.
fn examine(settings: &Settings, check: &TlsCheck, host: &str, chain: &[CertificateDer]) -> Finding {
    let described: Vec<Certificate> = chain.iter().filter_map(|der| describe(der)).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let leaf = x509_parser::parse_x509_certificate(&chain[0]).ok();
    let days_left = leaf
        .as_ref()
        .map(|(_, cert)| (cert.validity().not_after.timestamp() - now).div_euclid(86_400));
    let name = ServerName::try_from(host.to_string()).expect("checked by the handshake");
    let hostname_match = webpki::EndEntityCert::try_from(&chain[0])
        .map(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
        .unwrap_or(false);
    let trust =
        settings
            .verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now());
    let untrusted = match trust {
        Ok(_) => None,
        // The chain was trusted; the name is judged on its own above.
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. },
        )) => None,
        Err(error) => Some(error.to_string()),
    };
    let tls = |message: String| Some(Failure::new(FailureKind::Tls, message));
    let failure = match days_left {
        _ if leaf.is_none() => tls("the server's certificate cannot be read".into()),
        Some(days) if days < 0 => tls(format!(
            "the certificate expired {} days ago, on {}",
            -days,
            described.first().map_or("", |c| c.not_after.as_str())
        )),
        _ if !hostname_match => tls(format!(
            "the certificate is not valid for {host}: it is for {}",
            described.first().map_or("", |c| c.subject.as_str())
        )),
        _ if check.verify && untrusted.is_some() => tls(format!(
            "the certificate is not trusted: {}",
            untrusted.as_deref().unwrap_or_default()
        )),
        Some(days) if days < i64::from(check.min_days_left) => tls(format!(
            "the certificate expires in {days} days, fewer than the {} required",
            check.min_days_left
        )),
        _ => None,
    };
    let detail = Detail::Tls {
        chain: described,
        days_left,
        hostname_match: Some(hostname_match),
        untrusted,
    };
    (detail, failure)
}

fn describe(der: &CertificateDer) -> Option<Certificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let time = |t: x509_parser::time::ASN1Time| format_rfc3339(t.timestamp().saturating_mul(1000));
    Some(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before),
        not_after: time(cert.validity().not_after),
    })
}

/// A verifier that accepts any chain, so that a bad one can be described; the
/// handshake's signatures are still checked, so the session is genuine.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
