//! The YAML layer on arbitrary text: parsing must return a tree or an error with a position,
//! never panic or hang; every tree it returns can be converted to JSON, resolved and printed
//! the way kustomize prints it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kiln::yaml::parse_documents(text) {
        Ok(docs) => {
            for doc in &docs {
                let _ = doc.root.to_json();
                let _ = kiln::yaml::check_printable(&doc.root);
                let mut root = doc.root.clone();
                root.deanchor();
                let _ = kiln::yaml::emit_node(&root);
            }
        }
        Err(e) => {
            let span = e.span();
            assert!(span.start <= text.len() + 3, "error span past the end of the input");
        }
    }
});
