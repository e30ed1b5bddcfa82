//! A PostgreSQL database's address as seismo reads it: what `postgres` parses, plus
//! libpq's `sslrootcert`, and TLS when `sslmode=require` asks for it.
//!
//! With `sslmode=require` the connection is encrypted and the server's certificate is
//! verified, always: against the system's certificate authorities, or against those of
//! the PEM file `sslrootcert` names (a company's own CA). libpq verifies only under
//! `verify-full`; seismo does not offer encryption to an unverified server, since
//! anyone between the node and the database could then read every report. Without
//! `sslmode=require` (libpq's default `prefer` included) the connection is plain, as
//! for a database on loopback or a local socket.

use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// A parsed database address.
#[derive(Clone)]
pub(crate) struct Address {
    pub config: Config,
    /// Set when the address asks for TLS.
    tls: Option<MakeRustlsConnect>,
}

impl Address {
    /// Reads `url` (`postgres://user:password@host/db?sslmode=require&sslrootcert=ca.pem`,
    /// or key=value pairs).
    pub fn parse(url: &str) -> Result<Address, StoreError> {
        let invalid = |what: String| StoreError::Corrupt {
            context: "reading the database address",
            source: what.into(),
        };
        let (url, root_cert) = take_root_cert(url);
        let config: Config = url.parse().map_err(|error| invalid(format!("{error}")))?;
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(tls(root_cert.as_ref()).map_err(invalid)?),
            _ if root_cert.is_some() => {
                return Err(invalid(
                    "sslrootcert is set but sslmode is not require: the connection would not be encrypted".into(),
                ));
            }
            _ => None,
        };
        Ok(Address { config, tls })
    }

    /// A new connection.
    pub fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

/// `url` without its `sslrootcert` (which `postgres` does not know), and that path.
pub(crate) fn take_root_cert(url: &str) -> (String, Option<PathBuf>) {
    // A URL's query (`a=1&b=2`), or key=value pairs separated by spaces.
    let (base, pairs, separator) = match url.split_once('?') {
        Some((base, query)) => (Some(base), query, "&"),
        None if url.contains('=') => (None, url, " "),
        None => return (url.to_string(), None),
    };
    const KEY: &str = "sslrootcert=";
    let (certs, rest): (Vec<&str>, Vec<&str>) = pairs
        .split(separator)
        .filter(|pair| !pair.is_empty())
        .partition(|pair| pair.starts_with(KEY));
    let path = certs.last().map(|pair| PathBuf::from(&pair[KEY.len()..]));
    let rest = rest.join(separator);
    let url = match base {
        Some(base) if rest.is_empty() => base.to_string(),
        Some(base) => format!("{base}?{rest}"),
        None => rest,
    };
    (url, path)
}

/// TLS that trusts the system's authorities, or those of `root_cert` alone.
fn tls(root_cert: Option<&PathBuf>) -> Result<MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "sslrootcert {}: no certificate in the file",
                    path.display()
                ));
            }
        }
        None => {
            // Certificates the system holds but rustls cannot read are skipped.
            let (added, _) =
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if added == 0 {
                return Err(
                    "sslmode=require: the system has no certificate authorities; name one with sslrootcert".into(),
                );
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_certificate_is_taken_out_of_either_form() {
        assert_eq!(
            take_root_cert("postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem"),
            (
                "postgres://u@h/db?sslmode=require".into(),
                Some("/ca.pem".into())
            )
        );
        assert_eq!(
            take_root_cert("postgres://u@h/db?sslrootcert=/ca.pem"),
            ("postgres://u@h/db".into(), Some("/ca.pem".into()))
        );
        assert_eq!(
            take_root_cert("host=h sslrootcert=/ca.pem sslmode=require"),
            ("host=h sslmode=require".into(), Some("/ca.pem".into()))
        );
        assert_eq!(
            take_root_cert("postgres://u@h/db"),
            ("postgres://u@h/db".into(), None)
        );
        assert_eq!(
            crate::PostgresStore::describe(
                "postgres://u:secret@h:5433/db?sslmode=require&sslrootcert=/ca.pem"
            ),
            "postgres://u@h:5433/db",
            "logs name it without the password"
        );
    }

    #[test]
    fn a_root_certificate_without_encryption_or_a_missing_file_is_an_error() {
        let error = Address::parse("postgres://u@h/db?sslrootcert=/ca.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("sslmode is not require"), "{error}");
        let error = Address::parse("postgres://u@h/db?sslmode=require&sslrootcert=/nope.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("sslrootcert /nope.pem"), "{error}");
        assert!(Address::parse("postgres://u@h/db").unwrap().tls.is_none());
    }
}
