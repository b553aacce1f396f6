//! What a plugin's `code` must look like: a WebAssembly module, binary or text.
//!
//! Checked when the configuration loads, from the first bytes only, because the runtime's own
//! answer comes much later and names neither the file nor the field: a text file handed to
//! Wasmtime is parsed as the text format and fails with `expected '('`.

use std::io::Read;
use std::path::PathBuf;

use super::error::{FieldError, FieldResult};
use super::files::Resolver;
use super::DataSource;

/// How much of a file is read to decide: enough for a long leading comment in a text module.
const HEAD: u64 = 4096;

/// Resolves `value` like any file and checks that it holds a module for `plugin`.
pub fn file(files: &Resolver, value: &str, field: &str, plugin: &str) -> FieldResult<PathBuf> {
    let path = files.file(value, field)?;
    check(
        &head(&path, field)?,
        &format!("{value} (plugin {plugin})"),
        field,
    )?;
    Ok(path)
}

/// Checks a loaded data source (a file already resolved, or inline bytes).
pub fn source(code: &DataSource, field: &str, plugin: &str) -> FieldResult<()> {
    match code {
        DataSource::File(path) => check(
            &head(path, field)?,
            &format!("{} (plugin {plugin})", path.display()),
            field,
        ),
        DataSource::Inline(bytes) => check(bytes, &format!("inline code (plugin {plugin})"), field),
    }
}

fn head(path: &std::path::Path, field: &str) -> FieldResult<Vec<u8>> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD).read_to_end(&mut head))
        .map_err(|e| FieldError::new(field, format!("{}: {e}", path.display())))?;
    Ok(head)
}

/// `Ok` for the binary magic `\0asm` or text starting (after blanks and comments) with `(`.
fn check(head: &[u8], what: &str, field: &str) -> FieldResult<()> {
    if head.starts_with(b"\0asm") || starts_like_text(head) {
        return Ok(());
    }
    let shown: String = head
        .iter()
        .take(16)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    Err(FieldError::new(
        field,
        format!(
            "{what}: not a WebAssembly module (starts with \"{shown}\"; a binary module starts \
             with \\0asm, a text module with `(module`)"
        ),
    ))
}

/// Whether the text format could start here: blanks, `;;` line and `(; ;)` block comments,
/// then `(`. A head that ends inside a comment is given the benefit of the doubt.
fn starts_like_text(mut s: &[u8]) -> bool {
    loop {
        s = s.trim_ascii_start();
        if let Some(rest) = s.strip_prefix(b";;") {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => s = &rest[i..],
                None => return true,
            }
        } else if let Some(rest) = s.strip_prefix(b"(;") {
            match rest.windows(2).position(|w| w == b";)") {
                Some(i) => s = &rest[i + 2..],
                None => return true,
            }
        } else {
            return s.first() == Some(&b'(');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_text_modules_pass_anything_else_names_the_field() {
        assert!(check(b"\0asm\x01\0\0\0", "f.wasm", "x.code").is_ok());
        assert!(check(b"(module)", "f.wat", "x.code").is_ok());
        assert!(check(b";; a filter\n  (; block ;) (module)", "f.wat", "x.code").is_ok());
        let e = check(
            b"hello, I am text\n",
            "notes.txt",
            "listeners[0].filters[1].code",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("listeners[0].filters[1].code"), "{e}");
        assert!(e.contains("notes.txt: not a WebAssembly module"), "{e}");
        assert!(check(b"", "empty.wasm", "x.code").is_err());
        assert!(check(b";; only a comment\nnot code", "f", "x.code").is_err());
    }
}
