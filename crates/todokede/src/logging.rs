//! The log on standard error: text for people (colours only on a terminal, never escape codes
//! in a file) or, with `--log-format json`, one JSON object per line for a log collector —
//! `{"timestamp", "level", "target", "message", "fields": {…}, "spans": [..]}` — written by
//! [`JsonLines`] with serde_json, so every value is escaped the way JSON needs.

use std::fmt;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Start the subscriber: `TODOKEDE_LOG` filters (default `info`, quieter sqlx and evtx).
pub fn init(format: crate::cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TODOKEDE_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,evtx=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        crate::cli::LogFormat::Json => builder.with_ansi(false).event_format(JsonLines).init(),
        crate::cli::LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
        }
    }
}

/// An event's fields as a JSON object (`message` apart).
#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, serde_json::Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, serde_json::Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

/// One line of JSON per event.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let timestamp =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let spans: Vec<&str> =
            ctx.event_scope().map(|scope| scope.from_root().map(|s| s.name()).collect()).unwrap_or_default();
        let mut line = serde_json::json!({
            "timestamp": timestamp,
            "level": meta.level().as_str(),
            "target": meta.target(),
            "message": fields.message.unwrap_or_default(),
        });
        if !fields.fields.is_empty() {
            line["fields"] = serde_json::Value::Object(fields.fields);
        }
        if !spans.is_empty() {
            line["spans"] = spans.into();
        }
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_json_log_line_is_one_object_with_its_fields() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(super::JsonLines)
            .with_writer(move || Sink(sink.clone()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(mail = 7, error = "line one\n\"two\"", "mail not sent; will retry");
        });
        let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "mail not sent; will retry");
        assert_eq!(v["fields"]["mail"], 7);
        assert_eq!(v["fields"]["error"], "line one\n\"two\"");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
