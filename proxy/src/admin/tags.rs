//! Envoy stats-tag extraction for filter-defined metric names.
//!
//! Envoy semantics (`TagExtractorImpl::extractTag`): each `stats_tags` regex is searched in the
//! metric name; if it matches with at least one capture group, the tag value is the second group
//! if the regex has one, else the first; the text matched by the **first** group is removed from
//! the name. So `(_value=([a-z]+))` turns `reqs_value=foo` into `reqs{value="foo"}`, while
//! `_value=([a-z]+)` removes only `foo` and leaves `reqs_value=` (then sanitized to
//! `reqs_value_`), exactly as Envoy would. Every extractor runs on the original name and the
//! removals are applied together, as Envoy does.

use crate::config::StatsTag;

/// A metric name split into its tag-extracted name and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// Sanitized for Prometheus (`[a-zA-Z0-9_:]`, not starting with a digit).
    pub name: String,
    /// `(tag_name, value)` in extractor order.
    pub tags: Vec<(String, String)>,
}

/// Applies `extractors` to `name`.
pub fn extract(name: &str, extractors: &[StatsTag]) -> Tagged {
    let mut tags = Vec::new();
    let mut removed: Vec<(usize, usize)> = Vec::new();
    for tag in extractors {
        let Some(caps) = tag.regex.regex().captures(name) else {
            continue;
        };
        let Some(remove) = caps.get(1) else {
            continue;
        };
        let value = caps.get(2).unwrap_or(remove);
        if tags
            .iter()
            .any(|(n, _): &(String, String)| *n == tag.tag_name)
        {
            continue;
        }
        tags.push((tag.tag_name.clone(), value.as_str().to_owned()));
        removed.push((remove.start(), remove.end()));
    }
    let kept: String = name
        .char_indices()
        .filter(|(i, _)| !removed.iter().any(|(s, e)| (*s..*e).contains(i)))
        .map(|(_, c)| c)
        .collect();
    Tagged {
        name: sanitize(&kept),
        tags,
    }
}

/// Prometheus metric names: any other character becomes `_` (as Envoy's exporter does).
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pattern;

    fn tag(name: &str, re: &str) -> StatsTag {
        StatsTag {
            tag_name: name.into(),
            regex: Pattern::search(re).unwrap(),
        }
    }

    #[test]
    fn second_group_is_the_value_first_is_removed() {
        let t = extract("reqs_value=foo", &[tag("value", "(_value=([a-z]+))")]);
        assert_eq!(t.name, "reqs");
        assert_eq!(t.tags, vec![("value".into(), "foo".into())]);
    }

    #[test]
    fn single_group_is_both_value_and_removed_part() {
        let t = extract("reqs_value=foo", &[tag("value", "_value=([a-z]+)")]);
        assert_eq!(t.name, "reqs_value_");
        assert_eq!(t.tags, vec![("value".into(), "foo".into())]);
    }

    #[test]
    fn several_extractors_and_no_match() {
        let tags = [
            tag("route", "(\\.route=([a-z]+))"),
            tag("code", "(\\.code=([0-9]+))"),
        ];
        let t = extract("waf.route=login.code=403.blocks", &tags);
        assert_eq!(t.name, "waf_blocks");
        assert_eq!(
            t.tags,
            vec![
                ("route".into(), "login".into()),
                ("code".into(), "403".into())
            ]
        );
        let plain = extract("requests_total", &tags);
        assert_eq!(
            (plain.name.as_str(), plain.tags.len()),
            ("requests_total", 0)
        );
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("a.b-c"), "a_b_c");
        assert_eq!(sanitize("9lives"), "_9lives");
    }
}
