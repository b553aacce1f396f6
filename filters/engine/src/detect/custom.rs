//! Custom categories from the policy, compiled when the policy loads.
//!
//! Built-ins are prebuilt full DFAs; custom patterns cannot be (they arrive at run time), so they
//! use regex-automata's **lazy DFA** (`hybrid`): determinized on demand into a bounded cache.
//! Why not a full DFA (`dfa-build`) at run time: determinizing an arbitrary user regex can take
//! exponential time and memory during `on_configure`; the lazy DFA's cost is bounded by the
//! input actually scanned and its cache size. Why not `meta`: it pulls in the PikeVM,
//! backtracker and literal prefilters (Teddy/aho-corasick, measured 27–40× slower in wasm than
//! natively) and makes the module larger for no gain on short values. Caches are per thread via regex-automata's
//! `Pool`, so a shared `Detector` stays immutable.

use std::sync::Arc;

use regex_automata::{
    hybrid::regex::{Cache, Regex},
    nfa::thompson,
    util::{pool::Pool, syntax},
    Input, MatchKind,
};

use super::{
    config::{CustomCategory, CustomPattern, DetectError, Validator},
    keys, validate, CategoryId, FieldContext, Finding,
};

type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync>>;

struct Custom {
    id: CategoryId,
    validator: Option<Validator>,
    allow: Vec<Vec<u8>>,
    except: Vec<String>,
    keys: Vec<String>,
}

/// All custom categories of one policy: one multi-pattern lazy DFA, pattern i = category i.
pub struct CustomSet {
    re: Arc<Regex>,
    pool: CachePool,
    cats: Vec<Custom>,
}

fn escape(lit: &str) -> String {
    let mut s = String::with_capacity(lit.len() * 2);
    for c in lit.chars() {
        if "\\.+*?()|[]{}^$#&-~ ".contains(c) {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl CustomSet {
    /// Compiles the custom categories; `None` when there are none.
    pub fn new(defs: &[CustomCategory]) -> Result<Option<CustomSet>, DetectError> {
        if defs.is_empty() {
            return Ok(None);
        }
        let mut pats = Vec::with_capacity(defs.len());
        let mut cats: Vec<Custom> = Vec::with_capacity(defs.len());
        for d in defs {
            if !valid_id(&d.id) {
                return Err(DetectError::InvalidId(d.id.clone()));
            }
            let id = CategoryId::intern_custom(&d.id)
                .ok_or_else(|| DetectError::DuplicateCategory(d.id.clone()))?;
            if cats.iter().any(|c| c.id == id) {
                return Err(DetectError::DuplicateCategory(d.id.clone()));
            }
            let pat = match &d.pattern {
                CustomPattern::Regex(r) => {
                    // Compile alone first so an error names the right category.
                    Self::build(&[r.as_str()]).map_err(|message| DetectError::Pattern {
                        id: d.id.clone(),
                        message,
                    })?;
                    r.clone()
                }
                CustomPattern::Literals(l) if l.is_empty() || l.iter().any(String::is_empty) => {
                    return Err(DetectError::EmptyLiterals(d.id.clone()))
                }
                CustomPattern::Literals(l) => {
                    l.iter().map(|x| escape(x)).collect::<Vec<_>>().join("|")
                }
            };
            pats.push(pat);
            cats.push(Custom {
                id,
                validator: d.validator,
                allow: d.allow.iter().map(|a| a.as_bytes().to_vec()).collect(),
                except: d.except.clone(),
                keys: d.keys.clone(),
            });
        }
        let refs: Vec<&str> = pats.iter().map(String::as_str).collect();
        let re = Self::build(&refs).map_err(|message| DetectError::Pattern {
            id: defs[0].id.clone(),
            message,
        })?;
        let re = Arc::new(re);
        let re2 = Arc::clone(&re);
        let pool: CachePool = Pool::new(Box::new(move || re2.create_cache()));
        Ok(Some(CustomSet { re, pool, cats }))
    }

    fn build(pats: &[&str]) -> Result<Regex, String> {
        Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .dfa(regex_automata::hybrid::dfa::Config::new().match_kind(MatchKind::LeftmostFirst))
            .build_many(pats)
            .map_err(|e| e.to_string())
    }

    /// Reports custom matches in `buf`; `ctx` decides `keys`/`except` (`None` = raw scan).
    pub fn scan(&self, buf: &[u8], ctx: Option<&FieldContext<'_>>, out: &mut Vec<Finding>) {
        let mut cache = self.pool.get();
        let mut pos = 0;
        while pos <= buf.len() {
            let m = match self
                .re
                .try_search(&mut cache, &Input::new(buf).range(pos..))
            {
                Ok(Some(m)) => m,
                _ => break,
            };
            pos = if m.is_empty() { m.end() + 1 } else { m.end() };
            let Some(c) = self.cats.get(m.pattern().as_usize()) else {
                continue;
            };
            let v = &buf[m.range()];
            if v.is_empty()
                || c.allow.iter().any(|a| a == v)
                || !c.context_ok(ctx)
                || !c.validator.is_none_or(|val| check(val, v))
            {
                continue;
            }
            out.push(Finding {
                category: c.id,
                start: m.start(),
                end: m.end(),
            });
        }
    }
}

impl Custom {
    fn context_ok(&self, ctx: Option<&FieldContext<'_>>) -> bool {
        let hit = |list: &[String]| ctx.is_some_and(|c| list.iter().any(|k| c.matches_key(k)));
        !hit(&self.except) && (self.keys.is_empty() || hit(&self.keys))
    }
}

/// Runs a policy-chosen validator on a match.
pub fn check(v: Validator, s: &[u8]) -> bool {
    let digits: Vec<u8> = s.iter().copied().filter(u8::is_ascii_digit).collect();
    match v {
        Validator::Luhn => digits.len() >= 2 && validate::luhn(&digits),
        Validator::Ssn => validate::ssn(&digits),
        Validator::Aba => validate::aba(&digits),
        Validator::Iban => {
            let compact: Vec<u8> = s.iter().copied().filter(|&b| b != b' ').collect();
            validate::iban(&compact)
        }
        Validator::Jwt => validate::jwt(s),
        Validator::Entropy { min_bits_per_char } => validate::entropy(s) >= min_bits_per_char,
    }
}

/// True when `pattern` names this key (case-insensitive, separators ignored) or path (`$…`).
pub fn key_matches(ctx: &FieldContext<'_>, pattern: &str) -> bool {
    if pattern.starts_with('$') {
        return ctx.path == Some(pattern);
    }
    let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
    match (
        ctx.key.and_then(|k| keys::normalize(k, &mut a)),
        keys::normalize(pattern, &mut b),
    ) {
        (Some(n), Some(m)) => n > 0 && a[..n] == b[..m],
        _ => false,
    }
}
