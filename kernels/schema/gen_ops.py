#!/usr/bin/env python3
"""Generates the op table (C++), docs/ops.md and the op summary of
docs/compatibility.md from ops.toml.

ops.toml has one table per op family; each key is an op name and its value an
inline table:
  sig      "(params) -> returns" in ATen's notation (required)
  rule     the metadata rule in kernels/meta (C++ function tensord::rules::<rule>)
  dtype    promote | promote_float | bool | int64 | same | arg   (default promote)
  devices  list of "cpu", "cuda"                                  (default ["cpu"])
  py       both | function | method | none                        (default both)
  variant  a string the kernel reads (default: the op name)
  doc      one line for docs/ops.md
  grad     derivatives: {param = "formula", ...} (see below)
  autograd "none": results never require grad (detach, integer-valued ops);
           "not_in_torch": no derivative, as in torch 1.13, whose error
           ("derivative for aten::op is not implemented") backward raises
  grad_name  the grad_fn name the client shows (default: CamelCase + "Backward0")

A formula is a C++ expression in op calls: `mul(grad, other)` calls the op
`mul` (trailing parameters take their defaults). It may name the op's
parameters (a Tensor param's saved value; scalars and lists as given),
`P_sizes` (the sizes of tensor param P, which saves nothing), `P_geometry`
(its sizes, strides and storage offset, which saves nothing), `grad` (the
gradient of result 0), `grads[i]` (zeros where no gradient flowed),
`defined_grads[i]` (undefined there instead, so a formula can skip the term),
`result`/`resultN` (saved results), and the helpers of
scheduler/autograd/formula_api.h. A key naming several parameters ("a, b")
takes one op call, or a helper returning one gradient per name; both see
`output_mask`, 1 for each name whose gradient is needed. Gradients are summed to the
input's shape and cast to its dtype by the engine, so broadcasting and dtype
changes need no formula code. Ops with no `grad` and no `autograd = "none"`
raise "the derivative for 'op' is not implemented" at backward time.
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
            unknown = set(spec) - {"sig", "rule", "dtype", "devices", "py", "variant", "doc",
                                   "grad", "autograd", "grad_name"}
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
                "grad": check_grad(name, spec.get("grad"), params),
                "autograd": spec.get("autograd", "formula" if "grad" in spec else "not_implemented"),
                "grad_name": spec.get("grad_name", camel(name) + "Backward0"),
            })
            if ops[-1]["autograd"] not in ("formula", "not_implemented", "none", "not_in_torch"):
                raise SchemaError(f"{name}: autograd must be \"none\" or \"not_in_torch\"")
    # An in-place op X_ without formulas of its own differentiates like X
    # (whose `self` is then the value before the write: autograd saves it).
    by_name = {op["name"]: op for op in ops}
    for op in ops:
        base = by_name.get(op["name"][:-1]) if op["name"].endswith("_") else None
        if (base and not op["grad"] and op["autograd"] == "not_implemented" and base["grad"]
                and [p["name"] for p in op["params"]] == [p["name"] for p in base["params"]]):
            op["grad"] = dict(base["grad"])
            op["autograd"] = "formula"
    version = hashlib.sha256(raw).hexdigest()[:16]
    return ops, version


def camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def grad_keys(key):
    """A grad key names one parameter, or several ("input, weight, bias") whose
    gradients one formula computes together (an op returning a tuple)."""
    return [k.strip() for k in key.split(",")]


def check_grad(name, grad, params):
    if grad is None:
        return {}
    if not isinstance(grad, dict):
        raise SchemaError(f"{name}: grad must be a table of param = formula")
    names = {p["name"]: p for p in params}
    for key, v in grad.items():
        for k in grad_keys(key):
            if k not in names:
                raise SchemaError(f"{name}: grad names unknown parameter {k!r}")
            if names[k]["type"] not in ("Tensor", "Tensor|Scalar", "Tensor[]"):
                raise SchemaError(f"{name}: grad for non-tensor parameter {k!r}")
        if not isinstance(v, str) or not v.strip():
            raise SchemaError(f"{name}: grad of {key} must be a formula string")
    return grad


def grad_param_names(op):
    return {k for key in op["grad"] for k in grad_keys(key)}


def translate_formula(text, op_names):
    """`mul(grad, x)` -> `call("mul", {grad, x})` for every op name."""
    out, stack, i = [], [], 0
    while i < len(text):
        m = re.match(r"[A-Za-z_][A-Za-z_0-9]*", text[i:])
        if m:
            word = m.group(0)
            j = i + len(word)
            k = j
            while k < len(text) and text[k] == " ":
                k += 1
            prev = text[:i].rstrip()[-1:] if text[:i].rstrip() else ""
            if word in op_names and k < len(text) and text[k] == "(" and prev not in (".", ">"):
                out.append(f'call("{word}", {{')
                stack.append("op")
                i = k + 1
                continue
            out.append(word)
            i = j
            continue
        c = text[i]
        if c == "(":
            stack.append("paren")
        elif c == ")":
            if not stack:
                raise SchemaError(f"unbalanced ')' in formula {text!r}")
            if stack.pop() == "op":
                out.append("})")
                i += 1
                continue
        out.append(c)
        i += 1
    if stack:
        raise SchemaError(f"unbalanced '(' in formula {text!r}")
    return "".join(out)


def emit_formulas(ops):
    """scheduler/autograd's table of backward functions, one per op with grads."""
    op_names = {op["name"] for op in ops}
    out = ["// Generated by kernels/schema/gen_ops.py from ops.toml. Do not edit.",
           '#include "kernels/core/error.h"',
           '#include "scheduler/autograd/formula_api.h"', "",
           "namespace tensord::autograd {", "namespace {", ""]
    table = []
    for op in ops:
        if not op["grad"]:
            table.append(None)
            continue
        formulas = {k: translate_formula(v, op_names) for k, v in op["grad"].items()}
        text = " ".join(formulas.values())
        used = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)) - {"output_mask"}
        fn = f"Backward_{op['name']}"
        body = []
        saved_inputs = 0
        for idx, p in enumerate(op["params"]):
            if p["name"] in used:
                body.append(f"  const Arg& {p['name']} = c.arg({idx});")
                if p["type"] in ("Tensor", "Tensor|Scalar", "Tensor[]"):
                    saved_inputs |= 1 << idx
            if f"{p['name']}_sizes" in used:
                body.append(f"  const Shape& {p['name']}_sizes = c.input_sizes({idx});")
            if f"{p['name']}_geometry" in used:
                body.append(f"  const TensorMeta& {p['name']}_geometry = c.input_geometry({idx});")
        # Before grad/grads, which fill in zeros.
        if "defined_grads" in used:
            body.append("  const std::vector<Tensor> defined_grads = c.defined_grads();")
        if "grad" in used:
            body.append("  const Tensor& grad = c.grad(0);")
        if "result_metas" in used:
            body.append("  const std::vector<TensorMeta>& result_metas = c.result_metas();")
        if "grads" in used:
            body.append("  const std::vector<Tensor>& grads = c.grads();")
        saves_outputs = False
        for r in sorted(w for w in used if re.fullmatch(r"result\d*", w)):
            n = 0 if r == "result" else int(r[6:])
            body.append(f"  const Tensor& {r} = c.result({n});")
            saves_outputs = True
        index = {p["name"]: i for i, p in enumerate(op["params"])}
        for key, f in formulas.items():
            keys = grad_keys(key)
            if len(keys) == 1:
                idx = index[keys[0]]
                body.append(f"  if (c.needs({idx})) c.set({idx}, {f});")
                continue
            # One call gives several gradients: output_mask says which.
            idxs = [index[k] for k in keys]
            needs = " || ".join(f"c.needs({i})" for i in idxs)
            body.append(f"  if ({needs}) {{")
            body.append("    const std::vector<int64_t> output_mask = {"
                        + ", ".join(f"c.needs({i}) ? 1 : 0" for i in idxs) + "};")
            if f.startswith("call("):
                body.append(f"    std::vector<Tensor> r = call_all{f[len('call'):]};")
            else:  # a helper returning std::vector<Tensor>, one per name
                body.append(f"    std::vector<Tensor> r = {f};")
                body.append(f"    TD_ASSERT(r.size() == {len(idxs)}, \"{op['name']}: \", r.size(), "
                            f"\" gradients for {len(idxs)} parameters\");")
            for j, i in enumerate(idxs):
                body.append(f"    if (c.needs({i})) c.set({i}, r[{j}]);")
            body.append("  }")
        out.append(f"void {fn}(BackwardCtx& c) {{")
        out += body
        out += ["}", ""]
        table.append((fn, saved_inputs, saves_outputs))
    out += ["}  // namespace", "",
            "const std::vector<FormulaEntry>& FormulaTable() {",
            "  static const std::vector<FormulaEntry> table = {"]
    for entry in table:
        if entry is None:
            out.append("      {nullptr, 0, false},")
        else:
            fn, saved, outs = entry
            out.append(f"      {{&{fn}, {saved}ull, {'true' if outs else 'false'}}},")
    out += ["  };", "  return table;", "}", "", "}  // namespace tensord::autograd", ""]
    return "\n".join(out)


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_cpp(ops, version):
    rules = sorted({op["rule"] for op in ops})
    out = ["// Generated by kernels/schema/gen_ops.py from ops.toml. Do not edit.",
           '#include "kernels/schema/op_schema.h"', "",
           "#include <unordered_map>", "", "namespace tensord {", "namespace rules {"]
    for r in rules:
        out.append(f"void {r}(const OpSchema&, const OpArgs&, std::vector<TensorMeta>&);")
    # One small function per op rather than one function holding them all:
    # a single function of thousands of statements takes GCC tens of minutes
    # under ASan (scripts/sanitize.sh) and slows every other build too.
    out += ["}  // namespace rules", "", "namespace {", ""]
    for i, op in enumerate(ops):
        out.append(f"void AddOp{i}(std::vector<OpSchema>& ops) {{")
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
        auto = {"formula": "kFormula", "not_implemented": "kNotImplemented", "none": "kNone",
                "not_in_torch": "kNotInTorch"}[op["autograd"]]
        out.append(f"    s.autograd = Autograd::{auto};")
        mask = sum(1 << i for i, p in enumerate(op["params"]) if p["name"] in grad_param_names(op))
        out.append(f"    s.grad_params = {mask}ull;")
        out.append(f"    s.grad_name = {cstr(op['grad_name'])};")
        out.append("    ops.push_back(std::move(s));")
        out.append("}")
        out.append("")
    out += ["std::vector<OpSchema> BuildOpTable() {", "  std::vector<OpSchema> ops;",
            f"  ops.reserve({len(ops)});"]
    out += [f"  AddOp{i}(ops);" for i in range(len(ops))]
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


COMPAT_BEGIN = ("<!-- op-summary: generated from kernels/schema/ops.toml by "
                "kernels/schema/gen_ops.py; do not edit -->")
COMPAT_END = "<!-- end op-summary -->"


def emit_compat_summary(ops, version):
    """The op-schema section of docs/compatibility.md: per family, what exists."""
    out = [COMPAT_BEGIN, "",
           f"Schema version `{version}`: {len(ops)} ops, "
           f"{sum(op['autograd'] == 'formula' for op in ops)} with a derivative, "
           f"{sum('cuda' in op['devices'] for op in ops)} on CUDA.", "",
           "Public names: `x` is both `torch.x` and `Tensor.x`, `.x` a Tensor method "
           "only, `x()` a torch function only. The Python package adds more by hand "
           "(operators, `arange`, `randint`, indexing, ...).", "",
           "| family | ops | with a derivative | on CUDA | public names |",
           "|---|---|---|---|---|"]
    families = []
    for op in ops:
        if op["family"] not in families:
            families.append(op["family"])
    forms = {"both": "`{}`", "method": "`.{}`", "function": "`{}()`"}
    for family in families:
        members = [op for op in ops if op["family"] == family]
        public = [forms[op["py"]].format(op["name"]) for op in members if op["py"] != "none"]
        out.append(f"| {family} | {len(members)} "
                   f"| {sum(op['autograd'] == 'formula' for op in members)} "
                   f"| {sum('cuda' in op['devices'] for op in members)} "
                   f"| {', '.join(public) or '(internal only)'} |")
    return "\n".join(out + ["", COMPAT_END])


def replace_compat_summary(doc, summary):
    """doc with its op-summary section (between the markers) replaced."""
    begin, end = doc.find(COMPAT_BEGIN), doc.find(COMPAT_END)
    if begin < 0 or end < begin:
        raise SchemaError("the compatibility doc lacks the op-summary markers")
    return doc[:begin] + summary + doc[end + len(COMPAT_END):]


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
    ap.add_argument("--formulas", help="write the autograd formula table here")
    ap.add_argument("--compat", help="refresh the op summary in this docs/compatibility.md")
    a = ap.parse_args()
    try:
        ops, version = load(a.schema)
    except (SchemaError, KeyError, tomllib.TOMLDecodeError) as e:
        print(f"gen_ops: {a.schema}: {e}", file=sys.stderr)
        return 1
    write_if_changed(a.cpp, emit_cpp(ops, version))
    write_if_changed(a.docs, emit_docs(ops, version))
    if a.formulas:
        write_if_changed(a.formulas, emit_formulas(ops))
    if a.compat:
        with open(a.compat) as f:
            doc = f.read()
        try:
            write_if_changed(a.compat, replace_compat_summary(doc, emit_compat_summary(ops, version)))
        except SchemaError as e:
            print(f"gen_ops: {a.compat}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
