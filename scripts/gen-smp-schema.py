#!/usr/bin/env python3
"""Generates src/render/smp_schema.rs: the parts of kustomize's built-in Kubernetes OpenAPI schema
that its strategic-merge walker (kyaml merge2) looks at.

Reads kyaml's embedded schema, `kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb` (the protobuf form of
the Kubernetes v1.21.2 OpenAPI v2 document, gnostic `openapi.v2.Document`) from a checkout of
kubernetes-sigs/kustomize at tag `kyaml/v0.18.1` (the kyaml used by kustomize v5.5.0). Only the
standard library is used: the protobuf wire format is decoded by hand.

Usage: gen-smp-schema.py path/to/swagger.pb > src/render/smp_schema.rs

What is kept, per schema node (a definition or an inline schema):
- objects: their `properties` and `additionalProperties` whose schema is not a primitive
  (`string`, `integer`, `number`, `boolean`) and not an array without a merge strategy: looking up
  such a field and finding nothing behaves the same in the walker, for valid objects;
- arrays whose `x-kubernetes-patch-strategy` includes `merge`: the merge keys
  (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`) and the item schema;
- `x-kubernetes-group-version-kind` of definitions: the resource table.
"""
import sys

def varint(b, i):
    r = 0; s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return r, i

def fields(b):
    """Yields (field number, wire type, value) of a protobuf message."""
    i = 0; n = len(b)
    while i < n:
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v = b[i:i+8]; i += 8
        elif wt == 2:
            l, i = varint(b, i); v = b[i:i+l]; i += l
        elif wt == 5:
            v = b[i:i+4]; i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v

def named(b):
    """NamedX message: (name, value bytes)."""
    name = None; value = b""
    for f, _, v in fields(b):
        if f == 1: name = v.decode()
        elif f == 2: value = v
    return name, value

def any_yaml(b):
    for f, _, v in fields(b):
        if f == 2:
            return v.decode()
    return ""

def parse_schema(b):
    s = {"ref": "", "type": [], "items": None, "props": [], "addl": None, "ext": {}}
    for f, _, v in fields(b):
        if f == 1: s["ref"] = v.decode()
        elif f == 22:
            s["type"] = [x.decode() for ff, _, x in fields(v) if ff == 1]
        elif f == 23:
            items = [parse_schema(x) for ff, _, x in fields(v) if ff == 1]
            s["items"] = items[0] if items else None
        elif f == 25:
            for ff, _, x in fields(v):
                if ff == 1:
                    n, val = named(x); s["props"].append((n, parse_schema(val)))
        elif f == 21:
            for ff, _, x in fields(v):
                if ff == 1: s["addl"] = parse_schema(x)
        elif f == 31:
            n, val = named(v)
            for ff, _, x in fields(val):
                if ff == 2: s["ext"][n] = x.decode().strip()
    return s

def yaml_list(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            out.append(line[2:].strip().strip('"').strip("'"))
    return out

def yaml_gvks(text):
    """x-kubernetes-group-version-kind: a YAML list of {group, kind, version} maps."""
    out = []; cur = None
    for line in text.splitlines():
        s = line.strip()
        if not s: continue
        if s.startswith("- "):
            cur = {}; out.append(cur); s = s[2:]
        if ":" in s and cur is not None:
            k, v = s.split(":", 1); cur[k.strip()] = v.strip().strip('"').strip("'")
    return out

def main():
    data = open(sys.argv[1], "rb").read()
    defs = {}
    for f, _, v in fields(data):
        if f == 9:
            for ff, _, x in fields(v):
                if ff == 1:
                    n, val = named(x); defs[n] = parse_schema(val)

    def deref(s):
        seen = 0
        while s is not None and s["ref"]:
            name = s["ref"].rsplit("/", 1)[-1]
            s = defs.get(name); seen += 1
            if seen > 50: return None
        return s

    PRIM = {"string", "integer", "number", "boolean"}
    def is_merge_array(s):
        return s["type"] == ["array"] and "merge" in s["ext"].get("x-kubernetes-patch-strategy", "").split(",")
    def kept(s):
        """Whether a field with schema s is kept (see module doc)."""
        s = deref(s)
        if s is None: return False
        if len(s["type"]) == 1 and s["type"][0] in PRIM: return False
        if s["type"] == ["array"] and not is_merge_array(s): return False
        return True

    nodes = [("leaf",)]  # index 0: a schema with nothing the walker uses
    ids = {}             # id(schema dict) -> node index

    def node(s):
        s = deref(s)
        if s is None: return None
        key = id(s)
        if key in ids: return ids[key]
        idx = len(nodes); ids[key] = idx; nodes.append(None)
        if is_merge_array(s):
            ext = s["ext"]
            if "x-kubernetes-list-map-keys" in ext: keys = yaml_list(ext["x-kubernetes-list-map-keys"])
            elif "x-kubernetes-patch-merge-key" in ext: keys = [ext["x-kubernetes-patch-merge-key"].strip()]
            else: keys = []
            items = None
            if s["items"] is not None:
                it = deref(s["items"])
                if it is not None and kept(it): items = node(it)
                elif it is not None: items = 0
            nodes[idx] = ("array", keys, items)
        else:
            flds = []
            for name, fs in s["props"]:
                if kept(fs): flds.append((name, node(fs)))
            addl = None
            if s["addl"] is not None and kept(s["addl"]): addl = node(s["addl"])
            if not flds and addl is None:
                nodes[idx] = ("leaf",)
            else:
                nodes[idx] = ("object", sorted(flds), addl)
        return idx

    resources = []
    for name in sorted(defs):
        d = defs[name]
        g = d["ext"].get("x-kubernetes-group-version-kind")
        if not g: continue
        idx = node(d)
        for gvk in yaml_gvks(g):
            av = gvk.get("version", "")
            if gvk.get("group"): av = gvk["group"] + "/" + av
            resources.append((av, gvk.get("kind", ""), idx))
    resources.sort()

    # Collapse leaves onto index 0.
    def ref(i):
        if i is None: return "NONE"
        return "0" if nodes[i][0] == "leaf" else str(i)

    o = []
    o.append("//! Generated by `scripts/gen-smp-schema.py` from kyaml's built-in Kubernetes v1.21.2 OpenAPI")
    o.append("//! schema (kustomize v5.5.0 / kyaml v0.18.1); do not edit.")
    o.append("//!")
    o.append("//! This module owns the data only: what kyaml's strategic-merge walker reads from the schema")
    o.append("//! (object fields, map values, arrays with a `merge` patch strategy and their merge keys) for")
    o.append("//! each built-in type. Reading it is `smp`'s job.")
    o.append("")
    o.append("/// No schema.")
    o.append("pub(crate) const NONE: u16 = u16::MAX;")
    o.append("")
    o.append("/// One schema node; nodes refer to each other by index into [`NODES`].")
    o.append("pub(crate) enum SchemaNode {")
    o.append("    /// A schema with nothing the walker uses (known, so it stops the `apiVersion`/`kind` lookup).")
    o.append("    Leaf,")
    o.append("    /// An object: fields sorted by name, and the schema of other keys' values (or [`NONE`]).")
    o.append("    Object(&'static [(&'static str, u16)], u16),")
    o.append("    /// An array with a `merge` patch strategy: merge keys, and the items' schema (or [`NONE`]).")
    o.append("    MergeArray(&'static [&'static str], u16),")
    o.append("}")
    o.append("")
    o.append("use SchemaNode::{Leaf as L, MergeArray as A, Object as O};")
    o.append("")
    o.append("/// Every schema node.")
    o.append("#[rustfmt::skip]")
    o.append("pub(crate) static NODES: &[SchemaNode] = &[")
    for i, n in enumerate(nodes):
        if n[0] == "leaf":
            o.append("    L, // %d" % i)
        elif n[0] == "array":
            keys = ", ".join('"%s"' % k for k in n[1])
            o.append("    A(&[%s], %s), // %d" % (keys, ref(n[2]), i))
        else:
            fl = ", ".join('("%s", %s)' % (k, ref(v)) for k, v in n[1])
            o.append("    O(&[%s], %s), // %d" % (fl, ref(n[2]), i))
    o.append("];")
    o.append("")
    o.append("/// `(apiVersion, kind, node)` of every built-in resource type, sorted.")
    o.append("#[rustfmt::skip]")
    o.append("pub(crate) static RESOURCES: &[(&str, &str, u16)] = &[")
    for av, k, idx in resources:
        o.append('    ("%s", "%s", %s),' % (av, k, ref(idx)))
    o.append("];")
    print("\n".join(o))

main()
