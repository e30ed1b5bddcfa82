//! The TCP probe: does the port accept a connection, and how fast.

use std::net::IpAddr;
use std::time::Duration;

use seismo_core::probe::{Detail, TcpCheck};

use crate::{Finding, connect, within};

pub async fn run(check: &TcpCheck, timeout: Duration, local: Option<IpAddr>) -> Finding {
    let failure = within(timeout, connect(&check.target, local)).await.err();
    (Detail::Tcp {}, failure)
}
