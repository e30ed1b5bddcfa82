//! `seismo user add|list|revoke`: the people who sign in to the admin pages
//! (`/admin`) with a password, kept as an Argon2id hash in the store. A password is
//! never taken as an argument (where `ps` would show it): `add` reads it from standard
//! input with `--password-stdin`, or makes one and prints it once.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};
use seismo_core::access::{Role, User, hash_password, new_secret};
use seismo_core::time::format_rfc3339;

use crate::Common;
use crate::setup::{open_store, wall_clock};

/// Fewest characters of a password given on standard input.
const MIN_PASSWORD_CHARS: usize = 12;

#[derive(clap::Subcommand)]
pub enum Args {
    /// Add a user; without --password-stdin, a password is made and printed, alone on
    /// standard output, this once.
    Add {
        #[command(flatten)]
        common: Common,
        /// What they sign in with.
        name: String,
        /// admin (everything) or operator (incidents, silences).
        #[arg(long, default_value = "operator")]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Every user: name, role, state, created.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Stop a user from signing in, and end their sessions.
    Revoke {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let now = wall_clock();
    match args {
        Args::Add {
            common,
            name,
            role,
            password_stdin,
        } => {
            if name.trim().is_empty() || name.chars().count() > 64 {
                bail!("a user's name has 1 to 64 characters");
            }
            if !matches!(role, Role::Admin | Role::Operator) {
                bail!("people sign in as admin or operator; {role} is for tokens");
            }
            let (password, made) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                let password = line.trim_end_matches(['\r', '\n']).to_string();
                if password.chars().count() < MIN_PASSWORD_CHARS {
                    bail!("a password has at least {MIN_PASSWORD_CHARS} characters");
                }
                (password, false)
            } else {
                // 128 bits, readable: 32 hex digits of a fresh secret.
                let (secret, _) = new_secret()?;
                (secret["seismo_".len()..][..32].to_string(), true)
            };
            let mut store = open_store(&common.load()?)?;
            let user = User {
                name: name.clone(),
                role,
                password_hash: hash_password(&password)?,
                created_at: now,
                revoked_at: None,
            };
            if !store.add_user(&user)? {
                bail!("a user named {name:?} exists already (revoked users keep their names)");
            }
            if made {
                eprintln!("added {role} {name:?}; their password follows, shown this once");
                println!("{password}");
            } else {
                eprintln!("added {role} {name:?}");
            }
        }
        Args::List { common } => {
            let mut store = open_store(&common.load()?)?;
            println!("{:<24} {:<9} {:<8} CREATED", "NAME", "ROLE", "STATE");
            for u in store.users()? {
                println!(
                    "{:<24} {:<9} {:<8} {}",
                    u.name,
                    u.role.name(),
                    if u.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    format_rfc3339(u.created_at),
                );
            }
        }
        Args::Revoke { common, name } => {
            let mut store = open_store(&common.load()?)?;
            if !store.revoke_user(&name, now)? {
                bail!("no active user is named {name:?} (`seismo user list` shows them)");
            }
            eprintln!("revoked {name:?}; their sessions have ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}
