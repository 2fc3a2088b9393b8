//! The text log format: `tracing_subscriber`'s `Full` format, with the request log line (one per
//! request, `coffer::request`) written by a leaner path.
//!
//! `Full` writes every field through `nu_ansi_term` styles and `core::fmt` even with colours off:
//! about 12,700 instructions for the request line, 15% of a `--dev` GetSecretValue
//! (`bench/request_instructions.sh`, bench/NOTES.md). The request line has no span and is written
//! without colours, so its layout is simple: the timestamp, the level padded to five, the target,
//! then the message and the fields as `Full` writes them. Everything else (other targets, events
//! inside spans, a terminal with colours) goes to `Full` itself, and a test holds the two to the
//! same bytes.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The target of the per-request log line (`coffer_server::audit`).
const REQUEST_TARGET: &str = "coffer::request";

pub struct TextFormat<T> {
    full: Format<Full, T>,
    timer: T,
}

impl<T: FormatTime + Clone> TextFormat<T> {
    pub fn new(timer: T) -> Self {
        TextFormat {
            full: Format::default().with_timer(timer.clone()),
            timer,
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for TextFormat<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != REQUEST_TARGET
            || writer.has_ansi_escapes()
            || ctx.event_scope().is_some()
        {
            return self.full.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        let sanitize = writer.sanitizes_ansi_escapes();
        let mut fields = Fields {
            writer: &mut writer,
            sanitize,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes fields as `Full` does without colours: the message bare, the others `name=value` with
/// the value's `Debug` form (a `%` field's `Display`), separated by spaces.
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    /// Escape terminal control characters in the message, as `Full` does.
    sanitize: bool,
    first: bool,
    result: fmt::Result,
}

impl Visit for Fields<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        self.result = (|| {
            if !self.first {
                self.writer.write_char(' ')?;
            }
            self.first = false;
            if name == "message" {
                return match self.sanitize {
                    true => write!(Escaping(&mut *self.writer), "{value:?}"),
                    false => write!(self.writer, "{value:?}"),
                };
            }
            self.writer
                .write_str(name.strip_prefix("r#").unwrap_or(name))?;
            self.writer.write_char('=')?;
            write!(self.writer, "{value:?}")
        })();
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"))
        } else {
            self.record_debug(field, &value)
        }
    }
}

/// Writes terminal control characters escaped, as `Full` writes a message.
struct Escaping<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            match ch {
                '\x1b' => self.0.write_str("\\x1b")?,
                '\x07' => self.0.write_str("\\x07")?,
                '\x08' => self.0.write_str("\\x08")?,
                '\x0c' => self.0.write_str("\\x0c")?,
                '\x7f' => self.0.write_str("\\x7f")?,
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", ch as u32)?,
                _ => self.0.write_char(ch)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// A fixed time, so the two formats' lines compare whole.
    #[derive(Clone)]
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-12-07T18:26:38.380614Z")
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn events() {
        let ip: Option<std::net::IpAddr> = Some([127, 0, 0, 1].into());
        tracing::info!(
            target: "coffer::request",
            request_id = %"a21a8fbf-3e61-4bc9-9c2e-18aeb67fa36c",
            principal = %"arn:aws:iam::000000000000:root",
            operation = %"secretsmanager:GetSecretValue",
            status = 200u16,
            error_code = %"-",
            latency_ms = 29.855f64,
            whole_ms = 3.0f64,
            source_ip = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
            quoted = "a \"str\"\n",
            debugged = ?Some("x"),
            r#type = 7i64,
            flag = false,
            audit = %"off",
            "request"
        );
        tracing::warn!(target: "coffer::request", "control \x1b[31m\u{85} in a message {}", 5);
        tracing::info!(target: "coffer::startup", listen = %"http://127.0.0.1:1", "other target");
        let span = tracing::info_span!("outer", id = 3);
        let _entered = span.enter();
        tracing::info!(target: "coffer::request", status = 500u16, "request in a span");
    }

    fn lines(
        format: impl FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    ) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, events);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_request_line_is_written_as_the_full_format_writes_it() {
        let full = lines(Format::default().with_timer(Fixed));
        let lean = lines(TextFormat::new(Fixed));
        assert_eq!(lean, full);
        assert!(
            full.contains("  INFO coffer::request: request request_id=a21a8fbf"),
            "{full}"
        );
        assert_eq!(full.lines().count(), 4, "{full}");
    }
}
