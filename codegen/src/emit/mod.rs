//! One emitter per generated file. Each returns unformatted Rust source; `output` runs rustfmt.

pub mod errors;
pub mod module;
pub mod pagination;
pub mod schema;
pub mod service;
pub mod shapes;
pub mod tests;

use std::collections::BTreeSet;

use crate::model::{ServiceModel, ShapeDef, ShapeType};
use crate::names;
use crate::overrides::ServiceSpec;

/// What every emitter needs to know about one service.
pub struct Ctx<'a> {
    pub spec: &'a ServiceSpec,
    pub model: &'a ServiceModel,
    /// Shapes reachable from any operation: they get a schema static.
    pub schema_shapes: BTreeSet<String>,
    /// Shapes reachable from operation inputs and outputs: they get a Rust type.
    pub typed_shapes: BTreeSet<String>,
    /// Each operation's entry in the Service Authorization Reference, by operation name.
    pub authorization: std::collections::BTreeMap<String, crate::authorization::ActionRef>,
}

impl<'a> Ctx<'a> {
    pub fn new(spec: &'a ServiceSpec, model: &'a ServiceModel) -> Ctx<'a> {
        let schema_shapes = model.reachable();
        let mut typed_shapes = BTreeSet::new();
        let mut stack: Vec<String> = model
            .operations
            .iter()
            .flat_map(|op| op.input.iter().chain(&op.output).cloned())
            .collect();
        while let Some(name) = stack.pop() {
            if typed_shapes.insert(name.clone()) {
                stack.extend(model.shape(&name).targets().into_iter().map(str::to_owned));
            }
        }
        Ctx {
            spec,
            model,
            schema_shapes,
            typed_shapes,
            authorization: Default::default(),
        }
    }

    pub fn shape(&self, name: &str) -> &'a ShapeDef {
        self.model.shape(name)
    }

    /// Name of the schema static of shape `name`.
    pub fn static_name(&self, name: &str) -> String {
        match self
            .spec
            .static_renames
            .iter()
            .find(|(from, _)| *from == name)
        {
            Some((_, to)) => (*to).to_owned(),
            None => names::static_ident(name),
        }
    }

    pub fn error_name(&self) -> String {
        format!("{}Error", self.spec.rust_name)
    }

    pub fn is_sensitive(&self, shape: &ShapeDef) -> bool {
        shape.sensitive || self.spec.extra_sensitive.contains(&shape.name.as_str())
    }

    /// Structures that become Rust structs, sorted by name.
    pub fn structures(&self) -> impl Iterator<Item = &'a ShapeDef> + '_ {
        self.typed_shapes
            .iter()
            .map(|n| self.shape(n))
            .filter(|s| s.ty == ShapeType::Structure)
    }

    /// String enums that become Rust enums, sorted by name.
    pub fn enums(&self) -> impl Iterator<Item = &'a ShapeDef> + '_ {
        self.typed_shapes
            .iter()
            .map(|n| self.shape(n))
            .filter(|s| s.is_enum())
    }

    /// Error shapes, sorted by name.
    pub fn errors(&self) -> impl Iterator<Item = &'a ShapeDef> + '_ {
        self.schema_shapes
            .iter()
            .map(|n| self.shape(n))
            .filter(|s| s.error.is_some())
    }

    /// The Rust type of a value of shape `target` held by a field of structure `owner`.
    pub fn rust_type(&self, owner: &str, target: &str) -> String {
        let shape = self.shape(target);
        let inner = match shape.ty {
            ShapeType::String if shape.is_enum() => names::type_ident(&shape.name),
            ShapeType::String => "String".to_owned(),
            ShapeType::Integer => "i32".to_owned(),
            ShapeType::Long => "i64".to_owned(),
            ShapeType::Boolean => "bool".to_owned(),
            ShapeType::Float => "f32".to_owned(),
            ShapeType::Double => "f64".to_owned(),
            ShapeType::Timestamp => "Timestamp".to_owned(),
            ShapeType::Blob => "Blob".to_owned(),
            ShapeType::Structure => {
                let ty = names::type_ident(&shape.name);
                // A structure that contains itself needs indirection to have a size.
                if self.model.reaches(target, owner) {
                    format!("Box<{ty}>")
                } else {
                    ty
                }
            }
            ShapeType::List => {
                let member = shape.list_member.as_ref().map(|m| m.target.as_str());
                format!("Vec<{}>", self.rust_type(owner, member.unwrap_or_default()))
            }
            ShapeType::Map => {
                let value = shape.map_value.as_ref().map(|m| m.target.as_str());
                format!(
                    "BTreeMap<String, {}>",
                    self.rust_type(owner, value.unwrap_or_default())
                )
            }
        };
        if self.is_sensitive(shape) {
            format!("Sensitive<{inner}>")
        } else {
            inner
        }
    }

    /// Whether the Rust type of `shape` implements `Default` (enums do not: no value is a
    /// sensible default).
    pub fn has_default(&self, name: &str) -> bool {
        let mut visiting = BTreeSet::new();
        self.has_default_inner(name, &mut visiting)
    }

    fn has_default_inner(&self, name: &str, visiting: &mut BTreeSet<String>) -> bool {
        let shape = self.shape(name);
        match shape.ty {
            ShapeType::String => !shape.is_enum(),
            ShapeType::List | ShapeType::Map => true,
            ShapeType::Structure => {
                if !visiting.insert(name.to_owned()) {
                    return true;
                }
                shape
                    .members
                    .iter()
                    .filter(|m| m.required)
                    .all(|m| self.has_default_inner(&m.target, visiting))
            }
            _ => true,
        }
    }
}

/// First line of every generated file.
pub fn header(ctx: &Ctx<'_>) -> String {
    format!(
        "// Generated by `cargo run -p coffer-codegen` from aws-models/{}/{}. Do not edit.\n\n",
        ctx.spec.module, ctx.model.api_version
    )
}
