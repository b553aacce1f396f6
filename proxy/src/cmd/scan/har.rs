//! HAR archives (HTTP Archive 1.2): every request and response body becomes a document,
//! named `file.har#entries[3].response`.

use anyhow::Context;
use base64::Engine;
use serde_json::Value;

use super::Doc;

pub fn documents(source: &str, body: &[u8]) -> anyhow::Result<Vec<Doc>> {
    let har: Value =
        serde_json::from_slice(body).with_context(|| format!("{source}: not a HAR archive"))?;
    let entries = har
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .with_context(|| format!("{source}: no log.entries"))?;
    let mut docs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(post) = e.pointer("/request/postData") {
            push(
                &mut docs,
                format!("{source}#entries[{i}].request"),
                post,
                "mimeType",
                None,
            )?;
        }
        if let Some(content) = e.pointer("/response/content") {
            let encoding = content.get("encoding").and_then(Value::as_str);
            push(
                &mut docs,
                format!("{source}#entries[{i}].response"),
                content,
                "mimeType",
                encoding,
            )?;
        }
    }
    Ok(docs)
}

fn push(
    docs: &mut Vec<Doc>,
    source: String,
    part: &Value,
    mime_field: &str,
    encoding: Option<&str>,
) -> anyhow::Result<()> {
    let Some(text) = part.get("text").and_then(Value::as_str) else {
        return Ok(());
    };
    let body = match encoding {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .with_context(|| format!("{source}: invalid base64 content"))?,
        _ => text.as_bytes().to_vec(),
    };
    docs.push(Doc {
        source,
        content_type: part
            .get(mime_field)
            .and_then(Value::as_str)
            .map(str::to_owned),
        content_encoding: None,
        body,
    });
    Ok(())
}
