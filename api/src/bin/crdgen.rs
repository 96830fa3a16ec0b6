//! Writes FerroLB's CustomResourceDefinitions, one YAML file per CRD.
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: crdgen <out-dir>");
        return ExitCode::from(2);
    };
    let files = match ferrolb_api::crd::crd_files() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("crdgen: rendering CRDs: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("crdgen: creating {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    for (name, yaml) in files {
        let path = out_dir.join(&name);
        if let Err(e) = std::fs::write(&path, yaml) {
            eprintln!("crdgen: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
