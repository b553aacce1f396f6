//! `microwaf scan`: the MicroWAF engine, natively, over files, directories, stdin and HAR
//! archives. Same engine and policy as the filter, so what it reports is what the filter sees.
//!
//! Output: one JSON line per finding,
//! `{"source":…,"category":…,"start":…,"end":…,"path":"$.user.ssn","value":…}` (`value` per the
//! policy's `report` style; `path` only for structured content). Exit status: 0 nothing found,
//! 1 findings, 2 error. With `--decide`, each document is followed by one line
//! `{"source":…,"decision":"pass|redact|block","action":…,"fallback":…}`: the filter's decision
//! for it as a response of the policy's default endpoint.

mod decide;
mod har;
mod input;
mod progress;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use microwaf_engine::formats::{ContentInfo, FormatError};
use microwaf_engine::inspect::{Inspector, Match, ScanMode, MAX_MATCHES};

use input::Item;

#[derive(Args)]
pub struct ScanArgs {
    /// Files, directories (walked recursively) or `-` for stdin. HAR archives (`.har`) are
    /// scanned entry by entry.
    #[arg(default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// MicroWAF policy (YAML or JSON); default: every built-in category on.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Content type for stdin and files with unknown extensions (default: by extension, else
    /// text).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Also run the request-side attack detectors over the content.
    #[arg(long)]
    pub attacks: bool,
    /// After each document, print the filter's decision for it (pass, redact or block, and
    /// the fallback taken, if any) as a response of the policy's default endpoint.
    #[arg(long)]
    pub decide: bool,
}

pub fn run(args: ScanArgs) -> ExitCode {
    match scan(&args) {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("microwaf scan: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn scan(args: &ScanArgs) -> anyhow::Result<bool> {
    let policy = match &args.policy {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => Vec::new(),
    };
    let inspector = Inspector::from_config(&policy).map_err(|e| match &args.policy {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!("{e}"),
    })?;
    let items = input::collect(&args.paths, args.content_type.as_deref())?;
    let mut progress = progress::Progress::new(items.iter().map(Item::size_hint).sum());
    let reporter = inspector.policy().value_reporter();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mode = if args.attacks {
        ScanMode::Both
    } else {
        ScanMode::Sensitive
    };
    let mut found = false;
    for item in items {
        for doc in item.load()? {
            progress.advance(doc.body.len() as u64);
            let scanned = scan_doc(&inspector, &doc, mode)?;
            for m in &scanned.matches {
                found = true;
                let mut line = serde_json::json!({
                    "source": doc.source,
                    "category": m.category,
                    "start": m.range.start,
                    "end": m.range.end,
                });
                if m.path != "$" {
                    line["path"] = m.path.clone().into();
                }
                if let Some(v) = reporter.render(&m.value) {
                    line["value"] = v.into();
                }
                writeln!(out, "{line}")?;
            }
            if args.decide {
                let s = decide::Scanned {
                    matches: &scanned.matches,
                    dropped: &scanned.dropped,
                    error: scanned.error.as_ref(),
                };
                let line = decide::decision_line(inspector.policy(), &doc, mode, &s);
                writeln!(out, "{line}")?;
            }
        }
    }
    progress.finish();
    out.flush()?;
    Ok(found)
}

/// One body to scan, with where it came from.
pub struct Doc {
    pub source: String,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub body: Vec<u8>,
}

/// What one document's scan found.
struct DocScan {
    matches: Vec<Match>,
    dropped: Vec<(String, u32)>,
    error: Option<FormatError>,
}

fn scan_doc(inspector: &Arc<Inspector>, doc: &Doc, mode: ScanMode) -> anyhow::Result<DocScan> {
    let info = ContentInfo {
        content_type: doc.content_type.as_deref(),
        content_encoding: doc.content_encoding.as_deref(),
        grpc_encoding: None,
    };
    let mut scan = inspector
        .body(&info, mode)
        .with_context(|| doc.source.clone())?;
    for chunk in doc.body.chunks(64 * 1024) {
        scan.push(chunk);
    }
    scan.finish();
    if let Some(e) = scan.error() {
        eprintln!("microwaf scan: {}: partly scanned: {e}", doc.source);
    }
    let dropped: u64 = scan.dropped().iter().map(|(_, n)| u64::from(*n)).sum();
    if dropped > 0 {
        eprintln!(
            "microwaf scan: {}: {dropped} more findings not listed (at most {MAX_MATCHES} per document)",
            doc.source
        );
    }
    Ok(DocScan {
        matches: scan.take_matches(),
        dropped: scan.take_dropped(),
        error: scan.error().cloned(),
    })
}
