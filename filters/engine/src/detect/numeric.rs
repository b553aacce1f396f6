//! Classifies a run of digits and separators found by the DFA: card numbers, dashed SSNs and
//! phone numbers are recognised by their *shape* plus a validator. Bare 9- or 10-digit numbers
//! and dates are too ambiguous alone; they are reported only with key context (see `keys`).

use super::{validate, CategoryId};

/// Up to this many digit groups are examined; longer runs are number lists, not identifiers.
const MAX_GROUPS: usize = 12;

struct Shape {
    digits: [u8; 40],
    n_digits: usize,
    groups: [u8; MAX_GROUPS],
    n_groups: usize,
    /// The separator before group i (i ≥ 1); `b')'` stands for `) ` or `)`.
    seps: [u8; MAX_GROUPS],
    plus: bool,
    paren: bool,
}

fn shape(run: &[u8]) -> Option<Shape> {
    let mut s = Shape {
        digits: [0; 40],
        n_digits: 0,
        groups: [0; MAX_GROUPS],
        n_groups: 0,
        seps: [0; MAX_GROUPS],
        plus: run.first() == Some(&b'+'),
        paren: run.contains(&b'('),
    };
    let mut in_group = false;
    let mut sep = 0u8;
    for &b in run {
        if b.is_ascii_digit() {
            if !in_group {
                if s.n_groups == MAX_GROUPS {
                    return None;
                }
                s.seps[s.n_groups] = sep;
                s.n_groups += 1;
                in_group = true;
                sep = 0;
            }
            if s.n_digits == s.digits.len() {
                return None;
            }
            s.digits[s.n_digits] = b;
            s.n_digits += 1;
            s.groups[s.n_groups - 1] += 1;
        } else {
            in_group = false;
            if sep != b')' {
                sep = if b == b'(' { b' ' } else { b };
            }
        }
    }
    Some(s)
}

impl Shape {
    fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }
    fn groups(&self) -> &[u8] {
        &self.groups[..self.n_groups]
    }
    /// All separators equal to one of `allowed` and to each other.
    fn uniform_sep(&self, allowed: &[u8]) -> bool {
        let seps = &self.seps[1..self.n_groups];
        seps.first()
            .is_none_or(|s| allowed.contains(s) && seps.iter().all(|x| x == s))
    }
}

/// The category of a whole numeric run, if its shape and checksum say so.
pub fn classify(run: &[u8]) -> Option<CategoryId> {
    let s = shape(run)?;
    let g = s.groups();
    if !s.plus && !s.paren {
        if (13..=19).contains(&s.n_digits)
            && s.uniform_sep(b" -")
            && card_grouping(g)
            && validate::card(s.digits())
        {
            return Some(CategoryId::CREDIT_CARD);
        }
        if g == [3, 2, 4] && s.uniform_sep(b"- ") && validate::ssn(s.digits()) {
            return Some(CategoryId::US_SSN);
        }
    }
    phone(&s).then_some(CategoryId::PHONE_NUMBER)
}

fn card_grouping(g: &[u8]) -> bool {
    match g {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&x| x == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// NANP formats (`(415) 555-0132`, `415-555-0132`, `415.555.0132`, `+1 415 555 0132`) with
/// valid area/exchange first digits, or `+`-prefixed international numbers of 8–15 digits.
fn phone(s: &Shape) -> bool {
    let g = s.groups();
    let d = s.digits();
    let nanp = |g: &[u8], d: &[u8]| g == [3, 3, 4] && d[0] >= b'2' && d[3] >= b'2';
    // Separators between area/exchange/line: `) ` / `)-` after a parenthesised area code,
    // or one of `-`, `.`, space used consistently.
    let nanp_seps = |x: &[u8]| match x {
        [b')', b'-' | b' ' | b')'] => s.paren,
        [a, b] => a == b && matches!(a, b'-' | b'.' | b' ') && !s.paren,
        _ => false,
    };
    let seps = &s.seps[1..s.n_groups];
    match g {
        [3, 3, 4] if !s.plus => nanp_seps(seps) && nanp(g, d),
        [1, 3, 3, 4] if d[0] == b'1' => {
            matches!(seps[0], b' ' | b'-' | b'.') && nanp_seps(&seps[1..]) && nanp(&g[1..], &d[1..])
        }
        _ if s.plus => {
            (8..=15).contains(&s.n_digits)
                && d[0] != b'0'
                && (g.len() == 1 && s.n_digits >= 10
                    || g.len() >= 2 && g[1..].iter().all(|&x| x >= 2))
                && seps.iter().all(|&x| matches!(x, b' ' | b'-' | b'.' | b')'))
        }
        _ => false,
    }
}

/// Classifies `run`, or, when the whole run means nothing, its longest space-separated
/// sub-runs from left to right (`"qty 2 4111 1111 1111 1111 exp 12/27"` style text).
/// Calls `emit(start, end, category)` with offsets relative to `run`.
pub fn classify_run(run: &[u8], mut emit: impl FnMut(usize, usize, CategoryId)) {
    if let Some(c) = classify(run) {
        emit(0, run.len(), c);
        return;
    }
    if !run.contains(&b' ') {
        return;
    }
    let mut toks: [(usize, usize); MAX_GROUPS] = [(0, 0); MAX_GROUPS];
    let mut n = 0;
    let mut start = 0;
    for (i, &b) in run.iter().enumerate().chain([(run.len(), &b' ')]) {
        if b == b' ' {
            if i > start {
                if n == MAX_GROUPS {
                    return;
                }
                toks[n] = (start, i);
                n += 1;
            }
            start = i + 1;
        }
    }
    let mut i = 0;
    while i < n {
        let mut next = i + 1;
        for j in (i + 1..=n).rev() {
            if j - i == n {
                continue; // the whole run was tried above
            }
            let (a, b) = (toks[i].0, toks[j - 1].1);
            let sub = &run[a..b];
            if sub[0].is_ascii_digit() || sub[0] == b'+' || sub[0] == b'(' {
                if let Some(c) = classify(sub) {
                    emit(a, b, c);
                    next = j;
                    break;
                }
            }
        }
        i = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<&'static str> {
        classify(s.as_bytes()).map(CategoryId::as_str)
    }

    #[test]
    fn shapes() {
        assert_eq!(c("4111 1111 1111 1111"), Some("credit_card"));
        assert_eq!(c("4111-1111-1111-1111"), Some("credit_card"));
        assert_eq!(c("3782 822463 10005"), Some("credit_card"));
        assert_eq!(c("4111 1111-1111 1111"), None, "mixed separators");
        assert_eq!(c("536-22-5314"), Some("us_ssn"));
        assert_eq!(c("(415) 555-0132"), Some("phone_number"));
        assert_eq!(c("415.555.0132"), Some("phone_number"));
        assert_eq!(c("+1 415 555 0132"), Some("phone_number"));
        assert_eq!(c("+44 20 7946 0958"), Some("phone_number"));
        assert_eq!(c("+14155550132"), Some("phone_number"));
        assert_eq!(c("1 415 555 0132"), Some("phone_number"));
        assert_eq!(c("192.168.100.200"), None);
        assert_eq!(c("10.0.19041.1"), None);
        assert_eq!(c("1700000000"), None);
        assert_eq!(c("2024-01-15"), None);
    }

    #[test]
    fn sub_runs() {
        let run = b"2 4111 1111 1111 1111 12/27";
        let mut got = Vec::new();
        classify_run(run, |a, b, c| got.push((a, b, c)));
        assert_eq!(got, vec![(2, 21, CategoryId::CREDIT_CARD)]);
    }
}
