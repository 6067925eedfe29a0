//! The meeting chat as the page keeps it: messages in order of their ids with
//! duplicates dropped (the history after a reconnect repeats some), and the text cut
//! into plain text and web links, so that no message ever becomes markup.

use crate::protocol::ChatMessage;

/// Messages the page keeps; older ones drop off the top.
pub const MAX_KEPT: usize = 500;

/// Adds `incoming` to `log` (ordered by id), skipping ids it has. Returns how many
/// were new.
pub fn merge(log: &mut Vec<ChatMessage>, incoming: impl IntoIterator<Item = ChatMessage>) -> usize {
    let mut added = 0;
    for message in incoming {
        if let Err(at) = log.binary_search_by_key(&message.id, |m| m.id) {
            log.insert(at, message);
            added += 1;
        }
    }
    if log.len() > MAX_KEPT {
        log.drain(..log.len() - MAX_KEPT);
    }
    added
}

/// A part of a message's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// An http or https address, shown as a link to itself.
    Link(String),
}

/// Cuts `text` into plain text and links. Only `http://` and `https://` addresses
/// become links (never `javascript:` or `data:`); an address ends at a space or a
/// quote or angle bracket, and punctuation closing a sentence is not part of it.
pub fn linkify(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = link_start(rest) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(tail.len());
        let url = trim_trailing(&tail[..end]);
        let scheme_only = url.find("://").is_some_and(|at| at + 3 == url.len());
        if scheme_only {
            // "https://" alone is no address: keep it as text and look further.
            push_text(&mut pieces, &rest[..start + url.len()]);
            rest = &rest[start + url.len()..];
            continue;
        }
        push_text(&mut pieces, &rest[..start]);
        pieces.push(Piece::Link(url.to_owned()));
        rest = &rest[start + url.len()..];
    }
    push_text(&mut pieces, rest);
    pieces
}

/// Where the next http(s) address starts: at the start of the text or after a
/// character that is not part of a word (so "xhttps://" is no address).
fn link_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| lower[from..].find(scheme).map(|at| from + at))
        .min()
    {
        let boundary = text[..found]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if boundary {
            return Some(found);
        }
        from = found + 1;
    }
    None
}

/// An address without the punctuation that follows it in a sentence: "see
/// https://a.org/x." links to https://a.org/x; a closing bracket stays only when the
/// address opened it (as in Wikipedia's addresses).
fn trim_trailing(url: &str) -> &str {
    let mut url = url;
    loop {
        let Some(last) = url.chars().next_back() else {
            return url;
        };
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            ']' => url.matches('[').count() < url.matches(']').count(),
            _ => false,
        };
        if !drop {
            return url;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Piece::Text(previous)) = pieces.last_mut() {
        previous.push_str(text);
    } else {
        pieces.push(Piece::Text(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerId;

    fn text(t: &str) -> Piece {
        Piece::Text(t.into())
    }

    fn link(t: &str) -> Piece {
        Piece::Link(t.into())
    }

    #[test]
    fn web_addresses_become_links_and_nothing_else_does() {
        assert_eq!(
            linkify("see https://example.com/a?b=1&c=2, then http://x.org."),
            vec![
                text("see "),
                link("https://example.com/a?b=1&c=2"),
                text(", then "),
                link("http://x.org"),
                text(".")
            ]
        );
        assert_eq!(
            linkify("HTTPS://Example.com"),
            vec![link("HTTPS://Example.com")]
        );
        for plain in [
            "javascript:alert(1)",
            "<img src=x onerror=alert(1)>",
            "data:text/html,<script>alert(1)</script>",
            "xhttps://nope.org",
            "just https://",
            "",
        ] {
            assert!(
                linkify(plain).iter().all(|p| matches!(p, Piece::Text(_))),
                "{plain}"
            );
        }
        // The text around a link is kept exactly, markup included.
        assert_eq!(
            linkify("<b>https://a.org\"onmouseover=alert(1)"),
            vec![
                text("<b>"),
                link("https://a.org"),
                text("\"onmouseover=alert(1)")
            ]
        );
    }

    #[test]
    fn brackets_close_a_link_only_when_it_did_not_open_them() {
        assert_eq!(
            linkify("(https://en.wikipedia.org/wiki/Rust_(language))"),
            vec![
                text("("),
                link("https://en.wikipedia.org/wiki/Rust_(language)"),
                text(")")
            ]
        );
    }

    fn message(id: u64) -> ChatMessage {
        ChatMessage {
            id,
            from: PeerId(1),
            name: "Ada".into(),
            text: id.to_string(),
            sent_at: 0,
        }
    }

    #[test]
    fn merging_keeps_order_and_drops_repeats() {
        let mut log = vec![message(2), message(5)];
        assert_eq!(merge(&mut log, [message(5), message(1), message(3)]), 2);
        let ids: Vec<u64> = log.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3, 5]);
        assert_eq!(merge(&mut log, (1..=3).map(message)), 0);

        let mut long: Vec<ChatMessage> = Vec::new();
        merge(&mut long, (1..=(MAX_KEPT as u64 + 10)).map(message));
        assert_eq!(long.len(), MAX_KEPT);
        assert_eq!(long[0].id, 11, "the oldest go");
    }
}
