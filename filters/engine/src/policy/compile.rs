//! Semantic validation of a [`PolicyDoc`] and its resolution into a [`Policy`]: every check that
//! serde's structure cannot express, each failing with the path of the field it is about.

use std::collections::{BTreeMap, BTreeSet};

use super::action::{Action, ActionRule, AttackAction};
use super::builtin::{builtin, builtin_ids, is_valid_id, CategoryKind};
use super::content::DEFAULT_CONTENT_KINDS;
use super::doc::{AttackLocation, AttacksDoc, CategoriesDoc, EndpointDoc, PolicyDoc};
use super::endpoint::{Attacks, Endpoint};
use super::error::PolicyError;
use super::glob::Glob;
use super::keypath::{normalize_key, KeyPath};
use super::rules::{CustomCategory, KeyRule, KeyRuleTarget};
use super::settings::check_settings;
use super::Policy;

type Result<T> = core::result::Result<T, PolicyError>;

/// Validates `doc` and builds the policy the filter queries.
pub(super) fn compile(doc: PolicyDoc) -> Result<Policy> {
    if let Some(v) = doc.version {
        if v != 1 {
            return Err(PolicyError::invalid(
                "version",
                format!("unsupported version {v} (expected 1)"),
            ));
        }
    }
    let custom = compile_custom(&doc.categories)?;
    let enabled = enabled_categories(&doc.categories, &custom)?;
    let known = |id: &str| builtin(id).is_some() || custom.iter().any(|c| c.id == id);
    for cat in doc.categories.allow.keys() {
        if !known(cat) {
            return Err(unknown_category(format!("categories.allow.{cat}"), cat));
        }
    }
    let key_rules = compile_key_rules(&doc.categories, &known)?;
    check_settings(&doc, &enabled)?;

    let defaults = &doc.defaults;
    for (field, set) in [
        ("name", defaults.name.is_some()),
        ("host", defaults.host.is_some()),
        ("path", defaults.path.is_some()),
        ("methods", defaults.methods.is_some()),
    ] {
        if set {
            return Err(PolicyError::invalid(
                format!("defaults.{field}"),
                "defaults apply to every endpoint and cannot be matched; set it on an endpoint",
            ));
        }
    }
    let default_endpoint =
        resolve_endpoint("defaults", defaults, &EndpointDoc::default(), &enabled)?;
    let endpoints = doc
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| resolve_endpoint(&format!("endpoints[{i}]"), e, defaults, &enabled))
        .collect::<Result<Vec<_>>>()?;
    let allow = allow_lists(&doc, &custom);
    Ok(Policy {
        enabled,
        allow,
        custom,
        key_rules,
        endpoints,
        default_endpoint,
        doc,
    })
}

fn unknown_category(path: String, id: &str) -> PolicyError {
    PolicyError::invalid(path, format!("unknown category {id:?}"))
}

fn compile_custom(cats: &CategoriesDoc) -> Result<Vec<CustomCategory>> {
    let mut out: Vec<CustomCategory> = Vec::new();
    for (i, c) in cats.custom.iter().enumerate() {
        let path = format!("categories.custom[{i}]");
        if !is_valid_id(&c.id) {
            return Err(PolicyError::invalid(
                format!("{path}.id"),
                format!(
                    "invalid id {:?} (expected [a-z][a-z0-9_]*, at most 64 chars)",
                    c.id
                ),
            ));
        }
        if builtin(&c.id).is_some() {
            return Err(PolicyError::invalid(
                format!("{path}.id"),
                format!("{:?} is a built-in category; choose another id", c.id),
            ));
        }
        if out.iter().any(|o| o.id == c.id) {
            return Err(PolicyError::invalid(
                format!("{path}.id"),
                format!("duplicate id {:?}", c.id),
            ));
        }
        out.push(CustomCategory::compile(c, &path)?);
    }
    Ok(out)
}

/// Built-ins on (`enable` or all, minus `disable`) plus every custom category.
fn enabled_categories(cats: &CategoriesDoc, custom: &[CustomCategory]) -> Result<BTreeSet<String>> {
    let check = |list: &[String], field: &str| -> Result<()> {
        for (i, id) in list.iter().enumerate() {
            if builtin(id).is_none() {
                let hint = if custom.iter().any(|c| &c.id == id) {
                    " (custom categories are always on; select them per endpoint)"
                } else {
                    ""
                };
                return Err(PolicyError::invalid(
                    format!("categories.{field}[{i}]"),
                    format!("unknown built-in category {id:?}{hint}"),
                ));
            }
        }
        Ok(())
    };
    check(&cats.disable, "disable")?;
    let mut enabled: BTreeSet<String> = match &cats.enable {
        Some(list) => {
            check(list, "enable")?;
            list.iter().cloned().collect()
        }
        None => builtin_ids(CategoryKind::Sensitive)
            .chain(builtin_ids(CategoryKind::Attack))
            .map(String::from)
            .collect(),
    };
    for (i, id) in cats.disable.iter().enumerate() {
        if cats.enable.as_ref().is_some_and(|e| e.contains(id)) {
            return Err(PolicyError::invalid(
                format!("categories.disable[{i}]"),
                format!("{id:?} is listed in both enable and disable"),
            ));
        }
        enabled.remove(id);
    }
    enabled.extend(custom.iter().map(|c| c.id.clone()));
    Ok(enabled)
}

fn compile_key_rules(cats: &CategoriesDoc, known: &dyn Fn(&str) -> bool) -> Result<Vec<KeyRule>> {
    let mut out = Vec::new();
    for (i, r) in cats.keys.iter().enumerate() {
        let path = format!("categories.keys[{i}]");
        let target = match (&r.key, &r.path) {
            (Some(k), None) if !normalize_key(k).is_empty() => KeyRuleTarget::Key(normalize_key(k)),
            (None, Some(p)) => KeyRuleTarget::Path(
                KeyPath::parse(p).map_err(|m| PolicyError::invalid(format!("{path}.path"), m))?,
            ),
            (Some(_), None) => {
                return Err(PolicyError::invalid(
                    format!("{path}.key"),
                    "key must contain a letter or digit",
                ))
            }
            _ => return Err(PolicyError::invalid(path, "set exactly one of key or path")),
        };
        if !known(&r.category) || is_attack(&r.category) {
            return Err(unknown_category(format!("{path}.category"), &r.category));
        }
        out.push(KeyRule {
            target,
            category: r.category.clone(),
        });
    }
    Ok(out)
}

fn is_attack(id: &str) -> bool {
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

fn resolve_endpoint(
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

/// Looks up an allow list (exact values never reported) per category.
fn allow_lists(doc: &PolicyDoc, custom: &[CustomCategory]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (cat, values) in &doc.categories.allow {
        out.entry(cat.clone())
            .or_default()
            .extend(values.iter().cloned());
    }
    for c in custom {
        out.entry(c.id.clone())
            .or_default()
            .extend(c.spec.allow.iter().cloned());
    }
    out.retain(|_, v| !v.is_empty());
    out
}
