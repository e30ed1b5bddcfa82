#![allow(dead_code)] // each test file uses the part it needs
//! What the probe tests share: certificates made for the test, and TLS servers.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use seismo_probe::Prober;
use tokio_rustls::TlsAcceptor;

/// A certificate authority of the test's own, and a prober that trusts it.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, ready to serve.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Authority {
    pub fn new() -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "seismo test authority");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// A prober that trusts this authority, read from a PEM file as `seismo serve`
    /// reads `[probes] ca_roots`.
    pub fn prober(&self) -> Prober {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), self.issuer.pem()).unwrap();
        let roots = seismo_probe::tls::read_roots(&[file.path()]).unwrap();
        assert_eq!(roots, [self.issuer.der().clone()]);
        Prober::new(roots, None).unwrap()
    }

    /// A certificate for `names`, valid from a year ago for two years.
    pub fn issue(&self, names: &[&str]) -> Identity {
        let key = KeyPair::generate().unwrap();
        let params = leaf_params(names, (2025, 12, 1), (2027, 12, 1));
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            chain: vec![cert.der().clone(), self.issuer.der().clone()],
            key: key.serialize_der(),
        }
    }
}

/// A certificate for `names` that signs itself, valid between the two dates.
pub fn self_signed(names: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> Identity {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(names, from, until).self_signed(&key).unwrap();
    Identity {
        chain: vec![cert.der().clone()],
        key: key.serialize_der(),
    }
}

fn leaf_params(names: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].clone());
    params.not_before = date_time_ymd(from.0, from.1, from.2);
    params.not_after = date_time_ymd(until.0, until.1, until.2);
    params
}

impl Identity {
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            self.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
        )
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}
