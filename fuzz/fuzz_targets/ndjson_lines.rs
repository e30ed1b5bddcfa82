//! The NDJSON framing: whatever the body and however it is cut into chunks, the lines
//! are those of splitting it at `\n`, each too long one reported as such, in memory
//! bounded by the longest line.
#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use seismo_core::lines::LineSplitter;

const MAX_LINE: usize = 16;

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (body, cuts) = input;
    let mut got = Vec::new();
    let mut splitter = LineSplitter::new(MAX_LINE);
    let mut rest = &body[..];
    for &cut in &cuts {
        let (chunk, after) = rest.split_at((cut as usize).min(rest.len()));
        let _ = splitter.feed(chunk, &mut |line| {
            got.push((line.number, line.text.map(<[u8]>::to_vec)));
            ControlFlow::Continue(())
        });
        rest = after;
    }
    let _ = splitter.feed(rest, &mut |line| {
        got.push((line.number, line.text.map(<[u8]>::to_vec)));
        ControlFlow::Continue(())
    });
    let _ = splitter.finish(&mut |line| {
        got.push((line.number, line.text.map(<[u8]>::to_vec)));
        ControlFlow::Continue(())
    });

    let mut expected = Vec::new();
    let mut parts: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    if parts.last().is_some_and(|last| last.is_empty()) {
        parts.pop();
    }
    for (i, part) in parts.into_iter().enumerate() {
        let part = part.strip_suffix(b"\r").unwrap_or(part);
        expected.push((i + 1, (part.len() <= MAX_LINE).then(|| part.to_vec())));
    }
    assert_eq!(got, expected);
});
