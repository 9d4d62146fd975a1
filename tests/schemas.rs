//! The JSON Schemas in `schemas/` are generated from the Rust types of `kiln::project`.
//! This test fails when a checked-in schema is stale; `KILN_BLESS=1 cargo test --test
//! schemas` rewrites them.

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    if std::env::var_os("KILN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("schemas/ is writable when blessing");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "schemas/{file} is stale; run `KILN_BLESS=1 cargo test --test schemas` and commit it"
    );
}

#[test]
fn project_schema_is_fresh() {
    check("kiln.schema.json", kiln::project::project_schema_json());
}

#[test]
fn vars_schema_is_fresh() {
    check("vars.schema.json", kiln::project::vars_schema_json());
}
