//! `schema.rs`: one `Shape` static per reachable shape and the `SERVICE` static.

use std::fmt::Write;

use super::{header, Ctx};
use crate::authorization::ActionRef;
use crate::model::{ShapeDef, ShapeType};
use crate::names::str_lit;

pub fn emit(ctx: &Ctx<'_>) -> String {
    let mut out = header(ctx);
    out.push_str(
        "//! Runtime schema of every shape the operations reach, and the operation table.\n\n\
         // Shapes name only what differs from `Shape::BASE`; the update stays even when nothing does.\n\
         #![allow(clippy::needless_update)]\n\n\
         use crate::schema::{AccessLevel, Authorization, ErrorInfo, Kind, Member, Operation, ResourceType, Service, Shape, TimestampFormat};\n\n",
    );
    let uses_timestamp_format = ctx.schema_shapes.iter().any(|n| {
        let s = ctx.shape(n);
        s.timestamp_format.is_some() || s.members.iter().any(|m| m.timestamp_format.is_some())
    });
    if !uses_timestamp_format {
        out = out.replace(", TimestampFormat}", "}");
    }
    out.push_str(&service(ctx));
    for name in &ctx.schema_shapes {
        out.push_str(&shape(ctx, ctx.shape(name)));
    }
    out
}

fn service(ctx: &Ctx<'_>) -> String {
    let m = ctx.model;
    let namespace = m
        .xml_namespace
        .as_deref()
        .or(ctx.spec.xml_namespace_fallback)
        .unwrap_or_default();
    let mut out = format!(
        "/// {} (`{}` {}).\npub static SERVICE: Service = Service {{\n\
         signing_name: {},\napi_version: {},\nxml_namespace: {},\ntarget_prefix: {},\noperations: &[\n",
        m.service_full_name,
        ctx.spec.module,
        m.api_version,
        str_lit(&m.signing_name),
        str_lit(&m.api_version),
        str_lit(namespace),
        opt_str(m.target_prefix.as_deref()),
    );
    for op in &m.operations {
        let errors: Vec<String> = op
            .errors
            .iter()
            .map(|e| format!("&{}", ctx.static_name(e)))
            .collect();
        let _ = writeln!(
            out,
            "Operation {{ name: {}, input: {}, output: {}, result_wrapper: {}, errors: &[{}], http_method: {}, authorization: {} }},",
            str_lit(&op.name),
            opt_ref(ctx, op.input.as_deref()),
            opt_ref(ctx, op.output.as_deref()),
            opt_str(op.result_wrapper.as_deref()),
            errors.join(", "),
            str_lit(&op.http_method),
            authorization(&ctx.authorization[&op.name]),
        );
    }
    out.push_str("],\n};\n\n");
    out
}

fn str_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| str_lit(s)).collect();
    format!("&[{}]", quoted.join(", "))
}

/// The operation's entry of the Service Authorization Reference, as an `Authorization` literal.
fn authorization(a: &ActionRef) -> String {
    let level = match a.access_level.as_str() {
        "Read" => "Read",
        "Write" => "Write",
        "List" => "List",
        "Tagging" => "Tagging",
        _ => "PermissionsManagement",
    };
    let resources: Vec<String> = a
        .resources
        .iter()
        .map(|r| {
            format!(
                "ResourceType {{ name: {}, required: {}, arn: {}, condition_keys: {} }}",
                str_lit(&r.name),
                r.required,
                str_lit(&r.arn),
                str_list(&r.condition_keys)
            )
        })
        .collect();
    format!(
        "&Authorization {{ action: {}, access_level: AccessLevel::{level}, resources: &[{}], condition_keys: {}, dependent_actions: {} }}",
        str_lit(&a.action),
        resources.join(", "),
        str_list(&a.condition_keys),
        str_list(&a.dependent_actions)
    )
}

fn shape(ctx: &Ctx<'_>, s: &ShapeDef) -> String {
    let kind =
        match s.ty {
            ShapeType::String => "Kind::String".to_owned(),
            ShapeType::Integer => "Kind::Integer".to_owned(),
            ShapeType::Long => "Kind::Long".to_owned(),
            ShapeType::Boolean => "Kind::Boolean".to_owned(),
            ShapeType::Float => "Kind::Float".to_owned(),
            ShapeType::Double => "Kind::Double".to_owned(),
            ShapeType::Timestamp => "Kind::Timestamp".to_owned(),
            ShapeType::Blob => "Kind::Blob".to_owned(),
            ShapeType::Structure => {
                let mut k = String::from("Kind::Structure { members: &[\n");
                for m in &s.members {
                    let ctor = format!(
                        "Member::{}({}, &{})",
                        if m.required { "required" } else { "optional" },
                        str_lit(&m.name),
                        ctx.static_name(&m.target)
                    );
                    let mut traits = String::new();
                    if let Some(l) = &m.location_name {
                        let _ = write!(traits, "location_name: Some({}), ", str_lit(l));
                    }
                    if m.flattened {
                        traits.push_str("flattened: true, ");
                    }
                    if m.idempotency_token {
                        traits.push_str("idempotency_token: true, ");
                    }
                    if let Some(f) = &m.timestamp_format {
                        let _ = write!(traits, "timestamp_format: Some({}), ", timestamp_format(f));
                    }
                    if traits.is_empty() {
                        let _ = writeln!(k, "{ctor},");
                    } else {
                        let _ = writeln!(k, "Member {{ {traits}..{ctor} }},");
                    }
                }
                k.push_str("] }");
                k
            }
            ShapeType::List => {
                let member = s.list_member.as_ref();
                format!(
                    "Kind::List {{ member: &{}, member_name: {}, flattened: {} }}",
                    ctx.static_name(member.map(|m| m.target.as_str()).unwrap_or_default()),
                    str_lit(
                        member
                            .and_then(|m| m.location_name.as_deref())
                            .unwrap_or("member")
                    ),
                    s.flattened,
                )
            }
            ShapeType::Map => {
                let key = s.map_key.as_ref();
                let value = s.map_value.as_ref();
                format!(
                "Kind::Map {{ key: &{}, value: &{}, key_name: {}, value_name: {}, flattened: {} }}",
                ctx.static_name(key.map(|m| m.target.as_str()).unwrap_or_default()),
                ctx.static_name(value.map(|m| m.target.as_str()).unwrap_or_default()),
                str_lit(key.and_then(|m| m.location_name.as_deref()).unwrap_or("key")),
                str_lit(value.and_then(|m| m.location_name.as_deref()).unwrap_or("value")),
                s.flattened,
            )
            }
        };
    let mut fields = format!("name: {},\nkind: {kind},\n", str_lit(&s.name));
    if let Some(min) = s.min {
        let _ = writeln!(fields, "min: Some({min}),");
    }
    if let Some(max) = s.max {
        let _ = writeln!(fields, "max: Some({max}),");
    }
    if let Some(p) = &s.pattern {
        let _ = writeln!(fields, "pattern: Some({}),", str_lit(p));
    }
    if !s.enum_values.is_empty() {
        let values: Vec<String> = s.enum_values.iter().map(|v| str_lit(v)).collect();
        let _ = writeln!(fields, "enum_values: &[{}],", values.join(", "));
    }
    if let Some((_, order)) = ctx
        .spec
        .enum_message_order
        .iter()
        .find(|(name, _)| *name == s.name)
    {
        let values: Vec<String> = order.iter().map(|v| str_lit(v)).collect();
        let _ = writeln!(fields, "enum_message_order: &[{}],", values.join(", "));
    }
    if ctx.is_sensitive(s) {
        fields.push_str("sensitive: true,\n");
    }
    if let Some(f) = &s.timestamp_format {
        let _ = writeln!(fields, "timestamp_format: Some({}),", timestamp_format(f));
    }
    if let Some(e) = &s.error {
        let _ = writeln!(
            fields,
            "error: Some(ErrorInfo {{ code: {}, http_status: {}, sender_fault: {} }}),",
            str_lit(&e.code),
            e.status,
            e.sender_fault
        );
    }
    format!(
        "pub static {}: Shape = Shape {{\n{fields}..Shape::BASE\n}};\n\n",
        ctx.static_name(&s.name)
    )
}

fn timestamp_format(f: &str) -> &'static str {
    match f {
        "unixTimestamp" => "TimestampFormat::EpochSeconds",
        "rfc822" => "TimestampFormat::HttpDate",
        _ => "TimestampFormat::DateTime",
    }
}

fn opt_ref(ctx: &Ctx<'_>, shape: Option<&str>) -> String {
    shape.map_or_else(
        || "None".to_owned(),
        |s| format!("Some(&{})", ctx.static_name(s)),
    )
}

fn opt_str(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), |s| format!("Some({})", str_lit(s)))
}
