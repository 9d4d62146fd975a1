#!/usr/bin/env python3
"""Regenerate the SOPS-encrypted secrets of the example repository.

Maintainer tool, not part of kiln. It writes

    apps/<env>/postgres/secret/postgres-credentials.yaml    for env in vagrant, prod

from the plaintext in SECRETS below, the way sops 3.13.2 writes them with

    sops encrypt --encrypted-regex '^(data|stringData)$' --age <recipient>

(YAML store, indent 4, metadata keys sorted, no other key types). The recipient
and the encrypted_regex are read from apps/<env>/postgres/.sops.yaml; the
matching identity is the public test key testdata/keys/example.agekey, so
anyone can decrypt the result:

    SOPS_AGE_KEY_FILE=testdata/keys/example.agekey sops decrypt <file>

There is no sops binary in the toolchain, hence this script. The format
(see the SOPS notes of the project, section "SOPS file format"):

* a random 32-byte data key; every leaf whose key path has a component
  matching encrypted_regex becomes ENC[AES256_GCM,data:..,iv:..,tag:..,type:str]
  (AES-256-GCM, 32-byte random IV, AAD = the map keys of the path joined by
  ":" plus a trailing ":");
* the MAC is SHA-512 over the plaintext of every leaf in document order
  (encrypted or not), as uppercase hex, stored AES-GCM-encrypted with the
  data key and AAD = lastmodified;
* the data key is encrypted for the age recipient with `age -r R -a`.

lastmodified is fixed (LASTMODIFIED), so a rerun changes only the random data
key, IVs and age stanza. The plaintext lives here rather than in
secret-decrypted/, which is never committed. To change a value, edit SECRETS
and rerun; check the result with `kiln secrets decrypt` or sops.

Requirements: Python 3.8+, the `cryptography` package, the `age` CLI.
Usage: python3 scripts/example-secrets.py [--root DIR]
"""
import argparse
import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SOPS_VERSION = "3.13.2"
LASTMODIFIED = "2026-11-21T00:00:00Z"
INDENT = 4

# Plaintext of each environment's Secret, in file order. Example values only.
SECRETS = {
    "vagrant": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "postgres-credentials"},
        "type": "Opaque",
        "stringData": {
            "POSTGRES_USER": "app",
            "POSTGRES_PASSWORD": "vagrant-only-password",
            "POSTGRES_DB": "app",
        },
    },
    "prod": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "postgres-credentials"},
        "type": "Opaque",
        "stringData": {
            "POSTGRES_USER": "app",
            "POSTGRES_PASSWORD": "c7Vq#2pX!mR9@wLz-example",
            "POSTGRES_DB": "app",
        },
    },
}


def read_creation_rule(path):
    """The age recipient and encrypted_regex of the (single) creation rule."""
    text = open(path, encoding="utf-8").read()
    age = re.search(r"^\s*age:\s*(age1\S+)\s*$", text, re.M)
    rx = re.search(r"^\s*encrypted_regex:\s*(\S+)\s*$", text, re.M)
    if not age or not rx:
        sys.exit(f"{path}: expected a creation rule with `age:` and `encrypted_regex:`")
    return age.group(1), rx.group(1)


def encrypt_value(key, plaintext, aad):
    iv = secrets.token_bytes(32)
    out = AESGCM(key).encrypt(iv, plaintext.encode("utf-8"), aad.encode("utf-8"))
    data, tag = out[:-16], out[-16:]
    b64 = lambda b: base64.b64encode(b).decode("ascii")
    return f"ENC[AES256_GCM,data:{b64(data)},iv:{b64(iv)},tag:{b64(tag)},type:str]"


def encrypt_tree(tree, key, rule, mac, path=()):
    """Encrypt the selected leaves; feed every leaf's plaintext to the MAC."""
    out = {}
    for k, v in tree.items():
        p = path + (k,)
        if isinstance(v, dict):
            out[k] = encrypt_tree(v, key, rule, mac, p)
            continue
        if not isinstance(v, str):
            raise TypeError(f"{':'.join(p)}: only string leaves are supported")
        mac.update(v.encode("utf-8"))
        selected = any(rule.search(c) for c in p)
        # sops leaves empty strings as "" (never ENC[]).
        out[k] = encrypt_value(key, v, ":".join(p) + ":") if selected and v else v
    return out


def age_encrypt(recipient, data_key):
    armored = subprocess.run(
        ["age", "--encrypt", "--armor", "--recipient", recipient],
        input=data_key, capture_output=True, check=True,
    ).stdout.decode("ascii")
    assert armored.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert armored.endswith("-----END AGE ENCRYPTED FILE-----\n")
    return armored


class Quoted(str):
    """A string go-yaml would double-quote (it would otherwise resolve to a timestamp)."""


class Literal(str):
    """A multi-line string written as a `|` literal block."""


PLAIN = re.compile(r"^[A-Za-z0-9^(][A-Za-z0-9^$()|.,:_/+=\[\]-]*$")


def scalar(v):
    if isinstance(v, Quoted):
        return '"' + v + '"'
    if not PLAIN.match(v) or ": " in v or v.endswith(":") or v in ("true", "false", "null", "~"):
        raise ValueError(f"cannot write {v!r} as a plain scalar")
    return v


def emit(tree, level=0):
    """YAML the way go-yaml v3 writes it with indent 4 (maps; lists of flat maps)."""
    pad = " " * (INDENT * level)
    lines = []
    for k, v in tree.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:")
            lines += emit(v, level + 1)
        elif isinstance(v, list):
            lines.append(f"{pad}{k}:")
            item_pad = pad + " " * INDENT
            for item in v:
                assert all(not isinstance(x, (dict, list)) for x in item.values())
                sub = emit(item, 0)
                # "- " then the item's keys aligned two columns further in;
                # literal block content sits INDENT columns past the dash.
                lines.append(f"{item_pad}- {sub[0]}")
                for line in sub[1:]:
                    if line.startswith(" "):
                        lines.append(f"{item_pad}{line}")
                    else:
                        lines.append(f"{item_pad}  {line}")
        elif isinstance(v, Literal):
            lines.append(f"{pad}{k}: |")
            lines += [f"{pad}{' ' * INDENT}{line}" for line in v.splitlines()]
        else:
            lines.append(f"{pad}{k}: {scalar(v)}")
    return lines


def encrypt_file(plain, recipient, encrypted_regex):
    data_key = secrets.token_bytes(32)
    mac = hashlib.sha512()
    tree = encrypt_tree(plain, data_key, re.compile(encrypted_regex), mac)
    mac_hex = mac.hexdigest().upper()
    tree["sops"] = {  # keys sorted, as sops >= 3.13.0 writes them
        "age": [{"enc": Literal(age_encrypt(recipient, data_key)), "recipient": recipient}],
        "encrypted_regex": encrypted_regex,
        "lastmodified": Quoted(LASTMODIFIED),
        "mac": encrypt_value(data_key, mac_hex, LASTMODIFIED),
        "version": SOPS_VERSION,
    }
    return "\n".join(emit(tree)) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="repository root (default: the parent of scripts/)")
    args = ap.parse_args()
    for env, plain in SECRETS.items():
        app = os.path.join(args.root, "apps", env, "postgres")
        recipient, encrypted_regex = read_creation_rule(os.path.join(app, ".sops.yaml"))
        out = os.path.join(app, "secret", "postgres-credentials.yaml")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        text = encrypt_file(plain, recipient, encrypted_regex)
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(out, args.root)} for {recipient}")


if __name__ == "__main__":
    main()
