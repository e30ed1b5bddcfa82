//! `seismo import FILE.ndjson`: history into the store, through the same validation
//! and counting rule as the API.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use seismo_core::time::Millis;
use seismo_store::Pending;

use crate::Common;
use crate::ndjson::{Rejected, validate_line};
use crate::setup::{Intake, wall_clock};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// NDJSON file of reports, one per line; `-` reads standard input.
    file: PathBuf,
}

/// Reports per transaction.
const BATCH: usize = 10_000;
/// Batches that may wait for the writer at once; bounds memory.
const IN_FLIGHT: usize = 4;

#[derive(Debug, Default)]
pub struct Summary {
    pub lines: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: Rejected,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let (input, size): (Box<dyn Read>, Option<u64>) = if name == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = File::open(&args.file).with_context(|| format!("cannot open {name}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let progress = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .expect("template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                .expect("template"),
        ),
    };
    let intake = Intake::open(&args.common.load()?, wall_clock())?;
    let started = std::time::Instant::now();
    let summary = import(
        &intake,
        BufReader::with_capacity(1 << 20, progress.wrap_read(input)),
        &name,
        wall_clock(),
    )?;
    progress.finish_and_clear();
    intake.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name}: {} lines, {} accepted ({} counted, {} duplicates), {} rejected, in {seconds:.1} s ({:.0} reports/s)",
        summary.lines,
        summary.accepted,
        summary.accepted - summary.duplicates,
        summary.duplicates,
        summary.rejected.count,
        summary.accepted as f64 / seconds.max(1e-9),
    );
    summary.rejected.print(&name);
    Ok(if summary.rejected.count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Validates every line of `input` and stores the valid ones; `name` names the source.
pub fn import(
    intake: &Intake,
    mut input: impl BufRead,
    name: &str,
    now: Millis,
) -> anyhow::Result<Summary> {
    let rules = intake.rules();
    let mut summary = Summary::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut line = Vec::new();
    let settle = |pending: Pending, summary: &mut Summary| -> anyhow::Result<()> {
        let outcomes = pending.blocking_recv().context("the writer stopped")??;
        summary.accepted += outcomes.len() as u64;
        summary.duplicates += outcomes.iter().filter(|o| !o.counted).count() as u64;
        Ok(())
    };
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {name}"))?
            == 0
        {
            break;
        }
        summary.lines += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match validate_line(&rules, text, Some(now)) {
            Ok(report) => batch.push(report),
            Err(error) => summary.rejected.record(summary.lines, error),
        }
        if batch.len() == BATCH {
            pending.push_back(
                intake
                    .live
                    .writer
                    .submit_blocking(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))?,
            );
            if pending.len() > IN_FLIGHT {
                settle(pending.pop_front().expect("non-empty"), &mut summary)?;
            }
        }
    }
    if !batch.is_empty() {
        pending.push_back(intake.live.writer.submit_blocking(batch)?);
    }
    for p in pending {
        settle(p, &mut summary)?;
    }
    Ok(summary)
}
