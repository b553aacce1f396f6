//! Semantic validation of a [`PolicyDoc`] and its resolution into a [`Policy`]: every check that
//! serde's structure cannot express, each failing with the path of the field it is about.

use std::collections::{BTreeMap, BTreeSet};

use super::builtin::{builtin, builtin_ids, is_valid_id, CategoryKind};
use super::doc::{CategoriesDoc, EndpointDoc, PolicyDoc};
use super::error::PolicyError;
use super::keypath::{normalize_key, KeyPath};
use super::resolve::{is_attack, resolve_endpoint};
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
