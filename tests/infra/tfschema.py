"""The Google provider's schema, offline, from the npm package of its CDKTF bindings.

`@cdktf/provider-google` is generated from the provider's own schema: 14.19.0 from
hashicorp/google 6.20.0, the version terraform/versions.tf pins. Per resource, data source
and the provider itself, its `lib/<name>/**/*.js` hold

- `synthesizeHclAttributes()` (top level) and `<struct>ToHclTerraform()` (every nested
  block): each argument's exact Terraform name, attribute or block, and the nested block's
  struct;
- `<struct>ToTerraform()`: `cdktf.listMapper(...)` for a repeatable block, a plain call for
  a block that may appear once;
- the getters of the resource and output-reference classes (`getStringAttribute('uri')`,
  `new XList(this, "conditions", ...)`): every attribute a reference may read, computed
  ones included;

and its `*.d.ts` interfaces (`readonly name: string` / `readonly value?: string`) which
arguments are required. `build()` reads those files straight out of the package tarball
(no extraction: the package holds ~470 MB) into one compact JSON document:

    {"provider": {...}, "resources": {type: block}, "data_sources": {type: block}}
    block = {"attrs": {name: {"required": bool, "input": bool}},
             "blocks": {name: {"required": bool, "max_one": bool, "block": block | null}}}

`python -m tests.infra.tfschema` builds (or reuses) the cache under .local/tfschema/,
downloading the package with `npm pack` once per version.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@cdktf/provider-google"
PACKAGE_VERSION = "14.19.0"  # generated from hashicorp/google 6.20.0 (terraform/versions.tf)
PROVIDER_VERSION = "6.20.0"
CACHE = ROOT / ".local" / "tfschema"

_FUNC = re.compile(r"^function (\w+?)(ToHclTerraform|ToTerraform)\(struct\) \{$", re.M)
_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{$", re.M)
_TYPE = re.compile(r'^(\w+)\.tfResourceType = "([\w-]+)";$', re.M)
_HCL_ENTRY = re.compile(
    r'^\s+"?([\w-]+)"?: \{\n\s+value: (.*?),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n'
    r'\s+storageClassType: "(\w+)",\n\s+\},?$',
    re.M,
)
_TF_ENTRY = re.compile(r'^\s+"?([\w-]+)"?: (.*?),?$', re.M)
_NESTED_CALL = re.compile(r"(\w+?)ToHclTerraform\b")
_SOURCE_PROP = re.compile(r"(?:struct|this)\??\.(?:_)?(\w+)")
_GETTER = re.compile(r"""(?:get\w*Attribute|interpolationForAttribute)\('([\w-]+)'\)""")
_NEW_REF = re.compile(r'new (\w+)\(this, "([\w-]+)"')
_INTERFACE = re.compile(r"^export interface (\w+)(?: extends [\w.]+)? \{$", re.M)
_PROPERTY = re.compile(r"^\s+readonly (\w+)(\?)?: ", re.M)
_KINDS = {"cdktf.TerraformResource": "resources", "cdktf.TerraformDataSource": "data_sources"}


def cache_file(version: str = PACKAGE_VERSION) -> Path:
    return CACHE / f"google-{PROVIDER_VERSION}-cdktf-{version}.json"


def tarball(version: str = PACKAGE_VERSION) -> Path:
    """The package tarball, fetched from the npm registry by `npm pack` once per version."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"cdktf-provider-google-{version}.tgz"
    if not path.is_file():
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", str(CACHE), "--silent"],
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
    return path


def _bodies(text: str, pattern: re.Pattern) -> dict[str, tuple[str, str]]:
    """name -> (second group, body) for top-level functions or classes (body ends at "\n}")."""
    found = {}
    for match in pattern.finditer(text):
        end = text.find("\n}\n", match.end())
        found[match.group(1)] = (match.group(2), text[match.end() : end if end >= 0 else len(text)])
    return found


def _bodies_all(text: str, pattern: re.Pattern) -> list[tuple[str, tuple[str, str]]]:
    """Like _bodies, keeping every match (a struct has both a ToTerraform and a ToHclTerraform)."""
    found = []
    for match in pattern.finditer(text):
        end = text.find("\n}\n", match.end())
        found.append((match.group(1), (match.group(2), text[match.end() : end if end >= 0 else len(text)])))
    return found


def _struct_key(class_name: str) -> str:
    for suffix in ("OutputReference", "List", "Map"):
        if class_name.endswith(suffix):
            return class_name[: -len(suffix)]
    return class_name


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _parse_library(js: str, dts: str) -> dict[str, dict]:
    """One lib/<name> directory (all its .js and .d.ts concatenated) -> its top-level blocks."""
    functions = {name + suffix: (suffix, body) for name, (suffix, body) in _bodies_all(js, _FUNC)}
    classes = _bodies(js, _CLASS)
    types = dict(_TYPE.findall(js))
    optional: dict[str, dict[str, bool]] = {}
    for match in _INTERFACE.finditer(dts):
        end = dts.find("\n}\n", match.end())
        optional[_lower_first(match.group(1))] = {
            prop: bool(mark) for prop, mark in _PROPERTY.findall(dts[match.end() : end])
        }
    # repeatable blocks: `name: cdktf.listMapper(fooToTerraform, true)(struct.x)`
    many: dict[str, set[str]] = defaultdict(set)
    for full, (suffix, body) in functions.items():
        if suffix == "ToTerraform":
            for name, value in _TF_ENTRY.findall(body):
                if "listMapper(" in value:
                    many[full.removesuffix(suffix)].add(name)
    # readable attributes per struct (getters of its output reference / list classes)
    readable: dict[str, dict[str, str | None]] = defaultdict(dict)
    for class_name, (_, body) in classes.items():
        key = _lower_first(_struct_key(class_name))
        for name in _GETTER.findall(body):
            readable[key].setdefault(name, None)
        for ref_class, name in _NEW_REF.findall(body):
            if ref_class.startswith("cdktf."):
                readable[key].setdefault(name, None)
            else:
                readable[key][name] = _lower_first(_struct_key(ref_class))

    def entries(body: str):
        for name, value, is_block, _type, _storage in _HCL_ENTRY.findall(body):
            source = _SOURCE_PROP.search(value)
            nested = _NESTED_CALL.search(value)
            yield name, source.group(1) if source else name, is_block == "true", nested.group(1) if nested else None

    def block(key: str, body: str | None, config_key: str, seen: tuple[str, ...] = ()) -> dict:
        attrs, blocks = {}, {}
        props = optional.get(config_key, {})
        if body is not None:
            for name, prop, is_block, nested in entries(body):
                required = prop in props and not props[prop]
                if is_block and nested:
                    # a recursive struct (rare) is cut at its second occurrence
                    inner = None if nested in seen else block(nested, _hcl_body(nested), nested, (*seen, nested))
                    blocks[name] = {"required": required, "max_one": name not in many.get(key, ()), "block": inner}
                else:
                    attrs[name] = {"required": required, "input": True}
        for name, ref in readable.get(key, {}).items():
            if name in attrs or name in blocks:
                continue
            if ref is not None and ref not in seen and _hcl_body(ref) is not None:
                # a computed nested object: readable, never written
                attrs[name] = {"required": False, "input": False, "nested": block(ref, None, ref, (*seen, ref))}
            else:
                attrs[name] = {"required": False, "input": False}
        return {"attrs": attrs, "blocks": blocks}

    hcl_bodies = {
        name.removesuffix(suffix): body for name, (suffix, body) in functions.items() if suffix == "ToHclTerraform"
    }

    def _hcl_body(name: str) -> str | None:
        return hcl_bodies.get(name)

    out: dict[str, dict] = {}
    for class_name, (base, body) in classes.items():
        kind = _KINDS.get(base) or ("provider" if base == "cdktf.TerraformProvider" else None)
        if kind is None:
            continue
        start = body.find("synthesizeHclAttributes() {")
        synth = body[start : body.find("\n    }\n", start)] if start >= 0 else ""
        key = _lower_first(class_name)
        # the top-level class's getters and its synthesizeHclAttributes
        schema = block(key, synth, key + "Config", (key,))
        # `many` for the top level is keyed by the class's synthesizeAttributes
        start = body.find("synthesizeAttributes() {")
        top = body[start : body.find("\n    }\n", start)] if start >= 0 else ""
        for name, value in _TF_ENTRY.findall(top):
            if name in schema["blocks"]:
                schema["blocks"][name]["max_one"] = "listMapper(" not in value
        out[f"{kind}:{types.get(class_name, 'google')}"] = schema
    return out


def build(version: str = PACKAGE_VERSION) -> dict:
    """Read the package tarball into the schema document (about a minute on 2 cores)."""
    libraries: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"js": [], "dts": []})
    with tarfile.open(tarball(version), "r|gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if len(parts) < 4 or parts[1] != "lib" or not member.isfile():
                continue
            kind = "dts" if member.name.endswith(".d.ts") else "js" if member.name.endswith(".js") else None
            if kind is None:
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            libraries[parts[2]][kind].append(handle.read().decode())
    doc: dict = {
        "package": f"{PACKAGE}@{version}",
        "provider_version": PROVIDER_VERSION,
        "provider": {},
        "resources": {},
        "data_sources": {},
    }
    for files in libraries.values():
        for key, schema in _parse_library("\n".join(files["js"]), "\n".join(files["dts"])).items():
            kind, name = key.split(":", 1)
            if kind == "provider":
                doc["provider"] = schema
            else:
                doc[kind][name] = schema
    return doc


def load(version: str = PACKAGE_VERSION) -> dict:
    """The cached schema; built (and the package fetched) the first time."""
    path = cache_file(version)
    if not path.is_file():
        doc = build(version)
        assert len(doc["resources"]) > 500 and doc["provider"], f"{PACKAGE}@{version}: schema looks empty"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True))
        tmp.replace(path)
    return json.loads(path.read_text())


if __name__ == "__main__":
    started = time.monotonic()
    schema = load()
    print(
        f"{cache_file()}: {len(schema['resources'])} resources, {len(schema['data_sources'])} data sources"
        f" ({time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
