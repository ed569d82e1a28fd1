//! A typed TwiML builder: only the verbs and nestings Twilio accepts can be
//! built, and every text and attribute is escaped.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    pub text: String,
    pub voice: String,
    pub language: String,
}

/// What may be nested in `<Gather>`: Twilio allows only Say, Play and Pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Say(Say),
    Play { url: String },
    Pause { seconds: u32 },
}

/// Who `<Dial>` rings; several ring at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    Number(String),
    Sip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    pub action: String,
    pub timeout_seconds: u32,
    pub caller_id: Option<String>,
    pub targets: Vec<DialTarget>,
}

/// One customer, dialled from an agent's call (click-to-call): the agent
/// hears ringing until the customer answers (`answerOnBridge`), and the
/// customer hears `on_answer`'s TwiML before the two are joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub action: String,
    pub timeout_seconds: u32,
    /// Twilio's default when unset: the calling leg's `From`.
    pub caller_id: Option<String>,
    pub number: String,
    pub on_answer: String,
    pub recording: Option<BridgeRecording>,
}

/// Both parties recorded from the answer, each on a channel of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRecording {
    pub status_callback: String,
    /// The bridged call ends after this long (it bounds the recording).
    pub time_limit_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    pub queue: String,
    pub wait_url: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    pub action: String,
    /// Stop after this many digits; `None` waits for the finish key.
    pub num_digits: Option<u32>,
    pub timeout_seconds: u32,
    pub finish_on_key: Option<char>,
    /// Speech taken too (`input="dtmf speech"`); keys only when `None`.
    pub speech: Option<SpeechInput>,
    pub prompts: Vec<Prompt>,
}

/// How Twilio fetches an action URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    /// For static documents (an object behind CloudFront takes no POST).
    Get,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Get => "GET",
        }
    }
}

/// How `<Gather>` listens for speech.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechInput {
    /// The caller's language, e.g. ja-JP.
    pub language: String,
    pub model: String,
    /// Seconds of silence that end the speech: a number, as Twilio refuses
    /// `auto` once a model is named.
    pub timeout_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub action: String,
    pub method: Method,
    pub max_length_seconds: u32,
    pub timeout_seconds: u32,
    pub status_callback: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say(Say),
    Play {
        url: String,
    },
    Pause {
        seconds: u32,
    },
    Gather(Gather),
    Dial(Dial),
    Bridge(Bridge),
    Enqueue(Enqueue),
    /// Leave the queue (only in a wait URL); the Enqueue action follows.
    Leave,
    Record(Record),
    Redirect {
        url: String,
    },
    Hangup,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Twiml {
    pub verbs: Vec<Verb>,
}

impl Twiml {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(mut self, verb: Verb) -> Self {
        self.verbs.push(verb);
        self
    }

    /// `more`'s verbs after these.
    pub fn extend(mut self, more: Twiml) -> Self {
        self.verbs.extend(more.verbs);
        self
    }

    pub fn render(&self) -> String {
        let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        for verb in &self.verbs {
            render_verb(&mut out, verb);
        }
        out.push_str("</Response>");
        out
    }
}

fn render_say(out: &mut String, say: &Say) {
    let _ = write!(
        out,
        r#"<Say voice="{}" language="{}">{}</Say>"#,
        escape(&say.voice),
        escape(&say.language),
        escape(&say.text)
    );
}

fn render_verb(out: &mut String, verb: &Verb) {
    match verb {
        Verb::Say(say) => render_say(out, say),
        Verb::Play { url } => {
            let _ = write!(out, "<Play>{}</Play>", escape(url));
        }
        Verb::Pause { seconds } => {
            let _ = write!(out, r#"<Pause length="{seconds}"/>"#);
        }
        Verb::Dial(d) => {
            let _ = write!(
                out,
                r#"<Dial action="{}" method="POST" timeout="{}""#,
                escape(&d.action),
                d.timeout_seconds
            );
            if let Some(caller_id) = &d.caller_id {
                let _ = write!(out, r#" callerId="{}""#, escape(caller_id));
            }
            out.push('>');
            for target in &d.targets {
                let _ = match target {
                    DialTarget::Number(n) => write!(out, "<Number>{}</Number>", escape(n)),
                    DialTarget::Sip(uri) => write!(out, "<Sip>{}</Sip>", escape(uri)),
                };
            }
            out.push_str("</Dial>");
        }
        Verb::Bridge(b) => {
            let _ = write!(
                out,
                r#"<Dial action="{}" method="POST" timeout="{}""#,
                escape(&b.action),
                b.timeout_seconds,
            );
            if let Some(caller_id) = &b.caller_id {
                let _ = write!(out, r#" callerId="{}""#, escape(caller_id));
            }
            out.push_str(r#" answerOnBridge="true""#);
            if let Some(r) = &b.recording {
                let _ = write!(
                    out,
                    r#" timeLimit="{}" record="record-from-answer-dual" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent""#,
                    r.time_limit_seconds,
                    escape(&r.status_callback)
                );
            }
            let _ = write!(
                out,
                r#"><Number url="{}" method="POST">{}</Number></Dial>"#,
                escape(&b.on_answer),
                escape(&b.number)
            );
        }
        Verb::Enqueue(e) => {
            let _ = write!(
                out,
                r#"<Enqueue action="{}" method="POST" waitUrl="{}" waitUrlMethod="POST">{}</Enqueue>"#,
                escape(&e.action),
                escape(&e.wait_url),
                escape(&e.queue)
            );
        }
        Verb::Leave => out.push_str("<Leave/>"),
        Verb::Gather(g) => {
            let input = if g.speech.is_some() {
                "dtmf speech"
            } else {
                "dtmf"
            };
            let _ = write!(
                out,
                r#"<Gather input="{input}" action="{}" method="POST" timeout="{}""#,
                escape(&g.action),
                g.timeout_seconds
            );
            if let Some(n) = g.num_digits {
                let _ = write!(out, r#" numDigits="{n}""#);
            }
            if let Some(key) = g.finish_on_key {
                let _ = write!(out, r#" finishOnKey="{}""#, escape(&key.to_string()));
            }
            if let Some(speech) = &g.speech {
                let _ = write!(
                    out,
                    r#" language="{}" speechModel="{}" speechTimeout="{}""#,
                    escape(&speech.language),
                    escape(&speech.model),
                    speech.timeout_seconds
                );
            }
            out.push('>');
            for prompt in &g.prompts {
                match prompt {
                    Prompt::Say(say) => render_say(out, say),
                    Prompt::Play { url } => {
                        let _ = write!(out, "<Play>{}</Play>", escape(url));
                    }
                    Prompt::Pause { seconds } => {
                        let _ = write!(out, r#"<Pause length="{seconds}"/>"#);
                    }
                }
            }
            out.push_str("</Gather>");
        }
        Verb::Record(r) => {
            let _ = write!(
                out,
                r##"<Record action="{}" method="{}" maxLength="{}" timeout="{}" finishOnKey="#" playBeep="true" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>"##,
                escape(&r.action),
                r.method.as_str(),
                r.max_length_seconds,
                r.timeout_seconds,
                escape(&r.status_callback)
            );
        }
        Verb::Redirect { url } => {
            let _ = write!(out, r#"<Redirect method="POST">{}</Redirect>"#, escape(url));
        }
        Verb::Hangup => out.push_str("<Hangup/>"),
    }
}

/// XML escaping for text and attribute values alike. Characters XML 1.0
/// cannot carry at all (most control characters, U+FFFE, U+FFFF) are left
/// out: Twilio would refuse the whole document.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A parser turns a raw CR into LF; a reference keeps it.
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str) -> Say {
        Say {
            text: text.into(),
            voice: "Polly.Mizuki".into(),
            language: "ja-JP".into(),
        }
    }

    #[test]
    fn renders_each_verb_exactly() {
        let twiml = Twiml::new()
            .push(Verb::Say(say("こんにちは")))
            .push(Verb::Gather(Gather {
                action: "https://x.test/a?b=1&c=2".into(),
                num_digits: Some(1),
                timeout_seconds: 5,
                finish_on_key: None,
                speech: None,
                prompts: vec![Prompt::Say(say("1")), Prompt::Pause { seconds: 1 }],
            }))
            .push(Verb::Redirect {
                url: "https://x.test/r".into(),
            })
            .push(Verb::Record(Record {
                action: "https://x.test/done".into(),
                method: Method::Post,
                max_length_seconds: 120,
                timeout_seconds: 5,
                status_callback: "https://x.test/rec".into(),
            }))
            .push(Verb::Hangup);
        assert_eq!(
            twiml.render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">こんにちは</Say>"#,
                r#"<Gather input="dtmf" action="https://x.test/a?b=1&amp;c=2" method="POST" timeout="5" numDigits="1">"#,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">1</Say><Pause length="1"/></Gather>"#,
                r#"<Redirect method="POST">https://x.test/r</Redirect>"#,
                r##"<Record action="https://x.test/done" method="POST" maxLength="120" timeout="5" finishOnKey="#" playBeep="true" recordingStatusCallback="https://x.test/rec" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>"##,
                r#"<Hangup/></Response>"#
            )
        );
    }

    #[test]
    fn escapes_tenant_texts() {
        let twiml = Twiml::new().push(Verb::Say(Say {
            text: r#"Tom & Jerry's <shop> "open""#.into(),
            voice: "Polly.Joanna".into(),
            language: "en-US".into(),
        }));
        assert_eq!(
            twiml.render(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna" language="en-US">Tom &amp; Jerry&apos;s &lt;shop&gt; &quot;open&quot;</Say></Response>"#
        );
    }

    #[test]
    fn dial_enqueue_play_leave() {
        let twiml = Twiml::new()
            .push(Verb::Dial(Dial {
                action: "https://x/d".into(),
                timeout_seconds: 20,
                caller_id: Some("+81312345678".into()),
                targets: vec![
                    DialTarget::Number("+81355550000".into()),
                    DialTarget::Sip("sip:desk@pbx.example.com".into()),
                ],
            }))
            .push(Verb::Enqueue(Enqueue {
                queue: "support & sales".into(),
                wait_url: "https://x/w".into(),
                action: "https://x/r".into(),
            }))
            .push(Verb::Play {
                url: "https://x/hold.mp3".into(),
            })
            .push(Verb::Leave);
        assert_eq!(
            twiml.render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Dial action="https://x/d" method="POST" timeout="20" callerId="+81312345678">"#,
                r#"<Number>+81355550000</Number><Sip>sip:desk@pbx.example.com</Sip></Dial>"#,
                r#"<Enqueue action="https://x/r" method="POST" waitUrl="https://x/w" waitUrlMethod="POST">support &amp; sales</Enqueue>"#,
                r#"<Play>https://x/hold.mp3</Play><Leave/></Response>"#
            )
        );
    }

    #[test]
    fn a_bridge_to_one_customer_with_and_without_recording() {
        let bridge = Bridge {
            action: "https://x/dialed?a=1&b=2".into(),
            timeout_seconds: 30,
            caller_id: Some("+81501234567".into()),
            number: "+81312345678".into(),
            on_answer: "https://x/customer".into(),
            recording: None,
        };
        assert_eq!(
            Twiml::new().push(Verb::Bridge(bridge.clone())).render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Dial action="https://x/dialed?a=1&amp;b=2" method="POST" timeout="30" callerId="+81501234567" answerOnBridge="true">"#,
                r#"<Number url="https://x/customer" method="POST">+81312345678</Number></Dial></Response>"#
            )
        );
        let recorded = Bridge {
            recording: Some(BridgeRecording {
                status_callback: "https://x/rec".into(),
                time_limit_seconds: 3600,
            }),
            ..bridge
        };
        assert_eq!(
            Twiml::new().push(Verb::Bridge(recorded)).render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Dial action="https://x/dialed?a=1&amp;b=2" method="POST" timeout="30" callerId="+81501234567" answerOnBridge="true" "#,
                r#"timeLimit="3600" record="record-from-answer-dual" recordingStatusCallback="https://x/rec" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent">"#,
                r#"<Number url="https://x/customer" method="POST">+81312345678</Number></Dial></Response>"#
            )
        );
    }

    #[test]
    fn gather_with_finish_key() {
        let gather = Gather {
            action: "a".into(),
            num_digits: None,
            timeout_seconds: 8,
            finish_on_key: Some('#'),
            speech: None,
            prompts: vec![],
        };
        assert!(
            Twiml::new()
                .push(Verb::Gather(gather.clone()))
                .render()
                .contains(r##"<Gather input="dtmf" action="a" method="POST" timeout="8" finishOnKey="#"></Gather>"##)
        );
        let speech = Gather {
            speech: Some(SpeechInput {
                language: "ja-JP".into(),
                model: "phone_call".into(),
                timeout_seconds: 3,
            }),
            ..gather
        };
        assert!(
            Twiml::new().push(Verb::Gather(speech)).render().contains(
                r##"<Gather input="dtmf speech" action="a" method="POST" timeout="8" finishOnKey="#" language="ja-JP" speechModel="phone_call" speechTimeout="3"></Gather>"##
            )
        );
    }

    /// The text of every element named `name`, as an XML parser reads it;
    /// fails on a document that is not well-formed.
    fn texts_of(xml: &str, name: &str) -> Result<Vec<String>, String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let (mut texts, mut inside, mut depth) = (Vec::new(), false, 0i32);
        let add = |inside: bool, texts: &mut Vec<String>, text: &str| {
            if let (true, Some(last)) = (inside, texts.last_mut()) {
                last.push_str(text);
            }
        };
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Start(e) => {
                    depth += 1;
                    if e.name().as_ref() == name {
                        inside = true;
                        texts.push(String::new());
                    }
                }
                Event::End(e) => {
                    depth -= 1;
                    inside &= e.name().as_ref() != name;
                }
                Event::Text(t) => add(inside, &mut texts, &t.xml10_content()),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .ok_or("unknown entity")?
                            .to_owned(),
                    };
                    add(inside, &mut texts, &resolved);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if depth != 0 {
            return Err("unclosed element".into());
        }
        Ok(texts)
    }

    proptest::proptest! {
        #[test]
        fn any_text_renders_as_well_formed_xml_that_keeps_it(text in ".*", digits in "[0-9#*]{0,20}") {
            let twiml = Twiml::new()
                .push(Verb::Say(say(&text)))
                .push(Verb::Say(say(&digits)));
            let xml = twiml.render();
            proptest::prop_assert!(xml.chars().all(xml_char), "{xml:?}");
            let texts = texts_of(&xml, "Say").map_err(proptest::test_runner::TestCaseError::fail)?;
            let kept: String = text.chars().filter(|&c| xml_char(c)).collect();
            proptest::prop_assert_eq!(texts, vec![kept, digits]);
        }
    }
}
