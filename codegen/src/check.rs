//! Refuses models whose names would collide once turned into Rust identifiers: a collision must
//! be resolved explicitly in `overrides.rs`, never by silently generating broken code.

use std::collections::BTreeMap;

use crate::emit::Ctx;
use crate::names::{error_variant, field_ident, snake_case, type_ident, variant_ident};

/// Names the generated `shapes.rs` imports or relies on.
const RESERVED_TYPES: &[&str] = &[
    "BTreeMap",
    "Blob",
    "Box",
    "Default",
    "Deserialize",
    "Option",
    "Result",
    "Sensitive",
    "Serialize",
    "String",
    "Timestamp",
    "Vec",
];

pub fn identifiers(ctx: &Ctx<'_>) -> Result<(), String> {
    unique(
        "schema static",
        ctx.schema_shapes
            .iter()
            .map(|n| (ctx.static_name(n), n.clone())),
    )?;
    unique(
        "type",
        ctx.structures()
            .chain(ctx.enums())
            .map(|s| (type_ident(&s.name), s.name.clone())),
    )?;
    for s in ctx.structures().chain(ctx.enums()) {
        let ty = type_ident(&s.name);
        if RESERVED_TYPES.contains(&ty.as_str()) {
            return Err(format!("shape {} would shadow the Rust type {ty}", s.name));
        }
    }
    for s in ctx.structures() {
        unique(
            &format!("field of {}", s.name),
            s.members
                .iter()
                .map(|m| (field_ident(&m.name), m.name.clone())),
        )?;
    }
    for s in ctx.enums() {
        unique(
            &format!("variant of {}", s.name),
            s.enum_values.iter().map(|v| (variant_ident(v), v.clone())),
        )?;
    }
    let builtin = ["Validation", "Other"].map(|v| (v.to_owned(), format!("builtin {v}")));
    unique(
        "error variant",
        ctx.errors()
            .map(|e| (error_variant(&e.name), e.name.clone()))
            .chain(builtin),
    )?;
    let methods =
        ["validation", "not_implemented", "message"].map(|v| (v.to_owned(), v.to_owned()));
    unique(
        "error constructor",
        ctx.errors()
            .map(|e| (snake_case(&error_variant(&e.name)), e.name.clone()))
            .chain(methods),
    )?;
    unique(
        "operation method",
        ctx.model
            .operations
            .iter()
            .map(|o| (field_ident(&o.name), o.name.clone())),
    )?;
    Ok(())
}

fn unique(what: &str, items: impl Iterator<Item = (String, String)>) -> Result<(), String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (ident, source) in items {
        if let Some(prev) = seen.insert(ident.clone(), source.clone()) {
            return Err(format!(
                "{what} `{ident}` comes from both {prev} and {source}"
            ));
        }
    }
    Ok(())
}

/// An `enum_message_order` override must name an enum shape and list exactly its values: a model
/// update that adds or drops one must be looked at, not silently misreported.
pub fn enum_message_orders(ctx: &Ctx<'_>) -> Result<(), String> {
    for (name, order) in ctx.spec.enum_message_order {
        let shape = ctx
            .enums()
            .find(|s| s.name == *name)
            .ok_or_else(|| format!("enum_message_order names {name}, not an enum of the model"))?;
        let mut listed: Vec<&str> = order.to_vec();
        let mut modeled: Vec<&str> = shape.enum_values.iter().map(String::as_str).collect();
        listed.sort_unstable();
        modeled.sort_unstable();
        if listed != modeled {
            return Err(format!(
                "enum_message_order of {name} lists {listed:?}, the model has {modeled:?}"
            ));
        }
    }
    Ok(())
}
