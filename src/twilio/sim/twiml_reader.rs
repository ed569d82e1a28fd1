//! Reads TwiML the way Twilio does: the verbs of one `<Response>`, with
//! attributes unescaped and text trimmed.

use super::SimError;
use quick_xml::events::{BytesStart, Event};

/// A TwiML element: its name, unescaped attributes and text (trimmed, as
/// Twilio ignores the whitespace around a URL or a sentence), and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    fn empty(name: String) -> Node {
        Node {
            name,
            attrs: Vec::new(),
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// The unescaped value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A TwiML document: the verbs inside `<Response>`, which Twilio runs in
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub verbs: Vec<Node>,
}

fn xml_error(e: impl std::fmt::Display) -> SimError {
    SimError::Xml(e.to_string())
}

fn open_node(e: &BytesStart<'_>) -> Result<Node, SimError> {
    let name = e.name().as_ref().to_owned();
    let mut node = Node::empty(name);
    for attr in e.attributes() {
        let attr = attr.map_err(xml_error)?;
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(xml_error)?
            .into_owned();
        node.attrs.push((key, value));
    }
    Ok(node)
}

/// Closes `node`: trims its text and hands it to its parent.
fn close_node(mut node: Node, parent: &mut Node) {
    let trimmed = node.text.trim();
    if trimmed.len() != node.text.len() {
        node.text = trimmed.to_owned();
    }
    parent.children.push(node);
}

impl Doc {
    /// Parses a TwiML reply; the root must be a single `<Response>`, as
    /// Twilio rejects anything else.
    pub fn parse(xml: &str) -> Result<Doc, SimError> {
        let mut reader = quick_xml::Reader::from_str(xml);
        // The open elements; the bottom one collects the document's roots.
        let mut stack: Vec<Node> = vec![Node::empty(String::new())];
        loop {
            match reader.read_event().map_err(xml_error)? {
                Event::Start(e) => stack.push(open_node(&e)?),
                Event::Empty(e) => {
                    let node = open_node(&e)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or_else(|| xml_error("unbalanced end tag"))?;
                    let parent = stack
                        .last_mut()
                        .ok_or_else(|| xml_error("unbalanced end tag"))?;
                    close_node(node, parent);
                }
                Event::Text(t) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.xml10_content();
                    let resolved = match r.resolve_char_ref().map_err(xml_error)? {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_error(format!("unknown entity &{name};")))?
                            .to_owned(),
                    };
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let mut roots = match stack.pop() {
            Some(bottom) if stack.is_empty() => bottom.children,
            _ => return Err(xml_error("an element is not closed")),
        };
        match roots.pop() {
            Some(root) if roots.is_empty() && root.name == "Response" => Ok(Doc {
                verbs: root.children,
            }),
            Some(_) if !roots.is_empty() => Err(xml_error("more than one root element")),
            Some(root) => Err(xml_error(format!(
                "the root element must be <Response>, not <{}>",
                root.name
            ))),
            None => Err(xml_error("no root element")),
        }
    }

    /// Every text said, in order, including prompts inside `<Gather>`:
    /// what the caller hears.
    pub fn said(&self) -> Vec<String> {
        fn walk(nodes: &[Node], out: &mut Vec<String>) {
            for node in nodes {
                if node.name == "Say" {
                    out.push(node.text.clone());
                }
                walk(&node.children, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.verbs, &mut out);
        out
    }

    fn verb(&self, name: &str) -> Option<&Node> {
        self.verbs.iter().find(|v| v.name == name)
    }

    /// The first top-level `<Gather>`: where pressed digits go.
    pub fn gather(&self) -> Option<&Node> {
        self.verb("Gather")
    }

    /// The URL of the first top-level `<Redirect>`: where silence goes.
    pub fn redirect(&self) -> Option<&str> {
        self.verb("Redirect").map(|n| n.text.as_str())
    }

    /// The first top-level `<Record>`: its action and status callback.
    pub fn record(&self) -> Option<&Node> {
        self.verb("Record")
    }

    /// The first top-level `<Dial>`: its action and whom it dials.
    pub fn dial(&self) -> Option<&Node> {
        self.verb("Dial")
    }

    /// Whether the document ends the call with `<Hangup>`.
    pub fn hangs_up(&self) -> bool {
        self.verb("Hangup").is_some()
    }

    /// The top-level verb names, in order: the shape of the reply.
    pub fn verb_names(&self) -> Vec<&str> {
        self.verbs.iter().map(|v| v.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twiml() {
        let doc = Doc::parse(concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="v">Tom &amp; Jerry</Say>"#,
            r#"<Gather input="dtmf" action="https://x/a?b=1&amp;c=2" numDigits="1">"#,
            r#"<Say>press 1</Say><Pause length="1"/></Gather>"#,
            r#"<Redirect method="POST">https://x/r</Redirect><Record action="https://x/done" "#,
            r#"recordingStatusCallback="https://x/rec"/><Hangup/></Response>"#
        ))
        .unwrap();
        assert_eq!(
            doc.verb_names(),
            ["Say", "Gather", "Redirect", "Record", "Hangup"]
        );
        assert_eq!(doc.said(), ["Tom & Jerry", "press 1"]);
        let gather = doc.gather().unwrap();
        assert_eq!(gather.attr("action"), Some("https://x/a?b=1&c=2"));
        assert_eq!(gather.attr("numDigits"), Some("1"));
        assert_eq!(gather.attr("finishOnKey"), None);
        assert_eq!(
            gather
                .children
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["Say", "Pause"]
        );
        assert_eq!(doc.redirect(), Some("https://x/r"));
        assert_eq!(
            doc.record().unwrap().attr("recordingStatusCallback"),
            Some("https://x/rec")
        );
        assert!(doc.hangs_up());
    }

    #[test]
    fn parses_what_the_twiml_builder_renders() {
        use crate::domain::twiml::{Gather, Prompt, Say, Twiml, Verb};
        let say = |text: &str| Say {
            text: text.into(),
            voice: "Polly.Mizuki".into(),
            language: "ja-JP".into(),
        };
        let xml = Twiml::new()
            .push(Verb::Say(say("<1> & \"2\"")))
            .push(Verb::Gather(Gather {
                action: "https://x/a?b=1&c=2".into(),
                num_digits: None,
                timeout_seconds: 5,
                finish_on_key: Some('#'),
                speech: None,
                prompts: vec![Prompt::Say(say("番号を"))],
            }))
            .push(Verb::Redirect {
                url: "https://x/r?a=1&b=2".into(),
            })
            .render();
        let doc = Doc::parse(&xml).unwrap();
        assert_eq!(doc.said(), ["<1> & \"2\"", "番号を"]);
        assert_eq!(doc.verbs[0].attr("language"), Some("ja-JP"));
        assert_eq!(doc.gather().unwrap().attr("finishOnKey"), Some("#"));
        assert_eq!(doc.redirect(), Some("https://x/r?a=1&b=2"));
        assert!(!doc.hangs_up());
    }

    #[test]
    fn text_is_trimmed_and_cdata_read() {
        let doc = Doc::parse(
            "<Response>\n  <Say><![CDATA[a < b]]></Say>\n  <Redirect>\n    https://x/r\n  </Redirect>\n</Response>\n",
        )
        .unwrap();
        assert_eq!(doc.said(), ["a < b"]);
        assert_eq!(doc.redirect(), Some("https://x/r"));
    }

    #[test]
    fn only_a_single_response_root_is_twiml() {
        for bad in [
            "<Other/>",
            "<Other><Say>hi</Say></Other>",
            "<Response/><Response/>",
            "<Response><Say>open",
            "<Response></Say></Response>",
            "<Response>&nope;</Response>",
            r#"{"error": 1}"#,
            "",
        ] {
            assert!(
                matches!(Doc::parse(bad), Err(SimError::Xml(_))),
                "{bad:?} parsed"
            );
        }
        assert_eq!(Doc::parse("<Response/>").unwrap().verbs, []);
    }
}
