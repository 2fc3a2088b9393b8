//! Coffer's model generator: reads the AWS models in `data/aws-models/` and produces the
//! committed Rust in `crates/model/src/generated/` (schema statics, typed shapes, error enums,
//! service traits with a dispatcher, pagination tables), with each operation's entry of AWS's
//! Service Authorization Reference (`data/aws/service-authorization.json.gz`).

pub mod authorization;
pub mod check;
pub mod docs;
pub mod emit;
pub mod model;
pub mod names;
pub mod output;
pub mod overrides;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emit::Ctx;
use model::ServiceModel;

/// The workspace root this generator was built in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub fn default_models_dir() -> PathBuf {
    repo_root().join("data").join("aws-models")
}

/// AWS's Service Authorization Reference for the services Coffer serves.
pub fn default_authorization_reference() -> PathBuf {
    repo_root()
        .join("data")
        .join("aws")
        .join("service-authorization.json.gz")
}

/// The model crate: generated files go to its `src/generated/` and `tests/model/`.
pub fn default_out_dir() -> PathBuf {
    repo_root().join("crates/model")
}

/// The folder, relative to the output folder, that holds nothing but generated files (stale
/// files in it are removed).
pub const GENERATED_DIR: &str = "src/generated";

/// Every generated file, keyed by its path relative to the model crate, formatted.
pub fn generate(
    models_dir: &Path,
    authorization_reference: &Path,
) -> Result<BTreeMap<PathBuf, String>, String> {
    let reference = authorization::Reference::load(authorization_reference)?;
    let mut files = BTreeMap::new();
    let mut models = Vec::new();
    for spec in overrides::SERVICES {
        let dir = models_dir.join(spec.module).join(spec.api_version);
        let model = ServiceModel::load(&dir)?;
        if model.api_version != spec.api_version {
            return Err(format!(
                "{}: model says apiVersion {}, expected {}",
                dir.display(),
                model.api_version,
                spec.api_version
            ));
        }
        let mut ctx = Ctx::new(spec, &model);
        for op in &model.operations {
            let entry = reference.action(&model.signing_name, &op.name)?;
            ctx.authorization.insert(op.name.clone(), entry);
        }
        check::identifiers(&ctx).map_err(|e| format!("{}: {e}", spec.module))?;
        check::enum_message_orders(&ctx).map_err(|e| format!("{}: {e}", spec.module))?;
        let sources = [
            ("mod.rs", emit::module::service_mod(&ctx)),
            ("schema.rs", emit::schema::emit(&ctx)),
            ("shapes.rs", emit::shapes::emit(&ctx)),
            ("errors.rs", emit::errors::emit(&ctx)),
            ("service.rs", emit::service::emit(&ctx)),
            ("pagination.rs", emit::pagination::emit(&ctx)),
        ];
        for (file, source) in sources {
            let formatted =
                output::rustfmt(&source).map_err(|e| format!("{}/{file}: {e}", spec.module))?;
            files.insert(
                Path::new(GENERATED_DIR).join(spec.module).join(file),
                formatted,
            );
        }
        models.push((spec, model));
    }
    files.insert(
        Path::new(GENERATED_DIR).join("mod.rs"),
        output::rustfmt(&emit::module::root_mod(overrides::SERVICES))?,
    );
    files.insert(
        PathBuf::from(emit::tests::PATH),
        output::rustfmt(&emit::tests::emit(&models)?)?,
    );
    Ok(files)
}
