//! `cargo run -p coffer-codegen [-- --check] [--models DIR] [--authorization FILE] [--out DIR]`

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: coffer-codegen [--check] [--models DIR] [--out DIR]

Regenerates crates/model/src/generated/ from the AWS models.
  --check        write nothing; exit 1 if the committed output differs
  --models DIR   models folder (default: <repo>/data/aws-models)
  --authorization FILE  Service Authorization Reference
                 (default: <repo>/data/aws/service-authorization.json.gz)
  --out DIR      model crate to write into (default: <repo>/crates/model)";

struct Args {
    check: bool,
    models: PathBuf,
    authorization: PathBuf,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        check: false,
        models: coffer_codegen::default_models_dir(),
        authorization: coffer_codegen::default_authorization_reference(),
        out: coffer_codegen::default_out_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--check" => args.check = true,
            "--models" => args.models = it.next().ok_or("--models needs a folder")?.into(),
            "--authorization" => {
                args.authorization = it.next().ok_or("--authorization needs a file")?.into()
            }
            "--out" => args.out = it.next().ok_or("--out needs a folder")?.into(),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let files = coffer_codegen::generate(&args.models, &args.authorization)?;
    let managed = std::path::Path::new(coffer_codegen::GENERATED_DIR);
    if args.check {
        let drift = coffer_codegen::output::drift(&args.out, managed, &files);
        if drift.is_empty() {
            println!("{}: up to date ({} files)", args.out.display(), files.len());
            return Ok(true);
        }
        for d in &drift {
            eprintln!("{d}");
        }
        eprintln!("generated code is out of date: run `cargo run -p coffer-codegen`");
        return Ok(false);
    }
    let written = coffer_codegen::output::write(&args.out, managed, &files)?;
    println!(
        "{}: {written} of {} files updated",
        args.out.display(),
        files.len()
    );
    Ok(true)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
