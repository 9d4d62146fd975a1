#!/usr/bin/env python3
"""Generate kiln's embedded Kubernetes schema data (schemas/kubernetes/).

Maintainer command; the output is committed. Source: the Apache-2.0 PyPI package
`kubernetes-validate`, which ships, per Kubernetes minor version, a JSON Schema `$defs`
bundle derived from Kubernetes' OpenAPI (swagger) document.

    python3 scripts/gen-k8s-schemas.py [--wheel kubernetes_validate-X.whl] [--out schemas/kubernetes]

Without --wheel the script runs `pip download kubernetes-validate==PINNED --no-deps`.

What it writes:

* `v<newest>.json.zlib`: the newest version's bundle, `{"$defs": {...}}`, zlib-compressed.
* `v<older>.json.zlib`: every older version (down to 1.25) as a delta against the next newer
  version, `{"base": "1.NN", "set": {name: def}, "remove": [name]}`: definitions are mostly
  identical between versions, so deltas keep all versions together near the size of one.
* `apis.json`: the served versions, every apiVersion/kind with the definition that describes
  it and the first and last version serving it, and a small table of APIs removed before the
  oldest bundled version (from Kubernetes' deprecation guide). kiln derives removed and
  deprecated APIs from it.
* `NOTICE`: the Apache-2.0 attribution.

Normalisation applied to every definition (kiln compiles the result as JSON Schema 2020-12):

* strict: the `-local-strict` variant is used (`additionalProperties: false` on every object
  that lists `properties` and does not say otherwise);
* descriptions and annotation-only `x-kubernetes-*` keywords are removed;
* `IntOrString` becomes integer (int32 range) or string, `null` allowed; no `oneOf` (the
  source's `oneOf` of two nullable types rejects `null` as matching both);
* `Quantity` becomes number or a string matching Kubernetes' quantity grammar;
* `format: int32` / `int64` become `minimum`/`maximum` (the validator ignores unknown formats
  and formats only apply to strings); `byte` stays (kiln registers a base64 check); other
  formats (`date-time`, `double`) are dropped.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib

PINNED = "1.37.0"
OLDEST_MINOR = 25

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# Kubernetes' quantity grammar (resource.ParseQuantity): sign, digits with an optional
# fraction, then a binary suffix, a decimal suffix or a decimal exponent.
QUANTITY_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$"

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

DROP_KEYS = {
    "description",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-unions",
    "x-kubernetes-group-version-kind",
    "$schema",
    "$id",
}

# APIs removed before the oldest bundled version, from
# https://kubernetes.io/docs/reference/using-api/deprecation-guide/ (apiVersion kind, removed in,
# replacement apiVersion or None).
LEGACY_REMOVALS = [
    ("extensions/v1beta1", "DaemonSet", "1.16", "apps/v1"),
    ("extensions/v1beta1", "Deployment", "1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet", "1.16", "apps/v1"),
    ("extensions/v1beta1", "NetworkPolicy", "1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy", "1.16", None),
    ("apps/v1beta1", "Deployment", "1.16", "apps/v1"),
    ("apps/v1beta1", "StatefulSet", "1.16", "apps/v1"),
    ("apps/v1beta1", "ControllerRevision", "1.16", "apps/v1"),
    ("apps/v1beta2", "DaemonSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "Deployment", "1.16", "apps/v1"),
    ("apps/v1beta2", "ReplicaSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "StatefulSet", "1.16", "apps/v1"),
    ("apps/v1beta2", "ControllerRevision", "1.16", "apps/v1"),
    ("extensions/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass", "1.22", "networking.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", "1.22", "admissionregistration.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", "1.22", "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService", "1.22", "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "TokenReview", "1.22", "authentication.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "SubjectAccessReview", "1.22", "authorization.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", "1.22", "authorization.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", "1.22", "authorization.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview", "1.22", "authorization.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease", "1.22", "coordination.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "1.22", "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "1.22", "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "Role", "1.22", "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding", "1.22", "rbac.authorization.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass", "1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSINode", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment", "1.22", "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob", "1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25", "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy", "1.25", None),
    ("node.k8s.io/v1beta1", "RuntimeClass", "1.25", "node.k8s.io/v1"),
]

NOTICE = """Kubernetes API schemas
======================

The files v*.json.zlib and apis.json in this directory are derived from the Kubernetes
OpenAPI specification (https://github.com/kubernetes/kubernetes, api/openapi-spec),
Copyright The Kubernetes Authors, licensed under the Apache License, Version 2.0,
as redistributed in JSON Schema form by the PyPI package kubernetes-validate {version}
(https://github.com/willthames/kubernetes-validate, Apache License, Version 2.0).

Changes made by kiln's scripts/gen-k8s-schemas.py: descriptions and annotation-only
extension keywords removed; IntOrString, Quantity and integer formats rewritten as plain
JSON Schema constraints; definitions stored as per-version deltas and compressed.

You may obtain a copy of the License at http://www.apache.org/licenses/LICENSE-2.0.
"""


def normalise(node):
    """Returns `node` without descriptions and with integer formats turned into ranges."""
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in DROP_KEYS:
            continue
        if key == "properties":
            out[key] = {name: normalise(v) for name, v in value.items()}
        elif key == "format":
            if value in ("int32", "int64"):
                lo, hi = INT32 if value == "int32" else INT64
                out["minimum"] = lo
                out["maximum"] = hi
            elif value == "byte":
                out[key] = value
        else:
            out[key] = normalise(value)
    return out


def special(name, definition):
    if name == INT_OR_STRING:
        return {"type": ["integer", "string", "null"], "minimum": INT32[0], "maximum": INT32[1]}
    if name == QUANTITY:
        return {"type": ["number", "string", "null"], "pattern": QUANTITY_PATTERN}
    return definition


def minor_of(dirname):
    m = re.match(r"^v1\.(\d+)\.\d+-local-strict$", os.path.basename(dirname))
    return int(m.group(1)) if m else None


def load_versions(root):
    versions = {}
    for d in glob.glob(os.path.join(root, "v1.*-local-strict")):
        minor = minor_of(d)
        if minor is None or minor < OLDEST_MINOR:
            continue
        with open(os.path.join(d, "_definitions.json")) as f:
            raw = json.load(f)["$defs"]
        defs = {}
        gvks = {}
        for name, definition in raw.items():
            kinds = definition.get("x-kubernetes-group-version-kind", [])
            # Definitions with several kinds (DeleteOptions, WatchEvent) are not resources;
            # apimachinery types (Status, APIGroup, ...) are API responses, not resources.
            if len(kinds) != 1 or name.startswith("io.k8s.apimachinery."):
                kinds = []
            for gvk in kinds:
                api_version = gvk["version"] if not gvk["group"] else gvk["group"] + "/" + gvk["version"]
                gvks[api_version + " " + gvk["kind"]] = name
            defs[name] = special(name, normalise(definition))
        versions["1.%d" % minor] = (defs, gvks)
    if not versions:
        sys.exit("no v1.NN.0-local-strict directories found under %s" % root)
    return versions


def compact(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def render_index(index):
    """JSON with one API per line: small, and reviewable in diffs."""
    lines = ["{"]
    lines.append(' "source": %s,' % json.dumps(index["source"]))
    lines.append(' "versions": %s,' % json.dumps(index["versions"]))
    lines.append(' "apis": {')
    items = list(index["apis"].items())
    for i, (k, v) in enumerate(items):
        lines.append("  %s: %s%s" % (json.dumps(k), json.dumps(v), "," if i + 1 < len(items) else ""))
    lines.append(" },")
    lines.append(' "removedBefore": [')
    rb = index["removedBefore"]
    for i, v in enumerate(rb):
        lines.append("  %s%s" % (json.dumps(v), "," if i + 1 < len(rb) else ""))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", help="a downloaded kubernetes_validate wheel")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "schemas", "kubernetes"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if not wheel:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "kubernetes-validate==" + PINNED, "--no-deps", "-d", tmp],
                check=True,
            )
            wheel = glob.glob(os.path.join(tmp, "kubernetes_validate-*.whl"))[0]
        package_version = re.search(r"kubernetes_validate-([^-]+)-", os.path.basename(wheel)).group(1)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        versions = load_versions(os.path.join(tmp, "kubernetes_validate", "kubernetes-json-schema"))

    order = sorted(versions, key=lambda v: int(v.split(".")[1]))
    os.makedirs(args.out, exist_ok=True)
    for old in glob.glob(os.path.join(args.out, "v*.json.zlib")):
        os.remove(old)

    total = 0
    newest = order[-1]
    for i, version in enumerate(order):
        defs = versions[version][0]
        if version == newest:
            doc = {"$defs": defs}
        else:
            base = order[i + 1]
            base_defs = versions[base][0]
            doc = {
                "base": base,
                "set": {k: v for k, v in defs.items() if base_defs.get(k) != v},
                "remove": sorted(k for k in base_defs if k not in defs),
            }
        data = zlib.compress(compact(doc), 9)
        total += len(data)
        write(os.path.join(args.out, "v%s.json.zlib" % version), data)

    # apiVersion/kind -> definition and the range of versions serving it.
    apis = {}
    for i, version in enumerate(order):
        for gvk, name in versions[version][1].items():
            entry = apis.setdefault(gvk, {"definition": name, "first": version, "last": version, "served": []})
            if entry["definition"] != name:
                sys.exit("%s is described by %s and %s" % (gvk, entry["definition"], name))
            entry["served"].append(i)
            entry["last"] = version
    for gvk, entry in apis.items():
        served = entry.pop("served")
        if served != list(range(served[0], served[-1] + 1)):
            sys.exit("%s is not served by a contiguous range of versions: %s" % (gvk, served))
    index = {
        "source": "kubernetes-validate " + package_version,
        "versions": order,
        # "apiVersion Kind": [definition, first version serving it, last version serving it]
        "apis": {k: [v["definition"], v["first"], v["last"]] for k, v in sorted(apis.items())},
        "removedBefore": [
            {"api": a + " " + k, "removedIn": r, "replacement": rep} for a, k, r, rep in LEGACY_REMOVALS
        ],
    }
    with open(os.path.join(args.out, "apis.json"), "w") as f:
        f.write(render_index(index))
    with open(os.path.join(args.out, "NOTICE"), "w") as f:
        f.write(NOTICE.format(version=package_version))
    print("versions %s..%s, %d apiVersion/kind pairs, %d bytes of compressed bundles"
          % (order[0], newest, len(apis), total))


if __name__ == "__main__":
    main()
