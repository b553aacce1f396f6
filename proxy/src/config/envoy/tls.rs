//! `envoy.transport_sockets.tls`: `DownstreamTlsContext` and `UpstreamTlsContext`. Security
//! settings we do not implement (SAN matchers, CRLs, SDS, pinning…) are errors, never ignored.

use super::typed::typed;
use super::value::{At, Fields, Obj};
use crate::config::error::FieldResult;
use crate::config::files::Resolver;
use crate::config::model::{DataSource, DownstreamTls, Secret, UpstreamTls};

const SECURITY: &str = "affects security";
const DOWNSTREAM: &str = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const UPSTREAM: &str = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

/// The `typed_config` of a `transport_socket`, checked to be `type`.
fn tls_context<'a>(at: &At<'a>, expected: &str) -> FieldResult<Obj<'a>> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["name", "typed_config"],
        cosmetic: &[],
        ignored: &[],
        effect: SECURITY,
    })?;
    let (ty, ctx) = typed(&o.req("typed_config")?)?;
    if ty != expected {
        return Err(o.req("typed_config")?.err(format!(
            "unsupported transport socket {ty:?} (expected {expected})"
        )));
    }
    Ok(ctx)
}

/// A listener's `transport_socket`.
pub fn downstream(at: &At, files: &Resolver) -> FieldResult<DownstreamTls> {
    let ctx = tls_context(at, DOWNSTREAM)?;
    ctx.fields(&Fields {
        known: &["common_tls_context", "require_client_certificate"],
        cosmetic: &[
            "session_ticket_keys",
            "disable_stateless_session_resumption",
            "session_timeout",
            "ocsp_staple_policy",
        ],
        ignored: &[],
        effect: SECURITY,
    })?;
    let common = Common::parse(&ctx.req("common_tls_context")?, files)?;
    let Some((cert_chain, key)) = common.cert else {
        return Err(
            ctx.err("common_tls_context.tls_certificates: a server certificate is required")
        );
    };
    let require_client_cert = ctx
        .get("require_client_certificate")
        .map(|b| b.bool_wrapper())
        .transpose()?
        .unwrap_or(false);
    if require_client_cert && common.ca.is_none() {
        return Err(ctx.err(
            "require_client_certificate needs common_tls_context.validation_context.trusted_ca",
        ));
    }
    Ok(DownstreamTls {
        cert_chain,
        key,
        client_ca: common.ca,
        require_client_cert,
        alpn: common.alpn,
    })
}

/// A cluster's `transport_socket`.
pub fn upstream(at: &At, files: &Resolver) -> FieldResult<UpstreamTls> {
    let ctx = tls_context(at, UPSTREAM)?;
    ctx.fields(&Fields {
        known: &["common_tls_context", "sni"],
        cosmetic: &["allow_renegotiation", "max_session_keys"],
        ignored: &[],
        effect: SECURITY,
    })?;
    let common = match ctx.get("common_tls_context") {
        Some(c) => Common::parse(&c, files)?,
        None => Common::default(),
    };
    Ok(UpstreamTls {
        sni: ctx
            .get("sni")
            .map(|s| s.str().map(str::to_owned))
            .transpose()?,
        ca: common.ca,
        client_cert: common.cert,
        alpn: common.alpn,
    })
}

/// The parts of `CommonTlsContext` we implement.
#[derive(Default)]
struct Common {
    cert: Option<(DataSource, Secret)>,
    ca: Option<DataSource>,
    alpn: Vec<String>,
}

impl Common {
    fn parse(at: &At, files: &Resolver) -> FieldResult<Common> {
        let o = at.obj()?;
        o.fields(&Fields {
            known: &["tls_certificates", "validation_context", "alpn_protocols"],
            cosmetic: &["tls_params"],
            ignored: &[],
            effect: SECURITY,
        })?;
        let mut common = Common::default();
        if let Some(certs) = o.get("tls_certificates") {
            let certs = certs.list()?;
            if certs.len() > 1 {
                return Err(certs[1].err("only one certificate is supported"));
            }
            if let Some(c) = certs.first() {
                let c = c.obj()?;
                c.fields(&Fields {
                    known: &["certificate_chain", "private_key"],
                    cosmetic: &[],
                    ignored: &[],
                    effect: SECURITY,
                })?;
                common.cert = Some((
                    c.req("certificate_chain")?.data_source(files)?,
                    Secret(c.req("private_key")?.data_source(files)?),
                ));
            }
        }
        if let Some(v) = o.get("validation_context") {
            let v = v.obj()?;
            v.fields(&Fields {
                known: &["trusted_ca"],
                cosmetic: &[],
                ignored: &[],
                effect: SECURITY,
            })?;
            common.ca = v
                .get("trusted_ca")
                .map(|ca| ca.data_source(files))
                .transpose()?;
        }
        if let Some(alpn) = o.get("alpn_protocols") {
            common.alpn = alpn_list(&alpn)?;
        }
        Ok(common)
    }
}

/// `alpn_protocols`: a list, or (older configs) one comma-separated string.
fn alpn_list(at: &At) -> FieldResult<Vec<String>> {
    if let Ok(s) = at.str() {
        return Ok(s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect());
    }
    match at.v {
        serde_json::Value::Array(_) => at
            .list()?
            .iter()
            .map(|p| p.str().map(str::to_owned))
            .collect(),
        _ => Err(at.err("expected a list of protocol names")),
    }
}
