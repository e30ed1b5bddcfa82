//! Who may do what: bearer tokens, their roles, and the check of a presented token; the
//! people who sign in to the admin pages, and their sessions.
//!
//! A token is 32 random bytes shown once, as `seismo_` and 64 hex digits, when it is
//! created; only its SHA-256 digest is kept. A slow password hash is not needed: the
//! secret has 256 bits of entropy, so its digest cannot be reversed by guessing. A
//! person's password has far less, so it is kept as an Argon2id hash (its PHC string,
//! salt and parameters included); a session's cookie is a secret like a token's.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::time::Millis;

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything the other roles may do, and managing tokens.
    Admin,
    /// Incidents, maintenance and silences.
    Operator,
    /// Reports of any age, and reporters named by their `client` field.
    Importer,
    /// Results of remote probe agents.
    Agent,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Importer, Role::Agent];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Importer => "importer",
            Role::Agent => "agent",
        }
    }

    /// Whether a token of this role may act as `needed`.
    pub fn grants(self, needed: Role) -> bool {
        self == needed || self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == text)
            .ok_or_else(|| format!("no role {text:?}: admin, operator, importer or agent"))
    }
}

/// The SHA-256 digest of a token's secret: what is stored.
pub type SecretDigest = [u8; 32];

const PREFIX: &str = "seismo_";

/// A new secret from the operating system's random source, and its digest.
pub fn new_secret() -> std::io::Result<(String, SecretDigest)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let mut secret = String::with_capacity(PREFIX.len() + 64);
    secret.push_str(PREFIX);
    for b in bytes {
        secret.push_str(&format!("{b:02x}"));
    }
    let digest = digest(&secret);
    Ok((secret, digest))
}

pub fn digest(secret: &str) -> SecretDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// A token as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Unique; what `seismo token revoke` names.
    pub name: String,
    pub role: Role,
    pub digest: SecretDigest,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl Token {
    /// Whether the token is usable at `now`.
    pub fn state(&self, now: Millis) -> TokenState {
        if self.revoked_at.is_some_and(|at| at <= now) {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl TokenState {
    pub fn name(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

/// A person who signs in to the admin pages with a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Unique; what they sign in with.
    pub name: String,
    /// `admin` or `operator`.
    pub role: Role,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// A signed-in session, as stored: the digest of its cookie's secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub digest: SecretDigest,
    /// The user's name.
    pub user: String,
    /// What every form of the session must send back: a request forged by another
    /// site cannot know it.
    pub csrf: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// The Argon2id hash of `password` with a fresh random salt, as a PHC string.
pub fn hash_password(password: &str) -> std::io::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(std::io::Error::other)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| std::io::Error::other(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Whether `password` is the one `hash` was made from. Costs the same whether it is or
/// not (and for a hash that is not one, which is false).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("no such token")]
    Unknown,
    #[error("the token {0:?} has expired")]
    Expired(String),
    #[error("the token {0:?} has been revoked")]
    Revoked(String),
    #[error("the token {name:?} has the role {role}; this needs {needed}")]
    WrongRole {
        name: String,
        role: Role,
        needed: Role,
    },
}

/// The tokens a server knows, checked against presented secrets.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    tokens: Vec<Token>,
}

impl Keyring {
    pub fn new(tokens: Vec<Token>) -> Keyring {
        Keyring { tokens }
    }

    /// The token whose secret is `presented`, if it is usable at `now` for `needed`.
    ///
    /// Every stored digest is compared in constant time, and all of them are compared
    /// whichever matches, so the time taken says nothing about the secret.
    pub fn check(&self, presented: &str, needed: Role, now: Millis) -> Result<&Token, Denied> {
        let given = digest(presented);
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&given)) {
                found = Some(token);
            }
        }
        let token = found.ok_or(Denied::Unknown)?;
        match token.state(now) {
            TokenState::Revoked => return Err(Denied::Revoked(token.name.clone())),
            TokenState::Expired => return Err(Denied::Expired(token.name.clone())),
            TokenState::Active => {}
        }
        if !token.role.grants(needed) {
            return Err(Denied::WrongRole {
                name: token.name.clone(),
                role: token.role,
                needed,
            });
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_nothing_else_does() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horse ", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }

    fn token(name: &str, role: Role, secret: &str) -> Token {
        Token {
            name: name.into(),
            role,
            digest: digest(secret),
            created_at: 0,
            expires_at: Some(1_000),
            revoked_at: None,
        }
    }

    #[test]
    fn a_token_is_checked_for_secret_state_and_role() {
        let mut revoked = token("old", Role::Importer, "s3");
        revoked.revoked_at = Some(10);
        let ring = Keyring::new(vec![
            token("partner", Role::Importer, "s1"),
            token("root", Role::Admin, "s2"),
            revoked,
        ]);
        assert_eq!(ring.check("s1", Role::Importer, 5).unwrap().name, "partner");
        assert_eq!(ring.check("s9", Role::Importer, 5), Err(Denied::Unknown));
        assert!(matches!(
            ring.check("s1", Role::Operator, 5),
            Err(Denied::WrongRole {
                needed: Role::Operator,
                ..
            })
        ));
        assert_eq!(ring.check("s2", Role::Operator, 5).unwrap().name, "root");
        assert_eq!(
            ring.check("s1", Role::Importer, 1_000),
            Err(Denied::Expired("partner".into()))
        );
        assert!(ring.check("s3", Role::Importer, 9).is_ok());
        assert_eq!(
            ring.check("s3", Role::Importer, 10),
            Err(Denied::Revoked("old".into()))
        );
    }

    #[test]
    fn new_secrets_differ_and_match_their_digest() {
        let (a, da) = new_secret().unwrap();
        let (b, _) = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("seismo_") && a.len() == 7 + 64);
        assert_eq!(digest(&a), da);
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.name().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
