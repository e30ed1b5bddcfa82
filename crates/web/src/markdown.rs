//! Operators write their updates in Markdown; the public pages show them as HTML that
//! cannot carry anything but text and formatting. Raw HTML in the source is shown as
//! text, images become links, and only `http`, `https` and `mailto` links are kept (a
//! `javascript:` link is shown as its text): whoever holds an operator token cannot
//! put a script on the status page.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// `source` as safe HTML.
pub fn to_html(source: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut dropped_links = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let safe = is_safe(&dest_url);
            dropped_links.push(!safe);
            safe.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => (!dropped_links.pop().unwrap_or(true)).then_some(event),
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => {
            let safe = is_safe(&dest_url);
            dropped_links.push(!safe);
            safe.then_some(Event::Start(Tag::Link {
                link_type: LinkType::Inline,
                dest_url,
                title,
                id: CowStr::Borrowed(""),
            }))
        }
        Event::End(TagEnd::Image) => {
            (!dropped_links.pop().unwrap_or(true)).then_some(Event::End(TagEnd::Link))
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// Whether a link may be followed from the status page.
fn is_safe(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    match lower.split_once(':') {
        // Relative links stay on the site.
        None => true,
        Some((scheme, _)) if scheme.contains(['/', '?', '#']) => true,
        Some((scheme, _)) => ["http", "https", "mailto"].contains(&scheme),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_and_plain_links_are_kept() {
        let html = to_html("We **found** it: see [the post](https://example.com/x) and `451`.");
        assert_eq!(
            html,
            "<p>We <strong>found</strong> it: see <a href=\"https://example.com/x\">the post</a> and <code>451</code>.</p>\n"
        );
        assert!(to_html("- one\n- two").contains("<li>two</li>"));
    }

    #[test]
    fn raw_html_scripts_and_unsafe_links_come_out_as_text() {
        let html = to_html(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(2)> \
             [click](javascript:alert(3)) [ok](/services/x) ![pic](JaVaScRiPt:alert(4))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.to_lowercase().contains("href=\"javascript"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "shown, as text: {html}");
        assert!(
            html.contains("click"),
            "the text of a dropped link stays: {html}"
        );
        assert!(html.contains("<a href=\"/services/x\">ok</a>"), "{html}");
        assert!(html.contains("pic"), "{html}");
    }
}
