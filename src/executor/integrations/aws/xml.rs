//! The little XML the AWS query and REST-XML protocols need: a parser into elements (names without
//! namespace prefixes, attributes, text with the five entities, numeric references and CDATA) and a
//! writer for request payloads. No DTDs, no namespaces beyond dropping prefixes: AWS responses use none.

/// One element: its local name, attributes, child elements and text (the concatenated character data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first descendant named `name` (depth first), walked with a stack of its own.
    pub fn find_text(&self, name: &str) -> Option<&str> {
        let mut pending: Vec<&Element> = self.children.iter().rev().collect();
        while let Some(c) = pending.pop() {
            if c.name == name {
                return Some(&c.text);
            }
            pending.extend(c.children.iter().rev());
        }
        None
    }
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Decodes the entities and character references of `text`.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(';')
            .ok_or_else(|| "unterminated entity".to_string())?;
        let entity = &rest[at + 1..at + end];
        match entity {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                out.push(
                    code.and_then(char::from_u32)
                        .ok_or_else(|| format!("unknown entity &{entity};"))?,
                );
            }
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How deep a document may nest. AWS responses nest a handful of levels; a cap keeps a hostile endpoint's
/// body from nesting deep enough that walking or dropping the tree (recursive) overflows the stack.
const MAX_DEPTH: usize = 100;

/// Parses a document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = Vec::new();
    let mut rest = text;
    let mut root = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&unescape(rest)?);
            }
            break;
        };
        if lt > 0 {
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&unescape(&rest[..lt])?);
            }
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>").ok_or("unterminated declaration")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->").ok_or("unterminated comment")? + 3..];
        } else if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").ok_or("unterminated CDATA")?;
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&r[..end]);
            }
            rest = &r[end + 3..];
        } else if let Some(r) = rest.strip_prefix("<!") {
            rest = &r[r.find('>').ok_or("unterminated declaration")? + 1..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>').ok_or("unterminated end tag")?;
            let name = local(r[..end].trim());
            let done = stack.pop().ok_or("end tag without a start")?;
            if done.name != name {
                return Err(format!("</{name}> closes <{}>", done.name));
            }
            match stack.last_mut() {
                Some(parent) => parent.children.push(done),
                None => root = Some(done),
            }
            rest = &r[end + 1..];
        } else {
            let r = &rest[1..];
            let end = tag_end(r).ok_or("unterminated start tag")?;
            let (inside, empty) = match r[..end].strip_suffix('/') {
                Some(i) => (i, true),
                None => (&r[..end], false),
            };
            let element = start_tag(inside)?;
            rest = &r[end + 1..];
            if empty {
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            } else {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH} levels"));
                }
                stack.push(element);
            }
        }
        if root.is_some() {
            break;
        }
    }
    root.ok_or_else(|| "no root element".to_string())
}

/// Where a start tag's `>` is (not inside a quoted attribute value).
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn start_tag(inside: &str) -> Result<Element, String> {
    let inside = inside.trim();
    let name_end = inside.find(char::is_whitespace).unwrap_or(inside.len());
    let mut element = Element {
        name: local(&inside[..name_end]).to_string(),
        ..Element::default()
    };
    let mut rest = inside[name_end..].trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("attribute without a value")?;
        let name = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next().ok_or("attribute without a value")?;
        if quote != '"' && quote != '\'' {
            return Err("unquoted attribute".into());
        }
        let close = after[1..].find(quote).ok_or("unterminated attribute")? + 1;
        if !name.starts_with("xmlns") {
            element
                .attributes
                .push((local(name).to_string(), unescape(&after[1..close])?));
        }
        rest = after[close + 1..].trim_start();
    }
    Ok(element)
}

/// `text` escaped for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes an element tree (the writer keeps attributes as given, so `xmlns` goes there).
pub fn write(element: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    for (name, value) in &element.attributes {
        out.push_str(&format!(" {name}=\"{}\"", escape(value)));
    }
    out.push('>');
    out.push_str(&escape(&element.text));
    for child in &element.children {
        write(child, out);
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aws_responses() {
        let doc = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  \
             <PublishResult><MessageId>m-1</MessageId></PublishResult>\n  <!-- c -->\n  \
             <ResponseMetadata><RequestId>r &amp; 1</RequestId></ResponseMetadata><Empty/>\n\
             <x:Tag a=\"1 &lt; 2\" b='&#65;&#x42;'><![CDATA[<raw>]]></x:Tag></PublishResponse>",
        )
        .unwrap();
        assert_eq!(doc.name, "PublishResponse");
        assert_eq!(doc.find_text("MessageId"), Some("m-1"));
        assert_eq!(doc.find_text("RequestId"), Some("r & 1"));
        assert_eq!(doc.child("Empty").map(|e| e.text.as_str()), Some(""));
        let tag = doc.child("Tag").unwrap();
        assert_eq!(tag.attribute("a"), Some("1 < 2"));
        assert_eq!(tag.attribute("b"), Some("AB"));
        assert_eq!(tag.text, "<raw>");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn writes_escaped_text() {
        let mut out = String::new();
        write(
            &Element {
                name: "Tag".into(),
                attributes: vec![("xmlns".into(), "urn:x".into())],
                children: vec![Element {
                    name: "Key".into(),
                    text: "a<&>\"b".into(),
                    ..Element::default()
                }],
                text: String::new(),
            },
            &mut out,
        );
        assert_eq!(
            out,
            "<Tag xmlns=\"urn:x\"><Key>a&lt;&amp;&gt;&quot;b</Key></Tag>"
        );
        assert_eq!(parse(&out).unwrap().find_text("Key"), Some("a<&>\"b"));
    }

    #[test]
    fn a_deeply_nested_body_is_refused_not_overflowing() {
        let depth = 40_000;
        let body = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        assert!(parse(&body).unwrap_err().contains("nested deeper"));
        let ok = format!("{}<b>x</b>{}", "<a>".repeat(50), "</a>".repeat(50));
        assert_eq!(parse(&ok).unwrap().find_text("b"), Some("x"));
    }
}
