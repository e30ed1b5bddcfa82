//! `seismo token create|list|revoke`: the bearer tokens of importers, operators, agents
//! and admins, kept hashed in the store. The secret is printed once, by `create`, and
//! never taken as an argument (where `ps` would show it).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use seismo_core::access::{Role, Token, new_secret};
use seismo_core::time::format_rfc3339;
use seismo_store::Store;

use crate::Common;
use crate::setup::{open_store, wall_clock};

#[derive(clap::Subcommand)]
pub enum Args {
    /// Make a token and print its secret, alone on standard output: it is shown once.
    Create {
        #[command(flatten)]
        common: Common,
        /// admin, operator (incidents, maintenance, silences), importer (reports of
        /// any age, named reporters) or agent (probe results).
        #[arg(long)]
        role: Role,
        /// A unique name, for logs and `revoke`; default: the role and a number.
        #[arg(long)]
        name: Option<String>,
        /// The token stops working this long from now ("90d", "12h"); default: never.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<Duration>,
    },
    /// Every token: name, role, state, created, expires.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Stop a token from working, within seconds on a running server.
    Revoke {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let now = wall_clock();
    match args {
        Args::Create {
            common,
            role,
            name,
            expires,
        } => {
            let mut store = open_store(&common.load()?)?;
            let name = match name {
                Some(name) if name.trim().is_empty() => bail!("--name must not be empty"),
                Some(name) => name,
                None => unused_name(&mut *store, role)?,
            };
            let (secret, digest) = new_secret()?;
            let token = Token {
                name: name.clone(),
                role,
                digest,
                created_at: now,
                expires_at: expires.map(|d| now.saturating_add(d.as_millis() as i64)),
                revoked_at: None,
            };
            if !store.add_token(&token)? {
                bail!("a token named {name:?} exists already (revoked tokens keep their names)");
            }
            eprintln!("created {role} token {name:?}; its secret follows, shown this once");
            println!("{secret}");
        }
        Args::List { common } => {
            let mut store = open_store(&common.load()?)?;
            println!(
                "{:<24} {:<9} {:<8} {:<20} EXPIRES",
                "NAME", "ROLE", "STATE", "CREATED"
            );
            for t in store.tokens()? {
                println!(
                    "{:<24} {:<9} {:<8} {:<20} {}",
                    t.name,
                    t.role.name(),
                    t.state(now).name(),
                    format_rfc3339(t.created_at),
                    t.expires_at.map_or("never".into(), format_rfc3339),
                );
            }
        }
        Args::Revoke { common, name } => {
            let mut store = open_store(&common.load()?)?;
            if !store.revoke_token(&name, now)? {
                bail!("no active token is named {name:?} (`seismo token list` shows them)");
            }
            eprintln!("revoked {name:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ROLE-N` for the first N not taken.
fn unused_name(store: &mut dyn Store, role: Role) -> anyhow::Result<String> {
    let taken: Vec<String> = store.tokens()?.into_iter().map(|t| t.name).collect();
    Ok((1..)
        .map(|n| format!("{role}-{n}"))
        .find(|name| !taken.contains(name))
        .expect("some number is free"))
}
