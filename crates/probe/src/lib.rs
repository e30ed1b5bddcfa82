//! Active probes: what a service answers, step by step, from where seismo runs.
//!
//! Issue 14 is built here in steps. Landed: the SMTP dialogue ([`smtp`]), with each
//! step's reply code, RFC 3463 enhanced code, class and text. To come: HTTP, TCP, DNS and
//! TLS probes, their declaration in the catalog, the scheduler, stored results, remote
//! agents, and results as signals of the engine.

pub mod smtp;
