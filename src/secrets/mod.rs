//! Secrets: reading SOPS files encrypted with age.
//!
//! This module owns:
//! - [`sops`]: decrypting files written by the `sops` CLI (YAML, JSON, dotenv, INI, binary) with
//!   age identities, verifying their MAC on every read, and producing the plaintext document;
//! - finding the user's age identities ([`sops::keys`]): `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and
//!   sops' own key file, with the environment and home directory passed in explicitly.
//!
//! Plaintext lives only in memory: it is never written to disk, logged, or put into an error
//! message, and the buffers that hold it (values, data keys, documents) are zeroed when dropped.
//! Errors describe where and why decryption failed, never what a value was.
//!
//! It does not own, yet:
//! - encryption (writing SOPS files, reusing IVs and data keys so unchanged values do not churn);
//! - `.sops.yaml` creation rules;
//! - re-encryption for other recipients (`updatekeys`/`rotate`) and SealedSecrets;
//! - PGP, cloud KMS, Vault and post-quantum (`age1pq1…`) keys, and Shamir key groups: files using
//!   only those are reported, not decrypted;
//! - reading files: callers pass bytes and add the path to errors.

pub mod sops;
