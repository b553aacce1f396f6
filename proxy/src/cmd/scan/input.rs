//! What to scan: paths expanded into files (directories walked), stdin, HAR archives.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{har, Doc};

/// One input before loading.
pub enum Item {
    Stdin {
        content_type: Option<String>,
    },
    File {
        path: PathBuf,
        size: u64,
        content_type: Option<String>,
    },
}

impl Item {
    pub fn size_hint(&self) -> u64 {
        match self {
            Item::Stdin { .. } => 0,
            Item::File { size, .. } => *size,
        }
    }

    /// The documents of this input: one per file, one per HAR request/response body.
    pub fn load(self) -> anyhow::Result<Vec<Doc>> {
        match self {
            Item::Stdin { content_type } => {
                let mut body = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut body)
                    .context("reading stdin")?;
                Ok(vec![Doc {
                    source: "-".into(),
                    content_type,
                    content_encoding: None,
                    body,
                }])
            }
            Item::File {
                path, content_type, ..
            } => {
                let body =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let source = path.display().to_string();
                if extension(&path) == "har" {
                    return har::documents(&source, &body);
                }
                Ok(vec![Doc {
                    source,
                    content_type: content_type.or_else(|| by_extension(&path)),
                    content_encoding: None,
                    body,
                }])
            }
        }
    }
}

/// Expands the command line's paths, in order; directories are walked in name order.
pub fn collect(paths: &[PathBuf], content_type: Option<&str>) -> anyhow::Result<Vec<Item>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Item::Stdin {
                content_type: Some(content_type.unwrap_or("text/plain").to_owned()),
            });
        } else {
            walk(p, content_type, &mut out)?;
        }
    }
    Ok(out)
}

fn walk(path: &Path, content_type: Option<&str>, out: &mut Vec<Item>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("{}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, content_type, out)?;
        }
    } else if meta.is_file() {
        out.push(Item::File {
            path: path.to_owned(),
            size: meta.len(),
            content_type: content_type.map(str::to_owned),
        });
    }
    Ok(())
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The content type a file's extension implies; unknown extensions are scanned as text.
fn by_extension(path: &Path) -> Option<String> {
    let ct = match extension(path).as_str() {
        "json" | "ndjson" | "jsonl" | "geojson" => "application/json",
        "html" | "htm" | "xhtml" => "text/html",
        "pb" | "protobuf" | "binpb" => "application/x-protobuf",
        "form" => "application/x-www-form-urlencoded",
        _ => "text/plain",
    };
    Some(ct.to_owned())
}
