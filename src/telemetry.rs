//! Logging: JSON lines on Lambda, compact text on a terminal. The level
//! comes from `AFUREKO_LOG` (or `RUST_LOG`), else `default_level`.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool, default_level: &str) {
    let filter = std::env::var("AFUREKO_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: a log file or journald gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second init (tests, demo inside serve) keeps the first subscriber.
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// An error and its causes on one line (`error: cause: cause's cause`),
/// for logs and for texts kept on a record. Error texts here follow the
/// convention that a message does not repeat its source.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
