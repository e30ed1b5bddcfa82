//! Which node runs the engine's writes and the notifications. On the embedded store
//! there is one node and it always leads. On a shared PostgreSQL database, a node leads
//! while it holds a session advisory lock on a connection of its own: the database
//! gives the lock to one session at a time and frees it the moment that session's
//! connection closes (a node killed, a node cut off), so another node's next attempt
//! takes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::Client;

use crate::address::Address;

use crate::StoreError;

/// The key of the leader's advisory lock (of the connection's schema: two seismo sites
/// in one database each have a leader), the same on every node.
const LEADER_LOCK: i32 = 4;

/// Whether this node leads now; cloned handles share the answer.
#[derive(Clone, Debug)]
pub struct Leadership(Arc<AtomicBool>);

impl Leadership {
    /// The only node: it always leads.
    pub fn sole() -> Leadership {
        Leadership(Arc::new(AtomicBool::new(true)))
    }

    pub fn is_leader(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Campaigns for the lead on the database `url` names, from a thread of its own,
    /// every `every`: takes the lock when it is free, and while leading checks that
    /// its connection lives, stepping down at once when it does not (another node may
    /// have the lock by then). The address is checked before this returns.
    pub fn campaign(url: &str, every: Duration) -> Result<Leadership, StoreError> {
        let mut address = Address::parse(url)?;
        // A connection cut off without a word is noticed within seconds.
        address
            .config
            .connect_timeout(every.max(Duration::from_secs(2)))
            .keepalives_idle(Duration::from_secs(5))
            .tcp_user_timeout(Duration::from_secs(5));
        let leadership = Leadership(Arc::new(AtomicBool::new(false)));
        let flag = leadership.clone();
        std::thread::Builder::new()
            .name("seismo-leader".into())
            .spawn(move || {
                let mut client: Option<Client> = None;
                loop {
                    flag.campaign_once(&address, &mut client);
                    std::thread::sleep(every);
                }
            })
            .map_err(|source| StoreError::Unavailable {
                context: "starting the leader's campaign",
                source: source.into(),
            })?;
        Ok(leadership)
    }

    /// One step of the campaign on `client`, connecting it when needed.
    fn campaign_once(&self, address: &Address, client: &mut Option<Client>) {
        if client.as_ref().is_none_or(Client::is_closed) {
            self.step_down();
            *client = address.connect().ok();
        }
        let Some(connection) = client else { return };
        let answer = if self.is_leader() {
            connection.simple_query("SELECT 1").map(|_| true)
        } else {
            connection
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext(current_schema()), $1)",
                    &[&LEADER_LOCK],
                )
                // NULL when the schema is gone: not the lead.
                .and_then(|row| row.try_get::<_, Option<bool>>(0))
                .map(|taken| taken.unwrap_or(false))
        };
        match answer {
            Ok(true) if !self.is_leader() => {
                tracing::info!("this node leads: it runs the engine's writes and notifications");
                self.0.store(true, Ordering::Release);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "lost the connection that holds the lead");
                *client = None;
                self.step_down();
            }
        }
    }

    fn step_down(&self) {
        if self.0.swap(false, Ordering::AcqRel) {
            tracing::warn!("this node no longer leads");
        }
    }
}
