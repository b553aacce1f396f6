//! Which bodies to inspect, by `content-type`.

use super::keyword::keyword_enum;

keyword_enum! {
    /// A family of body formats the engine can parse. `other` stands for any unrecognised
    /// `content-type`; it is off by default because such bodies are mostly binary (images,
    /// archives) and scanning them costs time for false alarms. A *missing* `content-type` is
    /// `text`: hand-written services that omit it are exactly where leaks hide, and the
    /// formats layer scans such bodies as text too.
    pub enum ContentKind as "content type" {
        Json = "json",
        Grpc = "grpc",
        Protobuf = "protobuf",
        Html = "html",
        Form = "form",
        Multipart = "multipart",
        Text = "text",
        Other = "other",
    }
}

/// Inspected when a policy does not say: everything the engine parses.
pub const DEFAULT_CONTENT_KINDS: &[ContentKind] = &[
    ContentKind::Json,
    ContentKind::Grpc,
    ContentKind::Protobuf,
    ContentKind::Html,
    ContentKind::Form,
    ContentKind::Multipart,
    ContentKind::Text,
];

impl ContentKind {
    /// Classifies a `content-type` header value (parameters and case ignored). `None` or an
    /// empty value gives [`ContentKind::Text`].
    pub fn classify(content_type: Option<&str>) -> ContentKind {
        let essence = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if essence.is_empty() {
            return ContentKind::Text;
        }
        let essence = essence.to_ascii_lowercase();
        let (ty, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
        // Structured syntax suffixes (RFC 6839): application/problem+json is JSON.
        let suffix = sub.rsplit_once('+').map(|(_, s)| s);
        match (ty, sub) {
            (_, "json" | "x-ndjson" | "ndjson" | "jsonl" | "x-jsonlines" | "json-seq") => {
                ContentKind::Json
            }
            ("application", s) if s.starts_with("grpc") => ContentKind::Grpc,
            (
                "application",
                "protobuf" | "x-protobuf" | "vnd.google.protobuf" | "x-google-protobuf",
            ) => ContentKind::Protobuf,
            ("text", "html") | ("application", "xhtml+xml") => ContentKind::Html,
            ("application", "x-www-form-urlencoded") => ContentKind::Form,
            ("multipart", _) => ContentKind::Multipart,
            _ if suffix == Some("json") => ContentKind::Json,
            ("text", _)
            | (
                "application",
                "xml" | "javascript" | "ecmascript" | "graphql" | "yaml" | "x-yaml" | "sql" | "csv",
            ) => ContentKind::Text,
            _ if matches!(suffix, Some("xml" | "yaml")) => ContentKind::Text,
            _ => ContentKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ContentKind::{self, *};

    #[test]
    fn common_content_types_classify() {
        let cases = [
            ("application/json", Json),
            ("Application/JSON; charset=utf-8", Json),
            ("application/problem+json", Json),
            ("application/x-ndjson", Json),
            ("application/grpc", Grpc),
            ("application/grpc+proto", Grpc),
            ("application/grpc-web+proto", Grpc),
            ("application/x-protobuf", Protobuf),
            ("text/html; charset=UTF-8", Html),
            ("application/x-www-form-urlencoded", Form),
            ("multipart/form-data; boundary=x", Multipart),
            ("text/plain", Text),
            ("text/csv", Text),
            ("application/xml", Text),
            ("application/atom+xml", Text),
            ("image/png", Other),
            ("application/octet-stream", Other),
            ("", Text),
            (" ; charset=utf-8", Text),
        ];
        for (ct, want) in cases {
            assert_eq!(ContentKind::classify(Some(ct)), want, "{ct}");
        }
        assert_eq!(ContentKind::classify(None), Text);
    }
}
