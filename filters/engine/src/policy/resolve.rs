//! Resolution of `defaults` and `endpoints` into [`Endpoint`]s: matchers compiled, settings
//! inherited from `defaults`, category lists checked against what is enabled.

use std::collections::BTreeSet;

use super::action::{Action, ActionRule, AttackAction};
use super::builtin::{builtin, CategoryKind};
use super::content::DEFAULT_CONTENT_KINDS;
use super::doc::{AttackLocation, AttacksDoc, EndpointDoc};
use super::endpoint::{Attacks, Endpoint};
use super::error::PolicyError;
use super::glob::Glob;

type Result<T> = core::result::Result<T, PolicyError>;

fn unknown_category(path: String, id: &str) -> PolicyError {
    PolicyError::invalid(path, format!("unknown category {id:?}"))
}

pub(super) fn is_attack(id: &str) -> bool {
    builtin(id).is_some_and(|b| b.kind == CategoryKind::Attack)
}

/// Checks a list of category ids against the enabled set; `attack` selects which kind is
/// expected. Returns the ids as a set.
fn category_set(
    path: &str,
    list: &[String],
    enabled: &BTreeSet<String>,
    attack: bool,
) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for (i, id) in list.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let is_known = builtin(id).is_some() || enabled.contains(id);
        if !is_known {
            return Err(unknown_category(p, id));
        }
        if is_attack(id) != attack {
            let msg = if attack {
                format!("{id:?} is not an attack category")
            } else {
                format!("{id:?} is an attack category; configure it under attacks")
            };
            return Err(PolicyError::invalid(p, msg));
        }
        if enabled.contains(id) {
            out.insert(id.clone());
        }
    }
    Ok(out)
}

pub(super) fn resolve_endpoint(
    path: &str,
    e: &EndpointDoc,
    defaults: &EndpointDoc,
    enabled: &BTreeSet<String>,
) -> Result<Endpoint> {
    let field = |f: &str| format!("{path}.{f}");
    let host = e
        .host
        .as_deref()
        .map(Glob::host)
        .transpose()
        .map_err(|m| PolicyError::invalid(field("host"), m))?;
    let glob = e
        .path
        .as_deref()
        .map(Glob::path)
        .transpose()
        .map_err(|m| PolicyError::invalid(field("path"), m))?;
    let methods = match &e.methods {
        None => None,
        Some(ms) if ms.is_empty() => {
            return Err(PolicyError::invalid(
                field("methods"),
                "empty list would match no request; omit it to match every method",
            ))
        }
        Some(ms) => Some(
            ms.iter()
                .enumerate()
                .map(|(i, m)| {
                    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
                        Err(PolicyError::invalid(
                            format!("{path}.methods[{i}]"),
                            format!("invalid HTTP method {m:?}"),
                        ))
                    } else {
                        Ok(m.to_ascii_uppercase())
                    }
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let sensitive: BTreeSet<String> = enabled.iter().filter(|c| !is_attack(c)).cloned().collect();
    let categories = match (&e.categories, &defaults.categories) {
        (Some(list), _) => category_set(&field("categories"), list, &sensitive, false)?,
        (None, Some(list)) => category_set("defaults.categories", list, &sensitive, false)?,
        (None, None) => sensitive,
    };
    let mut actions = defaults.actions.clone();
    for (cat, rule) in &e.actions {
        let p = format!("{path}.actions.{cat}");
        if builtin(cat).is_none() && !enabled.contains(cat) {
            return Err(unknown_category(p, cat));
        }
        if is_attack(cat) {
            return Err(PolicyError::invalid(
                p,
                format!("{cat:?} is an attack category; set attacks.action instead"),
            ));
        }
        actions.insert(cat.clone(), *rule);
    }
    let default_action = e
        .default_action
        .or(defaults.default_action)
        .unwrap_or(ActionRule::always(Action::Alert));
    let content_types = e.content_types.as_ref().or(defaults.content_types.as_ref());
    if content_types.is_some_and(Vec::is_empty) {
        return Err(PolicyError::invalid(
            field("content_types"),
            "empty list; omit it to inspect the default types",
        ));
    }
    let name = e
        .name
        .clone()
        .or_else(|| e.path.clone())
        .unwrap_or_else(|| "default".into());
    Ok(Endpoint {
        name,
        named: e.name.is_some(),
        host,
        path: glob,
        methods,
        categories,
        actions,
        default_action,
        content_types: content_types
            .cloned()
            .unwrap_or_else(|| DEFAULT_CONTENT_KINDS.to_vec()),
        scan_requests: e.scan_requests.or(defaults.scan_requests).unwrap_or(false),
        attacks: resolve_attacks(path, e.attacks.as_ref(), defaults.attacks.as_ref(), enabled)?,
    })
}

/// Endpoint attack settings over default ones over built-in defaults (on, alert, everywhere).
fn resolve_attacks(
    path: &str,
    own: Option<&AttacksDoc>,
    defaults: Option<&AttacksDoc>,
    enabled: &BTreeSet<String>,
) -> Result<Attacks> {
    let pick =
        |f: fn(&AttacksDoc) -> bool| own.filter(|a| f(a)).map(|_| path).unwrap_or("defaults");
    let over = |a: Option<&AttacksDoc>, b: Option<&AttacksDoc>| -> AttacksDoc {
        let a = a.cloned().unwrap_or_default();
        let b = b.cloned().unwrap_or_default();
        AttacksDoc {
            enabled: a.enabled.or(b.enabled),
            action: a.action.or(b.action),
            inspect: a.inspect.or(b.inspect),
            categories: a.categories.or(b.categories),
        }
    };
    let merged = over(own, defaults);
    let inspect = merged.inspect.clone().unwrap_or_else(|| {
        vec![
            AttackLocation::Path,
            AttackLocation::Query,
            AttackLocation::Headers,
            AttackLocation::Body,
        ]
    });
    let from = pick(|a| a.inspect.is_some());
    if inspect.is_empty() {
        return Err(PolicyError::invalid(
            format!("{from}.attacks.inspect"),
            "empty list; set enabled: false to turn attacks off",
        ));
    }
    let attacks: BTreeSet<String> = enabled.iter().filter(|c| is_attack(c)).cloned().collect();
    let categories = match &merged.categories {
        Some(list) => category_set(
            &format!("{}.attacks.categories", pick(|a| a.categories.is_some())),
            list,
            &attacks,
            true,
        )?,
        None => attacks,
    };
    Ok(Attacks {
        enabled: merged.enabled.unwrap_or(true),
        action: merged.action.unwrap_or(AttackAction::Alert),
        inspect,
        categories,
    })
}
