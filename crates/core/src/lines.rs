//! Lines of a body that arrives in chunks (NDJSON over HTTP), each seen once it is
//! complete, in memory bounded by the longest line allowed: a longer line is reported
//! as too long and skipped to its end, never kept.

use std::ops::ControlFlow;

/// One line: its 1-based number, and its bytes without the `\n` (and a `\r` before
/// it), or `None` when it was longer than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub text: Option<&'a [u8]>,
}

#[derive(Debug)]
pub struct LineSplitter {
    max_line: usize,
    /// The start of a line whose end has not arrived, at most `max_line` bytes.
    partial: Vec<u8>,
    /// The line being read is too long: its bytes are dropped until its end.
    skipping: bool,
    /// Lines completed so far.
    lines: usize,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            max_line,
            partial: Vec::new(),
            skipping: false,
            lines: 0,
        }
    }

    /// Calls `on_line` for each line `chunk` completes, until it breaks.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        on_line: &mut dyn FnMut(Line<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.lines += 1;
            let number = self.lines;
            if std::mem::take(&mut self.skipping) {
                self.partial.clear();
                on_line(Line { number, text: None })?;
            } else if self.partial.is_empty() {
                self.complete(number, &rest[..end], on_line)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.complete(number, &line, on_line)?;
            }
            rest = &rest[end + 1..];
        }
        if !self.skipping {
            // One byte more than a line may hold: room for the `\r` of a `\r\n`.
            if self.partial.len() + rest.len() > self.max_line + 1 {
                self.partial = Vec::new();
                self.skipping = true;
            } else {
                self.partial.extend_from_slice(rest);
            }
        }
        ControlFlow::Continue(())
    }

    /// The last line, when the body does not end with `\n`.
    pub fn finish(
        mut self,
        on_line: &mut dyn FnMut(Line<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let number = self.lines + 1;
        if self.skipping {
            on_line(Line { number, text: None })
        } else if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.complete(number, &line, on_line)
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Lines completed so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    fn complete(
        &self,
        number: usize,
        line: &[u8],
        on_line: &mut dyn FnMut(Line<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = (line.len() <= self.max_line).then_some(line);
        on_line(Line { number, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `body` fed in chunks of `size`: (number, text or "TOO LONG").
    fn split(body: &[u8], size: usize, max_line: usize) -> Vec<(usize, String)> {
        let mut lines = Vec::new();
        let mut record = |line: Line<'_>| {
            let text = line.text.map_or("TOO LONG".into(), |t| {
                String::from_utf8_lossy(t).into_owned()
            });
            lines.push((line.number, text));
            ControlFlow::Continue(())
        };
        let mut splitter = LineSplitter::new(max_line);
        for chunk in body.chunks(size.max(1)) {
            let _ = splitter.feed(chunk, &mut record);
        }
        let _ = splitter.finish(&mut record);
        lines
    }

    #[test]
    fn lines_are_the_same_however_the_body_is_cut() {
        let body = b"{\"a\":1}\r\n\nxxxxxxxxxxxx\nshort\ntenletters\r\nelevenchars\r\nlast";
        let expected = vec![
            (1, "{\"a\":1}".to_string()),
            (2, String::new()),
            (3, "TOO LONG".to_string()),
            (4, "short".to_string()),
            (5, "tenletters".to_string()),
            (6, "TOO LONG".to_string()),
            (7, "last".to_string()),
        ];
        for size in 1..body.len() + 1 {
            assert_eq!(split(body, size, 10), expected, "chunks of {size}");
        }
    }

    #[test]
    fn a_trailing_newline_ends_the_body_and_a_long_last_line_is_reported() {
        assert_eq!(split(b"a\n", 1, 5), vec![(1, "a".to_string())]);
        assert_eq!(split(b"", 1, 5), vec![]);
        assert_eq!(split(b"abcdefgh", 3, 5), vec![(1, "TOO LONG".to_string())]);
    }

    #[test]
    fn a_break_stops_at_that_line() {
        let mut splitter = LineSplitter::new(100);
        let mut seen = 0;
        let flow = splitter.feed(b"1\n2\n3\n", &mut |line| {
            seen = line.number;
            if line.number == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(flow.is_break());
        assert_eq!(seen, 2);
    }
}
