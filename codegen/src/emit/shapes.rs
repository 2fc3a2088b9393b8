//! `shapes.rs`: a Rust struct per structure and a Rust enum per string enum.
//!
//! Their serde form is the canonical JSON 1.1 value; the wire layer converts Query/XML to and from
//! it with the schema statics.

use std::fmt::Write;

use super::{header, Ctx};
use crate::docs::doc_comment;
use crate::model::ShapeDef;
use crate::names::{field_ident, str_lit, type_ident, variant_ident};

pub fn emit(ctx: &Ctx<'_>) -> String {
    let mut out = header(ctx);
    out.push_str("//! Typed requests, responses and the structures and enums they contain.\n\n");
    let body: String = ctx
        .structures()
        .map(|s| structure(ctx, s))
        .chain(ctx.enums().map(string_enum))
        .collect();
    let uses = [
        ("BTreeMap<", "use std::collections::BTreeMap;\n"),
        ("Sensitive<", "use crate::sensitive::Sensitive;\n"),
        (" Timestamp", "use crate::types::Timestamp;\n"),
        ("<Timestamp", "use crate::types::Timestamp;\n"),
        (" Blob", "use crate::types::Blob;\n"),
        ("<Blob", "use crate::types::Blob;\n"),
    ];
    let mut imports: Vec<&str> = uses
        .iter()
        .filter(|(needle, _)| body.contains(needle))
        .map(|(_, line)| *line)
        .collect();
    imports.push("use serde::{Deserialize, Serialize};\n");
    imports.sort_unstable();
    imports.dedup();
    for line in imports {
        out.push_str(line);
    }
    out.push('\n');
    out.push_str(&body);
    out
}

fn structure(ctx: &Ctx<'_>, s: &ShapeDef) -> String {
    let mut out = doc_comment(s.documentation.as_deref());
    let derives = if ctx.has_default(&s.name) {
        "Debug, Clone, PartialEq, Default, Serialize, Deserialize"
    } else {
        "Debug, Clone, PartialEq, Serialize, Deserialize"
    };
    let _ = writeln!(
        out,
        "#[derive({derives})]\npub struct {} {{",
        type_ident(&s.name)
    );
    for m in &s.members {
        out.push_str(&doc_comment(m.documentation.as_deref()));
        let ident = field_ident(&m.name);
        let ty = ctx.rust_type(&s.name, &m.target);
        let bare = ident.trim_start_matches("r#");
        if bare != m.name {
            let _ = writeln!(out, "#[serde(rename = {})]", str_lit(&m.name));
        }
        let omit_empty = ctx
            .spec
            .omit_when_empty
            .contains(&(s.name.as_str(), m.name.as_str()));
        let ty = if m.required && omit_empty {
            out.push_str("#[serde(default, skip_serializing_if = \"String::is_empty\")]\n");
            ty
        } else if m.required {
            ty
        } else {
            out.push_str("#[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
            format!("Option<{ty}>")
        };
        let _ = writeln!(out, "pub {ident}: {ty},");
    }
    out.push_str("}\n\n");
    out
}

fn string_enum(s: &ShapeDef) -> String {
    let name = type_ident(&s.name);
    let mut out = doc_comment(s.documentation.as_deref());
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\npub enum {name} {{"
    );
    let mut arms = String::new();
    for v in &s.enum_values {
        let variant = variant_ident(v);
        if variant != *v {
            let _ = writeln!(out, "#[serde(rename = {})]", str_lit(v));
        }
        let _ = writeln!(out, "{variant},");
        let _ = writeln!(arms, "{name}::{variant} => {},", str_lit(v));
    }
    let _ = write!(
        out,
        "}}\n\nimpl {name} {{\n/// The value as it appears on the wire.\n\
         pub fn as_str(&self) -> &'static str {{\nmatch self {{\n{arms}}}\n}}\n}}\n\n"
    );
    out
}
