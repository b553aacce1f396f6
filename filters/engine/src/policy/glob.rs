//! Host and path globs for endpoint matching.
//!
//! Syntax: `*` matches any run of characters except the separator (`/` in paths, nothing in
//! hosts, following Envoy's `*.example.com` which also matches `a.b.example.com`), `**` matches
//! anything including separators, `?` one non-separator character; everything else literally.
//! A path glob ending in `/**` also matches the prefix itself (`/api/**` matches `/api`).
//! Hand-written rather than a glob crate because those compile to regexes, and the filter runs
//! one match per request per endpoint in wasm, where a few byte comparisons are cheapest.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
    /// Literal bytes every match starts with: most endpoints are rejected by this comparison
    /// without running the matcher.
    prefix: Vec<u8>,
    separator: Option<u8>,
    case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(u8),
    AnyOne,
    Star,
    DoubleStar,
}

impl Glob {
    /// A path glob: `*` stops at `/`, case-sensitive; must start with `/` or be `*`/`**`.
    pub fn path(text: &str) -> Result<Glob, String> {
        if !(text.starts_with('/') || text.starts_with('*')) {
            return Err(format!("path glob {text:?} must start with / or *"));
        }
        Ok(Glob::compile(text, Some(b'/'), false))
    }

    /// A host glob: case-insensitive, `*` matches across dots; no port, no scheme.
    pub fn host(text: &str) -> Result<Glob, String> {
        if text.is_empty() || text.contains('/') || text.contains(char::is_whitespace) {
            return Err(format!(
                "host glob {text:?} must be a host name pattern such as *.example.com"
            ));
        }
        Ok(Glob::compile(&text.to_ascii_lowercase(), None, true))
    }

    fn compile(text: &str, separator: Option<u8>, case_insensitive: bool) -> Glob {
        let bytes = text.as_bytes();
        let mut tokens = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'*' if bytes.get(i + 1) == Some(&b'*') => {
                    tokens.push(Token::DoubleStar);
                    i += 2;
                    while bytes.get(i) == Some(&b'*') {
                        i += 1;
                    }
                    continue;
                }
                b'*' => tokens.push(Token::Star),
                b'?' => tokens.push(Token::AnyOne),
                c => tokens.push(Token::Literal(c)),
            }
            i += 1;
        }
        // Literals up to the first wildcard, but not into a final `/**`, which may be absent.
        let n = tokens.len();
        let limit = if n >= 2 && tokens[n - 1] == Token::DoubleStar {
            n - 2
        } else {
            n
        };
        let prefix = tokens[..limit]
            .iter()
            .map_while(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect();
        Glob {
            text: text.to_string(),
            tokens,
            prefix,
            separator,
            case_insensitive,
        }
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `input` matches the whole glob.
    pub fn matches(&self, input: &str) -> bool {
        let input = input.as_bytes();
        let p = self.prefix.len();
        if input.len() < p
            || !input[..p]
                .iter()
                .zip(&self.prefix)
                .all(|(a, b)| self.byte_eq(*a, *b))
        {
            return false;
        }
        if self.tokens_match(&self.tokens, input) {
            return true;
        }
        // `/prefix/**` also matches `/prefix`.
        let n = self.tokens.len();
        n >= 2
            && self.tokens[n - 1] == Token::DoubleStar
            && self
                .separator
                .is_some_and(|s| self.tokens[n - 2] == Token::Literal(s))
            && self.tokens_match(&self.tokens[..n - 2], input)
    }

    /// Matching with memoisation over (token, position) so patterns with many stars stay linear
    /// in `tokens × input` instead of exponential.
    fn tokens_match(&self, tokens: &[Token], input: &[u8]) -> bool {
        let width = input.len() + 1;
        // reachable[j] == true: tokens[..t] can match input[..j].
        let mut reachable = vec![false; width];
        let mut next = vec![false; width];
        reachable[0] = true;
        for token in tokens {
            next.fill(false);
            match token {
                Token::Literal(c) => {
                    for j in 0..input.len() {
                        if reachable[j] && self.byte_eq(input[j], *c) {
                            next[j + 1] = true;
                        }
                    }
                }
                Token::AnyOne => {
                    for j in 0..input.len() {
                        if reachable[j] && Some(input[j]) != self.separator {
                            next[j + 1] = true;
                        }
                    }
                }
                Token::Star | Token::DoubleStar => {
                    let crosses = *token == Token::DoubleStar || self.separator.is_none();
                    let mut open = false;
                    for j in 0..width {
                        open |= reachable[j];
                        next[j] = open;
                        if j < input.len() && !crosses && Some(input[j]) == self.separator {
                            open = false;
                        }
                    }
                }
            }
            core::mem::swap(&mut reachable, &mut next);
        }
        reachable[input.len()]
    }

    fn byte_eq(&self, a: u8, b: u8) -> bool {
        if self.case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_star_stays_within_a_segment() {
        let g = Glob::path("/api/*/users/**").unwrap();
        assert!(g.matches("/api/v1/users/42/orders"));
        assert!(g.matches("/api/v1/users/"));
        assert!(g.matches("/api/v1/users"));
        assert!(!g.matches("/api/v1/extra/users/42"));
        assert!(!g.matches("/API/v1/users/42"));
        let g = Glob::path("/files/*.json").unwrap();
        assert!(g.matches("/files/a.json"));
        assert!(!g.matches("/files/a/b.json"));
    }

    #[test]
    fn double_star_and_question_mark() {
        assert!(Glob::path("**").unwrap().matches("/anything/at/all"));
        assert!(Glob::path("/**/health").unwrap().matches("/a/b/health"));
        assert!(Glob::path("/v?/x").unwrap().matches("/v2/x"));
        assert!(!Glob::path("/v?/x").unwrap().matches("/v/x"));
        assert!(!Glob::path("/v?/x").unwrap().matches("/v//x"));
        assert!(Glob::path("/api/**").unwrap().matches("/api"));
        assert!(!Glob::path("/api/**").unwrap().matches("/apis"));
        assert!(!Glob::path("/api/**").unwrap().matches("/ap"));
        assert!(Glob::path("/exact").unwrap().matches("/exact"));
        assert!(!Glob::path("/exact").unwrap().matches("/exact/more"));
    }

    #[test]
    fn hosts_are_case_insensitive_and_star_crosses_dots() {
        let g = Glob::host("*.Example.com").unwrap();
        assert!(g.matches("api.example.com"));
        assert!(g.matches("a.b.EXAMPLE.com"));
        assert!(!g.matches("example.com"));
        assert!(Glob::host("*").unwrap().matches("anything"));
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let g = Glob::path("/**a**a**a**a**a**a**a**b").unwrap();
        let input = format!("/{}", "a".repeat(5000));
        assert!(!g.matches(&input));
    }

    #[test]
    fn malformed_globs_are_rejected() {
        assert!(Glob::path("api/*").is_err());
        assert!(Glob::host("example.com/x").is_err());
        assert!(Glob::host("").is_err());
    }
}
