//! An XML document as Heka's xmlpath (github.com/crankycoder/xmlpath at 670b185, a copy of
//! launchpad.net/xmlpath) holds it: one list of nodes in document order, built from the tokens of
//! Go's `encoding/xml`.
//!
//! The list starts with a nameless root element that holds everything, text or comments outside
//! the document element included. An element is followed by its attributes and then by its
//! content; each node knows its parent, the position after its last descendant (`end`), and an
//! element its children (elements, text, comments and processing instructions — not
//! attributes). Unlike xmlpath the list has no end-of-element entries: they never match a step
//! and carry no text, so leaving them out changes no result.
//!
//! The tokens come from quick-xml, whose events map onto Go's tokens: character data between
//! two markup items is one text node (entity and character references resolved, `\r\n` and
//! `\r` turned into `\n`), a CDATA section is a text node of its own, and `<?xml …?>` is a
//! processing instruction with the target `xml`, as Go reports it. Names are local names: the
//! prefix before the first `:` is dropped, as Go's decoder moves it into the namespace part
//! that xmlpath never looks at. Like Go's strict decoder this refuses unknown entities,
//! unclosed or mismatched elements and unquoted attribute values; it accepts several top-level
//! elements, text outside them, and an empty document.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An element (the root included).
    Element,
    /// An attribute of the element before it.
    Attribute,
    /// Character data.
    Text,
    /// A comment (its text between `<!--` and `-->`).
    Comment,
    /// A processing instruction (named by its target, its text the rest).
    ProcInst,
}

/// One node of a [`Document`]; names and values are ranges of [`Document::text`].
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    name: Range<usize>,
    value: Range<usize>,
    up: Option<usize>,
    end: usize,
    down: Range<usize>,
}

/// A parsed document; reusable from one parse to the next.
#[derive(Debug, Default)]
pub(super) struct Document {
    nodes: Vec<Node>,
    /// Every name and value, one after the other.
    text: String,
    /// The children of every element, element after element (`Node::down` ranges).
    downs: Vec<usize>,
    /// The open elements while parsing.
    stack: Vec<usize>,
    /// Character data not yet made a node.
    pending: String,
}

/// Why a payload is not a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct ParseError(String);

impl ParseError {
    fn new(e: impl std::fmt::Display) -> ParseError {
        ParseError(e.to_string())
    }
}

/// The root node's position.
pub(super) const ROOT: usize = 0;

impl Document {
    /// Parses `xml`, replacing what the document held. On error the document is empty.
    pub(super) fn parse(&mut self, xml: &str) -> Result<(), ParseError> {
        self.nodes.clear();
        self.text.clear();
        self.downs.clear();
        self.stack.clear();
        self.pending.clear();
        let r = self.read(xml);
        if r.is_err() {
            self.nodes.clear();
        }
        r
    }

    fn read(&mut self, xml: &str) -> Result<(), ParseError> {
        self.nodes.push(Node {
            kind: Kind::Element,
            name: 0..0,
            value: 0..0,
            up: None,
            end: 0,
            down: 0..0,
        });
        self.stack.push(ROOT);
        let mut reader = Reader::from_str(xml);
        loop {
            let event = reader.read_event().map_err(ParseError::new)?;
            if !matches!(event, Event::Text(_) | Event::GeneralRef(_)) {
                self.flush_text();
            }
            match event {
                Event::Start(e) => self.open(&e)?,
                Event::Empty(e) => {
                    self.open(&e)?;
                    self.close()?;
                }
                Event::End(_) => self.close()?,
                Event::Text(t) => {
                    let t = t.xml10_content().map_err(ParseError::new)?;
                    self.pending.push_str(&t);
                }
                Event::GeneralRef(r) => match r.resolve_char_ref().map_err(ParseError::new)? {
                    Some(c) => self.pending.push(c),
                    None => {
                        let name = r.decode().map_err(ParseError::new)?;
                        let c = match &*name {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            _ => {
                                return Err(ParseError(format!(
                                    "invalid character entity &{name};"
                                )));
                            }
                        };
                        self.pending.push(c);
                    }
                },
                Event::CData(t) => {
                    let t = t.xml10_content().map_err(ParseError::new)?;
                    self.leaf(Kind::Text, "", &t);
                }
                Event::Comment(t) => {
                    let t = t.decode().map_err(ParseError::new)?;
                    self.leaf(Kind::Comment, "", &t);
                }
                Event::PI(pi) => {
                    let target = utf8(pi.target())?;
                    let content = utf8(pi.content())?;
                    self.leaf(Kind::ProcInst, target, trim_start(content));
                }
                Event::Decl(d) => {
                    // Go reports `<?xml version="1.0"?>` as a processing instruction.
                    let content = utf8(&d)?;
                    let rest = content.strip_prefix("xml").unwrap_or(content);
                    self.leaf(Kind::ProcInst, "xml", trim_start(rest));
                }
                Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if self.stack.len() != 1 {
            return Err(ParseError::new("unexpected EOF"));
        }
        self.close()?;
        self.link_children();
        Ok(())
    }

    /// Starts an element and adds its attributes.
    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), ParseError> {
        let name = utf8(e.local_name().into_inner())?;
        let at = self.leaf(Kind::Element, name, "");
        let mut attrs = e.attributes();
        // Go keeps repeated attributes.
        attrs.with_checks(false);
        for a in attrs {
            let a = a.map_err(ParseError::new)?;
            let value = a.unescape_value().map_err(ParseError::new)?;
            let value = normalize_eols(&value);
            let name = utf8(a.key.local_name().into_inner())?;
            let i = self.leaf(Kind::Attribute, name, &value);
            self.nodes[i].up = Some(at);
        }
        self.stack.push(at);
        Ok(())
    }

    /// Ends the innermost open element.
    fn close(&mut self) -> Result<(), ParseError> {
        let at = self
            .stack
            .pop()
            .ok_or_else(|| ParseError::new("unexpected end element"))?;
        self.nodes[at].end = self.nodes.len();
        Ok(())
    }

    /// Adds a node in the innermost open element; returns its position.
    fn leaf(&mut self, kind: Kind, name: &str, value: &str) -> usize {
        let at = self.nodes.len();
        let name = self.push_text(name);
        let value = self.push_text(value);
        self.nodes.push(Node {
            kind,
            name,
            value,
            up: self.stack.last().copied(),
            end: at + 1,
            down: 0..0,
        });
        at
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    fn flush_text(&mut self) {
        if !self.pending.is_empty() {
            let t = std::mem::take(&mut self.pending);
            self.leaf(Kind::Text, "", &t);
            self.pending = t;
            self.pending.clear();
        }
    }

    /// Fills every element's list of children (a counting sort of the nodes by parent).
    fn link_children(&mut self) {
        let n = self.nodes.len();
        let mut counts = vec![0usize; n + 1];
        for node in &self.nodes {
            if let (Some(up), true) = (node.up, node.kind != Kind::Attribute) {
                counts[up] += 1;
            }
        }
        let mut start = 0;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            node.down = start..start;
            start += counts[i];
        }
        self.downs.resize(start, 0);
        for i in 0..n {
            if let (Some(up), true) = (self.nodes[i].up, self.nodes[i].kind != Kind::Attribute) {
                let d = &mut self.nodes[up].down;
                self.downs[d.end] = i;
                d.end += 1;
            }
        }
    }

    /// Number of nodes.
    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The kind of node `i`.
    pub(super) fn kind(&self, i: usize) -> Kind {
        self.nodes[i].kind
    }

    /// The (local) name of node `i`: an element's or attribute's name, a processing
    /// instruction's target, empty for text, comments and the root.
    pub(super) fn name(&self, i: usize) -> &str {
        &self.text[self.nodes[i].name.clone()]
    }

    /// The parent of node `i` (an attribute's is its element).
    pub(super) fn up(&self, i: usize) -> Option<usize> {
        self.nodes[i].up
    }

    /// The position after node `i`'s last descendant (after itself for a leaf).
    pub(super) fn end(&self, i: usize) -> usize {
        self.nodes[i].end
    }

    /// The children of node `i`, in order.
    pub(super) fn down(&self, i: usize) -> &[usize] {
        &self.downs[self.nodes[i].down.clone()]
    }

    /// The pieces of node `i`'s string value: an element's text nodes (its descendants'), else
    /// the node's own text.
    fn value_parts(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        let node = &self.nodes[i];
        let own = (node.kind != Kind::Element).then(|| &self.text[node.value.clone()]);
        let descendants = if node.kind == Kind::Element {
            i..node.end
        } else {
            0..0
        };
        own.into_iter().chain(
            self.nodes[descendants]
                .iter()
                .filter(|n| n.kind == Kind::Text)
                .map(|n| &self.text[n.value.clone()]),
        )
    }

    /// xmlpath's string value of node `i`: an element's text (its descendants' text nodes one
    /// after the other), an attribute's value, a comment's or a text's text, a processing
    /// instruction's content.
    pub(super) fn string(&self, i: usize) -> String {
        self.value_parts(i).collect()
    }

    /// Whether node `i`'s string value is `s`.
    pub(super) fn value_equals(&self, i: usize, s: &str) -> bool {
        let mut rest = s.as_bytes();
        for part in self.value_parts(i) {
            match rest.strip_prefix(part.as_bytes()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

fn utf8(b: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(b).map_err(ParseError::new)
}

/// XML white space at the start removed, as Go does after a processing instruction's target.
fn trim_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\r', '\n'])
}

/// `\r\n` and lone `\r` turned into `\n`, as Go's decoder does in attribute values.
fn normalize_eols(s: &str) -> Cow<'_, str> {
    if s.contains('\r') {
        Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Document {
        let mut d = Document::default();
        d.parse(xml).unwrap_or_else(|e| panic!("{xml}: {e}"));
        d
    }

    /// Every node as `kind name=value`, with its parent and end.
    fn dump(d: &Document) -> Vec<String> {
        (0..d.len())
            .map(|i| {
                format!(
                    "{:?} {}={:?} up={:?} end={} down={:?}",
                    d.kind(i),
                    d.name(i),
                    d.string(i),
                    d.up(i),
                    d.end(i),
                    d.down(i)
                )
            })
            .collect()
    }

    #[test]
    fn nodes_in_document_order() {
        let d = parse(
            "<?xml version=\"1.0\"?>\n<a x='1' p:y=\"2&amp;3\">t&lt;u<![CDATA[<v>]]><!-- c --><?pi  go?><b/></a>",
        );
        assert_eq!(
            dump(&d),
            [
                "Element =\"\\nt<u<v>\" up=None end=11 down=[1, 2, 3]",
                "ProcInst xml=\"version=\\\"1.0\\\"\" up=Some(0) end=2 down=[]",
                "Text =\"\\n\" up=Some(0) end=3 down=[]",
                "Element a=\"t<u<v>\" up=Some(0) end=11 down=[6, 7, 8, 9, 10]",
                "Attribute x=\"1\" up=Some(3) end=5 down=[]",
                "Attribute y=\"2&3\" up=Some(3) end=6 down=[]",
                "Text =\"t<u\" up=Some(3) end=7 down=[]",
                "Text =\"<v>\" up=Some(3) end=8 down=[]",
                "Comment =\" c \" up=Some(3) end=9 down=[]",
                "ProcInst pi=\"go\" up=Some(3) end=10 down=[]",
                "Element b=\"\" up=Some(3) end=11 down=[]",
            ]
        );
        assert!(d.value_equals(3, "t<u<v>"));
        assert!(!d.value_equals(3, "t<u<v"));
        assert!(!d.value_equals(3, "t<u<v>>"));
        assert!(d.value_equals(10, ""));
        assert!(d.value_equals(5, "2&3"));
    }

    #[test]
    fn what_go_accepts_and_refuses() {
        // Text only, several top-level elements, nothing at all, line ends.
        assert_eq!(parse("hello").string(ROOT), "hello");
        assert_eq!(parse("<a>1</a><b>2</b>").string(ROOT), "12");
        assert_eq!(parse("").len(), 1);
        assert_eq!(parse("<a v='x\r\ny'>1\r\n2\r3</a>").string(ROOT), "1\n2\n3");
        assert_eq!(parse("<a v='x\r\ny'/>").string(2), "x\ny");
        assert_eq!(parse("<a>&#65;&#x42;</a>").string(ROOT), "AB");
        assert_eq!(parse("<!DOCTYPE a><a>x</a>").string(ROOT), "x");
        let mut d = Document::default();
        for bad in [
            "<a>",
            "<a></b>",
            "</a>",
            "<a>&nbsp;</a>",
            "<a>& b</a>",
            "<a x=1/>",
            "<a><b></a>",
        ] {
            assert!(d.parse(bad).is_err(), "{bad} accepted");
            assert_eq!(d.len(), 0);
        }
        assert!(d.parse("<a/>").is_ok(), "reusable after an error");
    }
}
