//! kiln's on-disk cache: results kept under the repository's `.git/kiln/cache/` (never in the
//! work tree), so that checking or diffing unchanged inputs again costs almost nothing.
//!
//! Entries are content-addressed. A [`Key`] is a SHA-256 over everything a result depends on:
//! kiln's version, the entry [`Kind`], and the fields the caller adds (blob ids of the inputs,
//! configuration, which age keys are available). Results are only looked up by the digest of
//! their inputs, so an entry is never stale: changed inputs make another key. Old entries are
//! simply never read again; `kiln cache clear` removes them all.
//!
//! Robustness: each file starts with a header (magic and format, the key, the payload's length
//! and its SHA-256). A file that does not match in every respect (truncated, corrupted, written
//! by another format) is a miss, and the caller's fresh result replaces it. Writes go to a
//! temporary file renamed into place, so a reader never sees half an entry, and failing to
//! write is not an error: the cache only saves time (a read-only `.git` means no cache).
//!
//! What goes in is the callers' promise, stated where they store: never plaintext secrets.
//! `kiln check` stores its diagnostics (which never hold secret values); `kiln diff` stores the
//! rendered output of apps without Secret values or decrypted inputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The first bytes of every entry: what it is and the layout of what follows.
const MAGIC: &[u8; 12] = b"kiln-cache1\n";

/// Header length: magic, key, payload length (u64 little endian), payload SHA-256.
const HEADER: usize = MAGIC.len() + 32 + 8 + 32;

/// What an entry holds; each kind has its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The whole result of a `kiln check` of a git source (index or revision).
    Check,
    /// One app's rendered output (`kiln diff`).
    Render,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Check => "check",
            Kind::Render => "render",
        }
    }
}

/// The digest of everything an entry depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl Key {
    fn hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Builds a [`Key`]: kiln's version and the kind are always part of it; callers add fields.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// A key of `kind` for this version of kiln.
    #[must_use]
    pub fn new(kind: Kind) -> KeyBuilder {
        let mut builder = KeyBuilder(Sha256::new());
        builder
            .field(MAGIC)
            .field(env!("CARGO_PKG_VERSION").as_bytes())
            .field(kind.folder().as_bytes());
        builder
    }

    /// Adds one field; fields are length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(&mut self, bytes: &[u8]) -> &mut KeyBuilder {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The key.
    #[must_use]
    pub fn finish(self) -> Key {
        Key(self.0.finalize().into())
    }
}

/// What `kiln cache clear` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Entry files removed.
    pub entries: u64,
    /// Their size in bytes.
    pub bytes: u64,
}

/// The cache of one repository.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of the repository whose (common) git directory is `git_dir`.
    #[must_use]
    pub fn in_git_dir(git_dir: &Path) -> Cache {
        Cache {
            dir: git_dir.join("kiln").join("cache"),
        }
    }

    /// Where the entries are.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, kind: Kind, key: Key) -> PathBuf {
        let hex = key.hex();
        self.dir.join(kind.folder()).join(&hex[..2]).join(&hex[2..])
    }

    /// The payload stored under `key`, if there is an intact entry.
    #[must_use]
    pub fn get(&self, kind: Kind, key: Key) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(kind, key)).ok()?;
        decode(&bytes, key).map(<[u8]>::to_vec)
    }

    /// Stores `payload` under `key`, replacing any entry there.
    ///
    /// # Errors
    /// Creating the folder or writing the file failed; callers may ignore it.
    pub fn put(&self, kind: Kind, key: Key, payload: &[u8]) -> std::io::Result<()> {
        let path = self.path(kind, key);
        let dir = path
            .parent()
            .expect("an entry path has a parent: the key's first two hex digits");
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&encode(key, payload))?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Removes every entry (the whole cache folder).
    ///
    /// # Errors
    /// A file or folder could not be removed.
    pub fn clear(&self) -> std::io::Result<Cleared> {
        let mut cleared = Cleared::default();
        count(&self.dir, &mut cleared)?;
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(cleared)
    }
}

fn count(dir: &Path, cleared: &mut Cleared) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            count(&entry.path(), cleared)?;
        } else {
            cleared.entries += 1;
            cleared.bytes += meta.len();
        }
    }
    Ok(())
}

fn encode(key: Key, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key.0);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of an entry, when every part of the header matches.
fn decode(bytes: &[u8], key: Key) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (stored_key, rest) = rest.split_at_checked(32)?;
    let (len, rest) = rest.split_at_checked(8)?;
    let (digest, payload) = rest.split_at_checked(32)?;
    let len = u64::from_le_bytes(len.try_into().ok()?);
    (stored_key == key.0
        && u64::try_from(payload.len()).ok()? == len
        && digest == Sha256::digest(payload).as_slice())
    .then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        let mut b = KeyBuilder::new(Kind::Check);
        b.field(text.as_bytes());
        b.finish()
    }

    #[test]
    fn stored_payloads_come_back_under_their_key_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::in_git_dir(dir.path());
        assert_eq!(cache.get(Kind::Check, key("a")), None);
        cache.put(Kind::Check, key("a"), b"payload").expect("write");
        assert_eq!(
            cache.get(Kind::Check, key("a")).as_deref(),
            Some(&b"payload"[..])
        );
        assert_eq!(cache.get(Kind::Check, key("b")), None);
        assert_eq!(cache.get(Kind::Render, key("a")), None);
        let cleared = cache.clear().expect("clear");
        assert_eq!(cleared.entries, 1);
        assert_eq!(cache.get(Kind::Check, key("a")), None);
        assert_eq!(cache.clear().expect("clear again"), Cleared::default());
    }

    #[test]
    fn fields_are_length_prefixed() {
        let mut a = KeyBuilder::new(Kind::Check);
        a.field(b"ab").field(b"c");
        let mut b = KeyBuilder::new(Kind::Check);
        b.field(b"a").field(b"bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn corrupted_truncated_or_foreign_entries_are_misses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::in_git_dir(dir.path());
        let k = key("a");
        cache.put(Kind::Check, k, b"payload").expect("write");
        let path = cache.path(Kind::Check, k);
        let good = std::fs::read(&path).expect("read");
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let mut other_key = good.clone();
        other_key[MAGIC.len()] ^= 1;
        for bad in [
            flipped,
            other_key,
            good[..good.len() - 1].to_vec(),
            good[..10].to_vec(),
            Vec::new(),
            b"something else entirely".to_vec(),
        ] {
            std::fs::write(&path, &bad).expect("write");
            assert_eq!(cache.get(Kind::Check, k), None);
        }
        // A fresh result replaces the broken entry.
        cache.put(Kind::Check, k, b"fresh").expect("write");
        assert_eq!(cache.get(Kind::Check, k).as_deref(), Some(&b"fresh"[..]));
    }
}
