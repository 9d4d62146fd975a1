//! Secrets: reading and writing SOPS files encrypted with age.
//!
//! This module owns:
//! - [`sops`]: decrypting files written by the `sops` CLI (YAML, JSON, dotenv, INI, binary) with
//!   age identities, verifying their MAC on every read, and producing the plaintext document;
//! - [`sops::encrypt`]: writing SOPS files for age recipients as sops 3.13 writes them (YAML
//!   through a go-yaml v3 style emitter, JSON, dotenv, binary), used by `kiln compile` to
//!   re-encrypt rendered Secrets;
//! - [`sops_config`]: finding the `.sops.yaml` for a file and picking its creation rule (age
//!   recipients, encryption rule, `mac_only_encrypted`, YAML indent), used by `kiln secrets`;
//! - [`output`]: the stage between rendering and writing: every rendered Secret with values
//!   leaves re-encrypted (SOPS) or sealed (SealedSecrets), never in plaintext;
//! - [`sealed`]: Bitnami SealedSecrets as `kubeseal --cert` writes them (RSA-OAEP session key
//!   per value, AES-256-GCM, label by scope), used by `kiln compile`;
//! - finding the user's age identities ([`sops::keys`]): `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and
//!   sops' own key file, with the environment and home directory passed in explicitly.
//!
//! Plaintext lives only in memory: it is never written to disk, logged, or put into an error
//! message, and the buffers that hold it (values, data keys, documents) are zeroed when dropped.
//! Errors describe where and why decryption failed, never what a value was.
//!
//! It does not own, yet:
//! - reusing IVs of unchanged values inside a file (sops' stash; `kiln compile` keeps a whole
//!   previous file instead when its plaintext and recipients are unchanged), and INI output;
//! - `updatekeys` (new recipients, same data key); `kiln secrets rotate` always draws a new data
//!   key;
//! - PGP, cloud KMS, Vault and post-quantum (`age1pq1…`) keys, and Shamir key groups: files using
//!   only those are reported, not decrypted;
//! - reading files: callers pass bytes and add the path to errors.

pub mod output;
pub mod sealed;
pub mod sops;
pub mod sops_config;
