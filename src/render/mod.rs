//! render: turns a kustomization directory into the list of objects `kustomize build` prints.
//!
//! This module owns kustomize's semantics, natively: loading kustomizations, accumulating
//! resources, generators, patches and transformers, name references, vars, replacements and the
//! output order. It is a pure function of the files it is given (read through `fs::RepoFs`);
//! printing is `yaml::emit`'s job.

pub mod resource;
