//! The XPath subset of Heka's xmlpath (github.com/crankycoder/xmlpath at 670b185, a copy of
//! launchpad.net/xmlpath): its compiler and its evaluator, ported statement by statement so that
//! every expression selects the nodes, in the order, that it selected in Heka.
//!
//! A path is `/axis::test[predicate]/axis::test[predicate]…`, every part optional:
//! - axes: `self`, `parent`, `ancestor`, `ancestor-or-self`, `child`, `descendant`,
//!   `descendant-or-self`, `following`, `following-sibling`, `preceding`, `preceding-sibling`,
//!   `attribute`, and the abbreviations `.`, `..`, `//`, `@`;
//! - node tests: a name (no namespace prefixes), `*`, `node()`, `text()`, `comment()`,
//!   `processing-instruction()` and `processing-instruction('target')`;
//! - at most one predicate per step: `[N]` (a position, from 1), `[path]` (exists) or
//!   `[path='literal']` (some node of the path has that string value); no functions, no
//!   operators, no namespaces.
//!
//! xmlpath's quirks are kept, since Heka users' expressions were written against them:
//! `preceding-sibling` starts at the context node itself (so `x/preceding-sibling::x` selects
//! `x`); a leading `/` inside a predicate means `//`. Where xmlpath panicked (comparing a
//! literal shorter than an element's text; `preceding-sibling` from an attribute or the root)
//! the step here just selects nothing, or compares as expected.

use super::document::{Document, Kind, ROOT};

/// A step's axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    Itself,
    Parent,
    Ancestor,
    AncestorOrSelf,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Preceding,
    PrecedingSibling,
    Attribute,
}

impl Axis {
    fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "self" => Axis::Itself,
            "parent" => Axis::Parent,
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "attribute" => Axis::Attribute,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Axis::Itself => "self",
            Axis::Parent => "parent",
            Axis::Ancestor => "ancestor",
            Axis::AncestorOrSelf => "ancestor-or-self",
            Axis::Child => "child",
            Axis::Descendant => "descendant",
            Axis::DescendantOrSelf => "descendant-or-self",
            Axis::Following => "following",
            Axis::FollowingSibling => "following-sibling",
            Axis::Preceding => "preceding",
            Axis::PrecedingSibling => "preceding-sibling",
            Axis::Attribute => "attribute",
        }
    }
}

/// A step's predicate.
#[derive(Debug, Clone)]
enum Predicate {
    /// `[N]`: the Nth node the axis yields.
    Position(usize),
    /// `[path]`: the path selects something.
    Exists(Path),
    /// `[path='literal']`: some node the path selects has that string value.
    Equals(Path, String),
}

#[derive(Debug, Clone)]
struct Step {
    /// Starts from the root, whatever the context node.
    root: bool,
    axis: Axis,
    /// A name, or `*` for any.
    name: String,
    /// The kind of node the step selects (`None`: any).
    kind: Option<Kind>,
    pred: Option<Box<Predicate>>,
}

impl Step {
    fn matches(&self, doc: &Document, node: usize) -> bool {
        self.kind.is_none_or(|k| k == doc.kind(node))
            && (self.name == "*" || doc.name(node) == self.name)
    }
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub(super) struct Path {
    /// The expression's text (for a predicate's path, its part of the whole).
    text: String,
    steps: Vec<Step>,
}

/// Why an expression does not compile; the text is xmlpath's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct CompileError(String);

impl Path {
    /// Compiles an expression (xmlpath's `Compile`).
    pub(super) fn compile(path: &str) -> Result<Path, CompileError> {
        let mut c = Compiler { path, i: 0 };
        if path.is_empty() {
            return Err(c.error("empty path"));
        }
        c.parse_path()
    }

    /// The string value of the first node the path selects from the document's root
    /// (xmlpath's `Path.String`), if it selects any.
    pub(super) fn first_string(&self, doc: &Document) -> Option<String> {
        if doc.len() == 0 {
            return None;
        }
        Iter::new(self, doc, ROOT).next().map(|n| doc.string(n))
    }

    fn exists(&self, doc: &Document, context: usize) -> bool {
        Iter::new(self, doc, context).next().is_some()
    }
}

struct Compiler<'a> {
    path: &'a str,
    i: usize,
}

impl Compiler<'_> {
    fn error(&self, msg: impl std::fmt::Display) -> CompileError {
        // Heka compat: xmlpath's `compiling xml path %q:%d: %s`.
        CompileError(format!(
            "compiling xml path {:?}:{}: {msg}",
            self.path, self.i
        ))
    }

    fn bytes(&self) -> &[u8] {
        self.path.as_bytes()
    }

    fn parse_path(&mut self) -> Result<Path, CompileError> {
        let mut steps = Vec::new();
        let start = self.i;
        loop {
            let mut step = Step {
                root: false,
                axis: Axis::Child,
                name: String::new(),
                kind: None,
                pred: None,
            };
            if self.i == 0 && self.skip_byte(b'/') {
                step.root = true;
                if self.path.len() == 1 {
                    step.name = "*".into();
                }
            }
            if self.peek_byte(b'/') {
                step.axis = Axis::DescendantOrSelf;
                step.name = "*".into();
            } else if self.skip_byte(b'@') {
                let mark = self.i;
                if !self.skip_name() {
                    return Err(self.error("missing name after @"));
                }
                step.axis = Axis::Attribute;
                step.name = self.path[mark..self.i].into();
                step.kind = Some(Kind::Attribute);
            } else {
                let mark = self.i;
                if self.skip_name() {
                    step.name = self.path[mark..self.i].into();
                }
                if step.name.is_empty() {
                    return Err(self.error("missing name"));
                } else if step.name == "*" {
                    step.kind = Some(Kind::Element);
                } else if step.name == "." {
                    step.axis = Axis::Itself;
                    step.name = "*".into();
                } else if step.name == ".." {
                    step.axis = Axis::Parent;
                    step.name = "*".into();
                } else {
                    if self.skip_byte(b':') {
                        if !self.skip_byte(b':') {
                            return Err(self.error("missing ':'"));
                        }
                        step.axis = Axis::from_name(&step.name).ok_or_else(|| {
                            self.error(format_args!("unsupported axis: {:?}", step.name))
                        })?;
                        if step.axis == Axis::Attribute {
                            step.kind = Some(Kind::Attribute);
                        }
                        let mark = self.i;
                        if !self.skip_name() {
                            return Err(self.error("missing name"));
                        }
                        step.name = self.path[mark..self.i].into();
                    }
                    if self.skip_byte(b'(') {
                        let conflict = step.kind.is_some();
                        match step.name.as_str() {
                            "node" => {}
                            "text" => step.kind = Some(Kind::Text),
                            "comment" => step.kind = Some(Kind::Comment),
                            "processing-instruction" => step.kind = Some(Kind::ProcInst),
                            other => {
                                return Err(
                                    self.error(format_args!("unsupported expression: {other}()"))
                                );
                            }
                        }
                        if conflict {
                            return Err(self.error(format_args!(
                                "{}() cannot succeed on axis {:?}",
                                step.name,
                                step.axis.name()
                            )));
                        }
                        match self.parse_literal() {
                            Literal::None => step.name = "*".into(),
                            Literal::Bad(e) => return Err(self.error(e)),
                            Literal::Some(lit) if step.kind == Some(Kind::ProcInst) => {
                                step.name = lit;
                            }
                            Literal::Some(_) => {
                                return Err(
                                    self.error(format_args!("{}() has no arguments", step.name))
                                );
                            }
                        }
                        if !self.skip_byte(b')') {
                            return Err(self.error("missing )"));
                        }
                    } else if step.name == "*" && step.kind.is_none() {
                        step.kind = Some(Kind::Element);
                    }
                }
            }
            if self.skip_byte(b'[') {
                let pred = if let Some(n) = self.parse_int() {
                    if n == 0 {
                        return Err(self.error("positions start at 1"));
                    }
                    Predicate::Position(n)
                } else {
                    let path = self.parse_path()?;
                    if path.text.starts_with('-') && path.text.parse::<i64>().is_ok() {
                        return Err(self.error("positions must be positive"));
                    }
                    if self.skip_byte(b'=') {
                        match self.parse_literal() {
                            Literal::Some(lit) => Predicate::Equals(path, lit),
                            Literal::Bad(e) => return Err(self.error(e)),
                            Literal::None => return Err(self.error("expected a literal string")),
                        }
                    } else {
                        Predicate::Exists(path)
                    }
                };
                step.pred = Some(Box::new(pred));
                if !self.skip_byte(b']') {
                    return Err(self.error("expected ']'"));
                }
            }
            steps.push(step);
            if !self.skip_byte(b'/') {
                if (start == 0 || start == self.i) && self.i < self.path.len() {
                    let c = self.path[self.i..].chars().next().unwrap_or_default();
                    return Err(self.error(format_args!("unexpected {c:?}")));
                }
                return Ok(Path {
                    text: self.path[start..self.i].into(),
                    steps,
                });
            }
        }
    }

    fn parse_literal(&mut self) -> Literal {
        for quote in [b'"', b'\''] {
            if self.skip_byte(quote) {
                let mark = self.i;
                return match self.bytes()[mark..].iter().position(|&b| b == quote) {
                    Some(n) => {
                        self.i = mark + n + 1;
                        Literal::Some(self.path[mark..mark + n].into())
                    }
                    None if quote == b'"' => Literal::Bad(r#"missing '"'"#),
                    None => Literal::Bad(r#"missing "'""#),
                };
            }
        }
        Literal::None
    }

    /// Digits as a number (saturating; a position beyond any document selects nothing).
    fn parse_int(&mut self) -> Option<usize> {
        let mark = self.i;
        let mut v: usize = 0;
        while let Some(d) = self.bytes().get(self.i).filter(|b| b.is_ascii_digit()) {
            v = v.saturating_mul(10).saturating_add(usize::from(d - b'0'));
            self.i += 1;
        }
        (self.i > mark).then_some(v)
    }

    fn skip_byte(&mut self, b: u8) -> bool {
        if self.peek_byte(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn peek_byte(&self, b: u8) -> bool {
        self.bytes().get(self.i) == Some(&b)
    }

    /// A name: `*`, or a run of ASCII letters, digits, `_`, `.`, `-` and non-ASCII characters.
    fn skip_name(&mut self) -> bool {
        match self.bytes().get(self.i) {
            None => false,
            Some(b'*') => {
                self.i += 1;
                true
            }
            Some(_) => {
                let start = self.i;
                while let Some(&b) = self.bytes().get(self.i) {
                    if !(b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                    {
                        break;
                    }
                    self.i += 1;
                }
                self.i > start
            }
        }
    }
}

enum Literal {
    None,
    Bad(&'static str),
    Some(String),
}

/// Where one step is in its axis (xmlpath's `pathStepState`).
struct StepState<'p> {
    step: &'p Step,
    node: Option<usize>,
    /// How many nodes the axis has yielded (for `[N]`).
    pos: usize,
    idx: isize,
    aux: isize,
}

impl StepState<'_> {
    fn init(&mut self, node: Option<usize>) {
        self.node = node;
        self.pos = 0;
        self.idx = 0;
        self.aux = 0;
    }

    /// The next node of the axis that passes the predicate.
    fn next(&mut self, doc: &Document) -> bool {
        while self.axis_next(doc) {
            self.pos += 1;
            let Some(node) = self.node else {
                return false;
            };
            match self.step.pred.as_deref() {
                None => return true,
                Some(Predicate::Exists(path)) => {
                    if path.exists(doc, node) {
                        return true;
                    }
                }
                Some(Predicate::Equals(path, s)) => {
                    let mut iter = Iter::new(path, doc, node);
                    while let Some(n) = iter.next() {
                        if doc.value_equals(n, s) {
                            return true;
                        }
                    }
                }
                Some(Predicate::Position(n)) => {
                    if *n == self.pos {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// The next node of the axis that passes the node test (xmlpath's `_next`).
    fn axis_next(&mut self, doc: &Document) -> bool {
        let Some(mut node) = self.node else {
            return false;
        };
        if self.step.root && self.idx == 0 {
            while let Some(up) = doc.up(node) {
                node = up;
            }
            self.node = Some(node);
        }
        let step = self.step;
        let found = match step.axis {
            Axis::Itself => {
                if self.idx == 0 && step.matches(doc, node) {
                    self.idx += 1;
                    Some(node)
                } else {
                    None
                }
            }
            Axis::Parent => match doc.up(node) {
                Some(up) if self.idx == 0 && step.matches(doc, up) => {
                    self.idx += 1;
                    Some(up)
                }
                _ => None,
            },
            Axis::Ancestor | Axis::AncestorOrSelf => {
                let mut found = None;
                if self.idx == 0 && step.axis == Axis::AncestorOrSelf {
                    self.idx += 1;
                    if step.matches(doc, node) {
                        found = Some(node);
                    }
                }
                if found.is_none() {
                    while let Some(up) = doc.up(node) {
                        node = up;
                        self.node = Some(node);
                        self.idx += 1;
                        if step.matches(doc, node) {
                            found = Some(node);
                            break;
                        }
                    }
                }
                found
            }
            Axis::Child => {
                let parent = if self.idx == 0 {
                    Some(node)
                } else {
                    doc.up(node)
                };
                let down = parent.map_or(&[][..], |p| doc.down(p));
                let mut found = None;
                while let Some(&n) = down.get(self.idx as usize) {
                    self.idx += 1;
                    if step.matches(doc, n) {
                        found = Some(n);
                        break;
                    }
                }
                found
            }
            Axis::Descendant | Axis::DescendantOrSelf => {
                if self.idx == 0 {
                    self.idx = node as isize;
                    self.aux = doc.end(node) as isize;
                    if step.axis == Axis::Descendant {
                        self.idx += 1;
                    }
                }
                self.scan_forward(doc, self.aux as usize)
            }
            Axis::Following => {
                if self.idx == 0 {
                    self.idx = doc.end(node) as isize;
                }
                self.scan_forward(doc, doc.len())
            }
            Axis::FollowingSibling => {
                let down = doc.up(node).map_or(&[][..], |p| doc.down(p));
                if self.idx == 0 {
                    while let Some(&n) = down.get(self.idx as usize) {
                        self.idx += 1;
                        if n == node {
                            break;
                        }
                    }
                }
                let mut found = None;
                while let Some(&n) = down.get(self.idx as usize) {
                    self.idx += 1;
                    if step.matches(doc, n) {
                        found = Some(n);
                        break;
                    }
                }
                found
            }
            Axis::Preceding => {
                if self.idx == 0 {
                    // `aux` follows the ancestors, which are not preceding nodes.
                    self.aux = node as isize;
                    self.idx = node as isize - 1;
                }
                let mut found = None;
                while self.idx >= 0 {
                    let n = self.idx as usize;
                    self.idx -= 1;
                    if doc.kind(n) == Kind::Attribute {
                        continue;
                    }
                    if Some(n) == doc.up(self.aux as usize) {
                        self.aux = n as isize;
                        continue;
                    }
                    if step.matches(doc, n) {
                        found = Some(n);
                        break;
                    }
                }
                found
            }
            Axis::PrecedingSibling => {
                let down = doc.up(node).map_or(&[][..], |p| doc.down(p));
                if doc.up(node).is_some() && self.aux == 0 {
                    self.aux = 1;
                    while let Some(&n) = down.get(self.idx as usize) {
                        self.idx += 1;
                        if n == node {
                            // Heka compat: xmlpath starts at the context node itself.
                            self.idx -= 1;
                            break;
                        }
                    }
                }
                let mut found = None;
                // xmlpath indexed past the children here (a panic); that selects nothing.
                while self.idx >= 0 {
                    let Some(&n) = down.get(self.idx as usize) else {
                        break;
                    };
                    self.idx -= 1;
                    if step.matches(doc, n) {
                        found = Some(n);
                        break;
                    }
                }
                found
            }
            Axis::Attribute => {
                if self.idx == 0 {
                    self.idx = node as isize + 1;
                    self.aux = doc.end(node) as isize;
                }
                let mut found = None;
                while self.idx < self.aux {
                    let n = self.idx as usize;
                    self.idx += 1;
                    if doc.kind(n) != Kind::Attribute {
                        break;
                    }
                    if step.matches(doc, n) {
                        found = Some(n);
                        break;
                    }
                }
                found
            }
        };
        self.node = found;
        found.is_some()
    }

    /// The next node from `idx` up to `limit` that is no attribute and passes the node test.
    fn scan_forward(&mut self, doc: &Document, limit: usize) -> Option<usize> {
        while (self.idx as usize) < limit {
            let n = self.idx as usize;
            self.idx += 1;
            if doc.kind(n) != Kind::Attribute && self.step.matches(doc, n) {
                return Some(n);
            }
        }
        None
    }
}

/// The nodes a path selects from a context node, each once (xmlpath's `Iter`).
struct Iter<'p, 'd> {
    doc: &'d Document,
    states: Vec<StepState<'p>>,
    seen: Vec<bool>,
}

impl<'p, 'd> Iter<'p, 'd> {
    fn new(path: &'p Path, doc: &'d Document, context: usize) -> Iter<'p, 'd> {
        let mut states: Vec<StepState<'p>> = path
            .steps
            .iter()
            .map(|step| StepState {
                step,
                node: None,
                pos: 0,
                idx: 0,
                aux: 0,
            })
            .collect();
        if let Some(first) = states.first_mut() {
            first.init(Some(context));
        }
        Iter {
            doc,
            states,
            seen: vec![false; doc.len()],
        }
    }

    fn next(&mut self) -> Option<usize> {
        let last = self.states.len().checked_sub(1)?;
        let mut tip = last;
        'outer: loop {
            while !self.states[tip].next(self.doc) {
                tip = tip.checked_sub(1)?;
            }
            while tip < last {
                tip += 1;
                let from = self.states[tip - 1].node;
                self.states[tip].init(from);
                if !self.states[tip].next(self.doc) {
                    tip -= 1;
                    continue 'outer;
                }
            }
            let node = self.states[tip].node?;
            if !self.seen[node] {
                self.seen[node] = true;
                return Some(node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library document of xmlpath's tests (all_test.go).
    const LIBRARY: &str = r#"<?xml version="1.0"?>
<library>
  <!-- Great book. -->
  <book id="b0836217462" available="true">
    <isbn>0836217462</isbn>
    <title lang="en">Being a Dog Is a Full-Time Job</title>
    <quote>I'd dog paddle the deepest ocean.</quote>
    <author id="CMS">
      <?echo "go rocks"?>
      <name>Charles M Schulz</name>
      <born>1922-11-26</born>
      <dead>2000-02-12</dead>
    </author>
    <character id="PP">
      <name>Peppermint Patty</name>
      <born>1966-08-22</born>
      <qualification>bold, brash and tomboyish</qualification>
    </character>
    <character id="Snoopy">
      <name>Snoopy</name>
      <born>1950-10-04</born>
      <qualification>extroverted beagle</qualification>
    </character>
    <character id="Schroeder">
      <name>Schroeder</name>
      <born>1951-05-30</born>
      <qualification>brought classical music to the Peanuts strip</qualification>
    </character>
    <character id="Lucy">
      <name>Lucy</name>
      <born>1952-03-03</born>
      <qualification>bossy, crabby and selfish</qualification>
    </character>
  </book>
  <!-- Another great book. -->
  <book id="b0883556316" available="true">
    <isbn>0883556316</isbn>
    <title lang="en">Barney Google and Snuffy Smith</title>
    <author id="CMS">
      <name>Charles M Schulz</name>
      <born>1922-11-26</born>
      <dead>2000-02-12</dead>
    </author>
    <character id="Barney">
      <name>Barney Google</name>
      <born>1919-01-01</born>
      <qualification>goggle-eyed, moustached, gloved and top-hatted, bulbous-nosed, cigar-chomping shrimp</qualification>
    </character>
    <character id="Spark">
      <name>Spark Plug</name>
      <born>1922-07-17</born>
      <qualification>brown-eyed, bow-legged nag, seldom races, patched blanket</qualification>
    </character>
    <character id="Snuffy">
      <name>Snuffy Smith</name>
      <born>1934-01-01</born>
      <qualification>volatile and diminutive moonshiner, ornery little cuss, sawed-off and shiftless</qualification>
    </character>
  </book>
</library>
"#;

    fn doc(xml: &str) -> Document {
        let mut d = Document::default();
        d.parse(xml).unwrap();
        d
    }

    /// Every node `path` selects from the root, as string values.
    fn all(d: &Document, path: &str) -> Vec<String> {
        let p = Path::compile(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut it = Iter::new(&p, d, ROOT);
        std::iter::from_fn(|| it.next())
            .map(|n| d.string(n))
            .collect()
    }

    /// What `path` selects first, checked against everything it selects.
    fn first(d: &Document, path: &str) -> Option<String> {
        let p = Path::compile(path).unwrap();
        let got = p.first_string(d);
        assert_eq!(got, all(d, path).into_iter().next(), "{path}");
        got
    }

    fn compile_error(path: &str) -> String {
        Path::compile(path).err().map(|e| e.0).unwrap_or_default()
    }

    /// xmlpath's libraryTable (all_test.go), entry by entry.
    #[test]
    fn xmlpath_library_table() {
        let d = doc(LIBRARY);
        let one: &[(&str, &str)] = &[
            // The examples of the package documentation.
            ("/library/book/isbn", "0836217462"),
            ("library/*/isbn", "0836217462"),
            ("/library/book/../book/./isbn", "0836217462"),
            ("/library/book/character[2]/name", "Snoopy"),
            ("/library/book/character[born='1950-10-04']/name", "Snoopy"),
            ("/library/book//node()[@id='PP']/name", "Peppermint Patty"),
            (
                "//book[author/@id='CMS']/title",
                "Being a Dog Is a Full-Time Job",
            ),
            ("/library/book/preceding::comment()", " Great book. "),
            // Simple paths.
            ("/library/book/author/name", "Charles M Schulz"),
            ("/library/book/author/born", "1922-11-26"),
            ("/library/book/character/name", "Peppermint Patty"),
            (
                "/library/book/character/qualification",
                "bold, brash and tomboyish",
            ),
            // Unrooted path with the root node as context.
            ("library/book/isbn", "0836217462"),
            // The attribute axis.
            ("/library/book/title/attribute::lang", "en"),
            ("/library/book/title/@lang", "en"),
            ("/library/book/@available/parent::node()/@id", "b0836217462"),
            // The self axis.
            ("/library/book/isbn/./self::node()", "0836217462"),
            // The descendant-or-self axis.
            ("/library/book/isbn/descendant-or-self::isbn", "0836217462"),
            (
                "/descendant-or-self::node()/child::book/child::*",
                "0836217462",
            ),
            // The parent axis.
            (
                "/library/book/isbn/../isbn/parent::node()//title",
                "Being a Dog Is a Full-Time Job",
            ),
            // The ancestor axes.
            (
                "/library/book/isbn/ancestor::book/title",
                "Being a Dog Is a Full-Time Job",
            ),
            (
                "/library/book/isbn/ancestor-or-self::book/title",
                "Being a Dog Is a Full-Time Job",
            ),
            (
                "/library/book/ancestor-or-self::book/title",
                "Being a Dog Is a Full-Time Job",
            ),
            // Processing instructions.
            (
                "/library/book/author/processing-instruction()",
                "\"go rocks\"",
            ),
            (
                "/library/book/author/processing-instruction(\"echo\")",
                "\"go rocks\"",
            ),
            ("/library//processing-instruction(\"echo\")", "\"go rocks\""),
        ];
        for (path, want) in one {
            assert_eq!(first(&d, path).as_deref(), Some(*want), "{path}");
        }

        let exists: &[(&str, bool)] = &[
            ("/library/book/isbn", true),
            ("/library/isbn", false),
            ("/library/book/isbn/bad", false),
            ("/library/book/bad", false),
            ("/library/bad/isbn", false),
            ("/bad/book/isbn", false),
            ("/library/book/isbn/descendant::isbn", false),
            ("/library/book/ancestor::book/title", false),
            ("/library/book/author/born/preceding::library", false),
            (
                "/library/book/author/processing-instruction(\"foo\")",
                false,
            ),
        ];
        for (path, want) in exists {
            assert_eq!(first(&d, path).is_some(), *want, "{path}");
        }

        let many: &[(&str, &[&str])] = &[
            ("/library/book/isbn", &["0836217462", "0883556316"]),
            (
                "/library/book/character/name",
                &[
                    "Peppermint Patty",
                    "Snoopy",
                    "Schroeder",
                    "Lucy",
                    "Barney Google",
                    "Spark Plug",
                    "Snuffy Smith",
                ],
            ),
            (
                "/library/book/author/*",
                &[
                    "Charles M Schulz",
                    "1922-11-26",
                    "2000-02-12",
                    "Charles M Schulz",
                    "1922-11-26",
                    "2000-02-12",
                ],
            ),
            (
                "/library/book/attribute::*",
                &["b0836217462", "true", "b0883556316", "true"],
            ),
            ("/library/descendant::isbn", &["0836217462", "0883556316"]),
            ("/descendant::*/isbn", &["0836217462", "0883556316"]),
            ("/descendant::isbn", &["0836217462", "0883556316"]),
            ("/library//isbn", &["0836217462", "0883556316"]),
            ("//isbn", &["0836217462", "0883556316"]),
            // The following axis: the first author's own name is inside the context node, not
            // after it; the axis runs to the end several times, so nodes must be de-duplicated.
            (
                "/library/book/author/following::name",
                &[
                    "Peppermint Patty",
                    "Snoopy",
                    "Schroeder",
                    "Lucy",
                    "Charles M Schulz",
                    "Barney Google",
                    "Spark Plug",
                    "Snuffy Smith",
                ],
            ),
            (
                "//following::book/author/name",
                &["Charles M Schulz", "Charles M Schulz"],
            ),
            (
                "/library/book/quote/following-sibling::node()/name",
                &[
                    "Charles M Schulz",
                    "Peppermint Patty",
                    "Snoopy",
                    "Schroeder",
                    "Lucy",
                ],
            ),
            (
                "/library/book/author/born/preceding::name",
                &[
                    "Charles M Schulz",
                    "Charles M Schulz",
                    "Lucy",
                    "Schroeder",
                    "Snoopy",
                    "Peppermint Patty",
                ],
            ),
            (
                "/library/book/author/born/preceding::author/name",
                &["Charles M Schulz"],
            ),
            (
                "/library/book/author/born/preceding-sibling::name",
                &["Charles M Schulz", "Charles M Schulz"],
            ),
            (
                "/library/comment()",
                &[" Great book. ", " Another great book. "],
            ),
            (
                "//self::comment()",
                &[" Great book. ", " Another great book. "],
            ),
            ("library/book[@id='b0883556316']/isbn", &["0883556316"]),
            (
                "library/book[isbn='0836217462']/character[born='1950-10-04']/name",
                &["Snoopy"],
            ),
            ("library/book[quote]/@id", &["b0836217462"]),
            (
                "library/book[./character/born='1922-07-17']/@id",
                &["b0883556316"],
            ),
            ("library/book[2]/isbn", &["0883556316"]),
        ];
        for (path, want) in many {
            assert_eq!(all(&d, path), *want, "{path}");
        }

        assert_eq!(
            compile_error("/foo()"),
            r#"compiling xml path "/foo()":5: unsupported expression: foo()"#
        );
        assert_eq!(
            compile_error("/foo::node()"),
            r#"compiling xml path "/foo::node()":6: unsupported axis: "foo""#
        );
        assert!(
            compile_error("/library/book/attribute::text()")
                .ends_with(r#": text() cannot succeed on axis "attribute""#)
        );
        assert!(compile_error(r#"comment("")"#).ends_with(": comment() has no arguments"));
        assert!(
            compile_error(r#"/library/book/author/processing-instruction(")"#)
                .ends_with(r#": missing '"'"#)
        );
        assert!(compile_error("library/book[0]/isbn").ends_with(": positions start at 1"));
        assert!(compile_error("library/book[-1]/isbn").ends_with(": positions must be positive"));
        assert_eq!(
            compile_error("/foo)"),
            r#"compiling xml path "/foo)":4: unexpected ')'"#
        );
    }

    /// xmlpath's TestRootText: `/` selects the document element, whose value is all its text.
    #[test]
    fn root_text() {
        let d = doc("<root>a<foo>b</foo>c<bar>d</bar>e<bar>f</bar>g</root>");
        assert_eq!(first(&d, "/").as_deref(), Some("abcdefg"));
    }

    #[test]
    fn more_compile_errors() {
        for (path, want) in [
            ("", r#"compiling xml path "":0: empty path"#),
            ("a/", r#"compiling xml path "a/":2: missing name"#),
            ("@", r#"compiling xml path "@":1: missing name after @"#),
            ("a:b", r#"compiling xml path "a:b":2: missing ':'"#),
            ("child::", r#"compiling xml path "child::":7: missing name"#),
            ("a[1", r#"compiling xml path "a[1":3: expected ']'"#),
            (
                "a[b=c]",
                r#"compiling xml path "a[b=c]":4: expected a literal string"#,
            ),
            ("a[b='c'", r#"compiling xml path "a[b='c'":7: expected ']'"#),
            ("text(", r#"compiling xml path "text(":5: missing )"#),
            (
                "@node()",
                r#"compiling xml path "@node()":5: unexpected '('"#,
            ),
            ("a[b", r#"compiling xml path "a[b":3: expected ']'"#),
        ] {
            assert_eq!(compile_error(path), want, "{path}");
        }
        assert!(Path::compile("a[99999999999999999999999]").is_ok());
    }

    /// Where xmlpath panicked, nothing is selected or the comparison is made as it should be.
    #[test]
    fn no_panics_where_xmlpath_had_them() {
        let d = doc("<a><b x='1'>long text</b><b>c</b></a>");
        // xmlpath indexed past a shorter literal.
        assert_eq!(all(&d, "a/b[.='long']"), Vec::<String>::new());
        assert_eq!(all(&d, "a/b[.='long text']"), ["long text"]);
        // preceding-sibling from an attribute or from the root.
        assert_eq!(
            all(&d, "a/b/@x/preceding-sibling::node()"),
            Vec::<String>::new()
        );
        assert_eq!(
            all(&d, "/descendant-or-self::node()[1]/preceding-sibling::*"),
            Vec::<String>::new()
        );
        assert_eq!(all(&d, ".").len(), 1);
        assert_eq!(all(&d, "./preceding-sibling::node()"), Vec::<String>::new());
        // preceding-sibling starts at the context node, as in xmlpath.
        assert_eq!(all(&d, "a/b[2]/preceding-sibling::b"), ["c", "long text"]);
        // A position beyond any document.
        assert_eq!(all(&d, "a/b[99999999999999999999]"), Vec::<String>::new());
    }

    #[test]
    fn namespaces_are_ignored_and_names_are_local() {
        let d =
            doc(r#"<s:Envelope xmlns:s="urn:x"><s:Body s:id="7"><v>1</v></s:Body></s:Envelope>"#);
        assert_eq!(first(&d, "/Envelope/Body/v").as_deref(), Some("1"));
        assert_eq!(first(&d, "//Body/@id").as_deref(), Some("7"));
        assert_eq!(first(&d, "/Envelope/@s").as_deref(), Some("urn:x"));
    }
}
