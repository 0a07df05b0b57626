#!/usr/bin/env python3
"""Generates the op table (C++) and docs/ops.md from ops.toml.

ops.toml has one table per op family; each key is an op name and its value an
inline table:
  sig      "(params) -> returns" in ATen's notation (required)
  rule     the metadata rule in kernels/meta (C++ function tensord::rules::<rule>)
  dtype    promote | promote_float | bool | int64 | same | arg   (default promote)
  devices  list of "cpu", "cuda"                                  (default ["cpu"])
  py       both | function | method | none                        (default both)
  variant  a string the kernel reads (default: the op name)
  doc      one line for docs/ops.md
Only the standard library is used, so any python3 >= 3.11 can run it.
"""
import argparse
import hashlib
import re
import sys
import tomllib

PARAM_TYPES = {
    "Tensor": "kTensor", "Tensor|Scalar": "kTensorOrScalar", "Tensor[]": "kTensorList",
    "Scalar": "kScalar", "int": "kInt", "float": "kFloat", "bool": "kBool",
    "str": "kStr", "int[]": "kInts", "float[]": "kFloats", "ScalarType": "kDType",
    "Device": "kDevice", "bytes": "kData",
}
DTYPE_RULES = {"promote": "kPromote", "promote_float": "kPromoteFloat", "bool": "kBool",
               "int64": "kInt64", "same": "kSame", "arg": "kArg"}
PY_KINDS = {"both", "function", "method", "none"}


class SchemaError(Exception):
    pass


def parse_default(text, ptype):
    t = text.strip()
    if t == "None":
        return "Value::None()", None
    if t in ("True", "False"):
        return f"Value::Bool({'true' if t == 'True' else 'false'})", t == "True"
    if t.startswith("["):
        items = [x.strip() for x in t[1:-1].split(",") if x.strip()]
        if ptype == "float[]":
            return "Value::Floats({" + ", ".join(items) + "})", [float(x) for x in items]
        return "Value::Ints({" + ", ".join(items) + "})", [int(x) for x in items]
    if t.startswith('"') or t.startswith("'"):
        s = t[1:-1]
        return f'Value::Str("{s}")', s
    if ptype == "ScalarType":
        return f"Value::OfDType(DType::k{t})", t
    if re.fullmatch(r"-?\d+", t) and ptype not in ("float",):
        return f"Value::Int({t})", int(t)
    try:
        v = float(t)
    except ValueError as e:
        raise SchemaError(f"bad default {t!r}") from e
    return f"Value::Float({t if ('.' in t or 'e' in t or 'inf' in t) else t + '.0'})", v


def parse_sig(name, sig):
    m = re.fullmatch(r"\s*\((.*)\)\s*->\s*(.+?)\s*", sig)
    if not m:
        raise SchemaError(f"{name}: signature must look like '(params) -> returns'")
    params_text, ret = m.group(1), m.group(2)
    params, kwonly, alias = [], False, None
    for raw in [p.strip() for p in params_text.split(",") if p.strip()] if params_text.strip() else []:
        if raw == "*":
            kwonly = True
            continue
        default = None
        if "=" in raw:
            raw, default = raw.split("=", 1)
        parts = raw.split()
        if len(parts) != 2:
            raise SchemaError(f"{name}: cannot parse parameter {raw!r}")
        ptype, pname = parts
        annot = re.search(r"\((a!?)\)", ptype)
        if annot:
            alias = len(params)
            ptype = ptype.replace(annot.group(0), "")
        optional = ptype.endswith("?")
        ptype = ptype.rstrip("?")
        if ptype not in PARAM_TYPES:
            raise SchemaError(f"{name}: unknown parameter type {ptype!r}")
        p = {"name": pname, "type": ptype, "optional": optional, "kwonly": kwonly,
             "default": None, "default_py": None}
        if default is not None:
            p["default"], p["default_py"] = parse_default(default, ptype)
        params.append(p)
    ret = ret.strip()
    num = 1
    if ret == "()":
        kind, num = "kNone", 0
    elif ret == "Tensor":
        kind = "kNew"
    elif ret == "Tensor(a)":
        kind = "kView"
    elif ret == "Tensor(a!)":
        kind = "kInPlace"
    elif ret == "Tensor(a)[]":
        kind = "kViewList"
    elif ret == "Tensor[]":
        kind = "kList"
    elif ret.startswith("(") and ret.endswith(")"):
        items = [x.strip() for x in ret[1:-1].split(",")]
        if any(x != "Tensor" for x in items):
            raise SchemaError(f"{name}: tuple returns must be plain Tensors")
        kind, num = "kNew", len(items)
    else:
        raise SchemaError(f"{name}: unknown return {ret!r}")
    if kind in ("kView", "kInPlace", "kViewList") and alias is None:
        raise SchemaError(f"{name}: aliasing return needs an (a)/(a!) parameter")
    return params, kind, num, alias


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    data = tomllib.loads(raw.decode())
    ops = []
    seen = set()
    for family, table in data.items():
        for name, spec in table.items():
            if name in seen:
                raise SchemaError(f"op {name} defined twice")
            seen.add(name)
            unknown = set(spec) - {"sig", "rule", "dtype", "devices", "py", "variant", "doc"}
            if unknown:
                raise SchemaError(f"{name}: unknown keys {sorted(unknown)}")
            params, kind, num, alias = parse_sig(name, spec["sig"])
            dtype = spec.get("dtype", "promote")
            if dtype not in DTYPE_RULES:
                raise SchemaError(f"{name}: unknown dtype rule {dtype!r}")
            py = spec.get("py", "both")
            if py not in PY_KINDS:
                raise SchemaError(f"{name}: unknown py {py!r}")
            if "rule" not in spec:
                raise SchemaError(f"{name}: missing rule")
            ops.append({
                "name": name, "family": family, "sig": spec["sig"], "params": params,
                "kind": kind, "num": num, "alias": alias, "rule": spec["rule"],
                "dtype": dtype, "devices": spec.get("devices", ["cpu"]), "py": py,
                "variant": spec.get("variant", name), "doc": spec.get("doc", ""),
            })
    version = hashlib.sha256(raw).hexdigest()[:16]
    return ops, version


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_cpp(ops, version):
    rules = sorted({op["rule"] for op in ops})
    out = ["// Generated by kernels/schema/gen_ops.py from ops.toml. Do not edit.",
           '#include "kernels/schema/op_schema.h"', "",
           "#include <unordered_map>", "", "namespace tensord {", "namespace rules {"]
    for r in rules:
        out.append(f"void {r}(const OpSchema&, const OpArgs&, std::vector<TensorMeta>&);")
    out += ["}  // namespace rules", "", "namespace {", "",
            "std::vector<OpSchema> BuildOpTable() {", "  std::vector<OpSchema> ops;",
            f"  ops.reserve({len(ops)});"]
    for i, op in enumerate(ops):
        out.append("  {")
        out.append("    OpSchema s;")
        out.append(f"    s.index = {i};")
        out.append(f"    s.name = {cstr(op['name'])};")
        out.append(f"    s.signature = {cstr(op['name'] + op['sig'])};")
        for p in op["params"]:
            d = p["default"]
            out.append("    s.params.push_back(Param{" + ", ".join([
                cstr(p["name"]), f"ParamType::{PARAM_TYPES[p['type']]}",
                "true" if p["optional"] else "false", "true" if p["kwonly"] else "false",
                "true" if d is not None else "false", d if d is not None else "Value::None()"]) + "});")
        out.append(f"    s.returns = ReturnKind::{op['kind']};")
        out.append(f"    s.num_returns = {op['num']};")
        out.append(f"    s.alias_param = {op['alias'] if op['alias'] is not None else -1};")
        out.append(f"    s.dtype_rule = DTypeRule::{DTYPE_RULES[op['dtype']]};")
        out.append(f"    s.rule = &rules::{op['rule']};")
        out.append(f"    s.rule_name = {cstr(op['rule'])};")
        out.append(f"    s.cpu = {'true' if 'cpu' in op['devices'] else 'false'};")
        out.append(f"    s.cuda = {'true' if 'cuda' in op['devices'] else 'false'};")
        out.append(f"    s.python = {cstr('' if op['py'] == 'none' else op['py'])};")
        out.append(f"    s.doc = {cstr(op['doc'])};")
        out.append(f"    s.variant = {cstr(op['variant'])};")
        out.append("    ops.push_back(std::move(s));")
        out.append("  }")
    out += ["  return ops;", "}", "", "}  // namespace", "",
            "const std::vector<OpSchema>& AllOps() {",
            "  static const std::vector<OpSchema> ops = BuildOpTable();",
            "  return ops;", "}", "",
            "const OpSchema* FindOp(std::string_view name) {",
            "  static const auto* index = [] {",
            "    auto* m = new std::unordered_map<std::string_view, const OpSchema*>();",
            "    for (const auto& op : AllOps()) (*m)[op.name] = &op;",
            "    return m;", "  }();",
            "  auto it = index->find(name);",
            "  return it == index->end() ? nullptr : it->second;", "}", "",
            f"std::string_view OpSchemaVersion() {{ return {cstr(version)}; }}", "",
            "}  // namespace tensord", ""]
    return "\n".join(out)


def emit_docs(ops, version):
    out = ["# Ops", "",
           "Generated from `kernels/schema/ops.toml` by `kernels/schema/gen_ops.py`; do not edit.",
           f"Schema version `{version}`, {len(ops)} ops.", "",
           "`py`: how Python exposes the op (`torch.X`, `Tensor.X`, both, or internal).",
           "`cuda`: the CUDA backend scaffold runs the op on contiguous float32 tensors",
           "(factories and device copies: every dtype; no broadcasting yet).", ""]
    family = None
    for op in ops:
        if op["family"] != family:
            family = op["family"]
            out += ["", f"## {family}", "", "| op | signature | devices | py | |", "|---|---|---|---|---|"]
        sig = op["sig"].replace("|", "\\|")
        out.append(f"| `{op['name']}` | `{sig}` | {', '.join(op['devices'])} | {op['py']} | {op['doc']} |")
    return "\n".join(out) + "\n"


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("schema")
    ap.add_argument("--cpp", required=True)
    ap.add_argument("--docs", required=True)
    a = ap.parse_args()
    try:
        ops, version = load(a.schema)
    except (SchemaError, KeyError, tomllib.TOMLDecodeError) as e:
        print(f"gen_ops: {a.schema}: {e}", file=sys.stderr)
        return 1
    write_if_changed(a.cpp, emit_cpp(ops, version))
    write_if_changed(a.docs, emit_docs(ops, version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
