// tensord._C: binds the C++ client core for the Python package.
//
// The generic entry point is call(op, args, kwargs), which binds Python
// arguments to an op's schema (defaults, keywords, numbers in Tensor|Scalar
// slots) like PyTorch's argument parser. The arithmetic dunder methods are
// bound directly, since they are the hottest path of eager programs.
#include <Python.h>
#include <frameobject.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "kernels/core/error.h"
#include "tensord/core.h"

namespace nb = nanobind;
using namespace tensord;
using client::Core;
using client::TensorPtr;

namespace {

struct PyTensor {
  TensorPtr impl;
};

// Python objects registered by the package at import.
struct Registry {
  nb::object dtypes[kNumDTypes];   // tensord.float32, ...
  nb::object size_type;            // tensord.Size
  nb::object device_type;          // tensord.device
  nb::object callback;             // tensord._autograd._run_callback
  nb::object tensor_init;          // tensord._legacy.tensor_init: torch.Tensor(...)
  std::string package_dir;         // frames under it are skipped for locations
  std::shared_ptr<Core> core;      // the current connection
  std::vector<uint64_t> op_counts_closed;  // ops recorded by earlier connections
} g;

// Keeps the op counts of a connection that is being replaced or closed.
void RetireCore() {
  if (!g.core) return;
  auto counts = g.core->op_counts();
  if (g.op_counts_closed.size() < counts.size()) g.op_counts_closed.resize(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) g.op_counts_closed[i] += counts[i];
  std::shared_ptr<Core> core = std::move(g.core);
  // Closing waits for the daemon to finish the session's queued work (and,
  // with the connection down, for re-attach attempts): other Python threads
  // go on meanwhile.
  nb::gil_scoped_release unlocked;
  core->Close();
}

// A child made by fork() inherits the parent's connection without its
// threads, and shares its socket: using it would wedge the child and corrupt
// the parent's stream (and gRPC may not run again after fork). So the child
// drops the connection and refuses tensord calls, as torch refuses CUDA in a
// forked child. The dropped core is leaked on purpose: its destructor would
// join threads that do not exist in the child.
bool g_forked_from_connected = false;

void AfterForkInChild() {
  if (!g.core) return;
  new std::shared_ptr<Core>(std::move(g.core));
  g_forked_from_connected = true;
}

void CheckNotForked() {
  if (!g_forked_from_connected) return;
  throw OpError(ErrorKind::kRuntime,
                "[tensord] this process was forked from one connected to a tensord daemon, and a "
                "forked child cannot use its parent's connection. To use tensord with "
                "multiprocessing, use the 'spawn' or 'forkserver' start method "
                "(torch.multiprocessing.spawn and get_context('spawn') do)");
}

std::shared_ptr<Core>& CurrentCore() {
  CheckNotForked();
  if (!g.core) {
    // Ask the package to connect (env, embedded daemon): done in Python.
    nb::module_::import_("tensord._connection").attr("ensure_connected")();
  }
  if (!g.core) throw OpError(ErrorKind::kRuntime, "[tensord] not connected to a daemon");
  return g.core;
}

// "file:line" strings by (code object, bytecode offset): computing a line
// number walks the code's line table, too slow to do for every op. Cached
// code objects are kept alive so their addresses cannot be reused.
struct LocationKey {
  PyCodeObject* code;
  int lasti;
  bool operator==(const LocationKey&) const = default;
};
struct LocationKeyHash {
  size_t operator()(const LocationKey& k) const {
    return std::hash<void*>()(k.code) ^ (static_cast<size_t>(k.lasti) * 0x9e3779b97f4a7c15ull);
  }
};
std::unordered_map<LocationKey, std::string, LocationKeyHash> g_locations;

void ClearLocations() {
  for (auto& [key, text] : g_locations) Py_DECREF(key.code);
  g_locations.clear();
}

// "file:line" of the innermost frame outside the tensord package.
std::string CallerLocation() {
  PyFrameObject* frame = PyEval_GetFrame();  // borrowed
  Py_XINCREF(frame);
  while (frame) {
    PyCodeObject* code = PyFrame_GetCode(frame);  // new reference
    const LocationKey key{code, PyFrame_GetLasti(frame)};
    auto it = g_locations.find(key);
    if (it == g_locations.end()) {
      const char* file = PyUnicode_AsUTF8(code->co_filename);
      const bool ours = file && !g.package_dir.empty() &&
                        std::strncmp(file, g.package_dir.data(), g.package_dir.size()) == 0;
      // Frames inside the package map to "" (keep walking outwards).
      std::string text = ours || !file ? std::string()
                                       : std::string(file) + ":" + std::to_string(PyFrame_GetLineNumber(frame));
      if (g_locations.size() >= 8192) ClearLocations();
      Py_INCREF(code);
      it = g_locations.emplace(key, std::move(text)).first;
    }
    Py_DECREF(code);
    if (!it->second.empty()) {
      Py_DECREF(frame);
      return it->second;
    }
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  return std::string();
}

nb::object DTypeObject(DType d) { return g.dtypes[static_cast<int>(d)]; }

bool IsNumber(nb::handle h) {
  return PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr());
}

Value NumberValue(nb::handle h) {
  if (PyBool_Check(h.ptr())) return Value::Bool(h.ptr() == Py_True);
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (overflow) throw OpError(ErrorKind::kRuntime, "Overflow when unpacking long");
    return Value::Int(v);
  }
  return Value::Float(PyFloat_AsDouble(h.ptr()));
}

DType DTypeFromObject(nb::handle h, const char* op, const char* param) {
  if (nb::hasattr(h, "_index")) {
    int idx = nb::cast<int>(h.attr("_index"));
    if (idx >= 0 && idx < kNumDTypes) return static_cast<DType>(idx);
  }
  Fail(ErrorKind::kType, op, "(): argument '", param, "' must be torch.dtype, not ",
       nb::cast<std::string>(nb::str(h.type().attr("__name__"))));
}

// A device the daemon lacks fails when the op is issued, with the error a
// CUDA build of PyTorch raises, rather than poisoning results that surface
// at a later sync point.
void CheckDaemonHasDevice(const Device& d, const std::string& op) {
  if (d.is_cpu()) return;
  const std::vector<std::string>& devices = CurrentCore()->info().devices;
  const std::string want = d.str();
  if (std::find(devices.begin(), devices.end(), want) != devices.end()) return;
  std::string have;
  for (const std::string& name : devices) have += (have.empty() ? "" : ", ") + name;
  const bool any_cuda = std::any_of(devices.begin(), devices.end(),
                                    [](const std::string& name) { return name.rfind("cuda", 0) == 0; });
  Fail(ErrorKind::kRuntime, any_cuda ? "CUDA error: invalid device ordinal" : "No CUDA GPUs are available",
       " (op '", op, "' asked for ", want, "; the daemon has ", have, ")");
}

const char* TypeName(nb::handle h) { return Py_TYPE(h.ptr())->tp_name; }

[[noreturn]] void ArgTypeError(const OpSchema& op, const Param& p, size_t pos, nb::handle h) {
  Fail(ErrorKind::kType, op.name, "(): argument '", p.name, "' (position ", pos + 1,
       ") must be ", ParamTypeName(p.type), ", not ", TypeName(h));
}

// Converts one Python argument to a Value for parameter p.
Value ToValue(const OpSchema& op, const Param& p, size_t pos, nb::handle h,
              std::vector<TensorPtr>& tensors) {
  if (h.is_none()) {
    if (!p.optional) ArgTypeError(op, p, pos, h);
    return Value::None();
  }
  switch (p.type) {
    case ParamType::kTensor:
    case ParamType::kTensorOrScalar: {
      if (nb::isinstance<PyTensor>(h)) {
        tensors.push_back(nb::cast<PyTensor&>(h).impl);
        return Value::Tensor(static_cast<int64_t>(tensors.size() - 1));
      }
      if (p.type == ParamType::kTensorOrScalar && IsNumber(h)) return NumberValue(h);
      if (p.type == ParamType::kTensorOrScalar && nb::hasattr(h, "__float__") && !nb::hasattr(h, "__len__")) {
        return Value::Float(nb::cast<double>(h.attr("__float__")()));
      }
      ArgTypeError(op, p, pos, h);
    }
    case ParamType::kTensorList: {
      if (!PySequence_Check(h.ptr())) ArgTypeError(op, p, pos, h);
      std::vector<int64_t> idx;
      for (nb::handle item : nb::borrow<nb::sequence>(h)) {
        if (!nb::isinstance<PyTensor>(item)) {
          Fail(ErrorKind::kType, op.name, "(): expected Tensor as element ", idx.size(),
               " in argument ", pos + 1, ", but got ", TypeName(item));
        }
        tensors.push_back(nb::cast<PyTensor&>(item).impl);
        idx.push_back(static_cast<int64_t>(tensors.size() - 1));
      }
      return Value::Tensors(std::move(idx));
    }
    case ParamType::kScalar:
      if (IsNumber(h)) return NumberValue(h);
      if (nb::isinstance<PyTensor>(h)) {
        // A 0-d / one-element tensor as a number: a sync point, like PyTorch's .item().
        return Value::Float(nb::cast<double>(h.attr("item")()));
      }
      if (nb::hasattr(h, "__float__")) return Value::Float(nb::cast<double>(h.attr("__float__")()));
      ArgTypeError(op, p, pos, h);
    case ParamType::kInt:
      if (PyLong_Check(h.ptr())) return NumberValue(h);
      if (nb::hasattr(h, "__index__")) return Value::Int(nb::cast<int64_t>(h.attr("__index__")()));
      ArgTypeError(op, p, pos, h);
    case ParamType::kFloat:
      if (IsNumber(h)) return Value::Float(nb::cast<double>(h));
      ArgTypeError(op, p, pos, h);
    case ParamType::kBool:
      if (PyBool_Check(h.ptr())) return Value::Bool(h.ptr() == Py_True);
      ArgTypeError(op, p, pos, h);
    case ParamType::kStr:
      if (PyUnicode_Check(h.ptr())) return Value::Str(nb::cast<std::string>(h));
      ArgTypeError(op, p, pos, h);
    case ParamType::kInts: {
      if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return Value::Ints({nb::cast<int64_t>(h)});
      if (!PySequence_Check(h.ptr()) || PyUnicode_Check(h.ptr())) ArgTypeError(op, p, pos, h);
      std::vector<int64_t> v;
      for (nb::handle item : nb::borrow<nb::sequence>(h)) {
        if (PyLong_Check(item.ptr()) && !PyBool_Check(item.ptr())) {
          v.push_back(nb::cast<int64_t>(item));
        } else if (nb::hasattr(item, "__index__")) {
          v.push_back(nb::cast<int64_t>(item.attr("__index__")()));
        } else {
          Fail(ErrorKind::kType, op.name, "(): argument '", p.name, "' must be tuple of ints, "
               "but found element of type ", TypeName(item), " at pos ", v.size());
        }
      }
      return Value::Ints(std::move(v));
    }
    case ParamType::kFloats: {
      std::vector<double> v;
      for (nb::handle item : nb::borrow<nb::sequence>(h)) v.push_back(nb::cast<double>(item));
      return Value::Floats(std::move(v));
    }
    case ParamType::kDType: return Value::OfDType(DTypeFromObject(h, op.name.c_str(), p.name.c_str()));
    case ParamType::kDevice: {
      std::string s = nb::cast<std::string>(nb::str(h));
      auto d = Device::Parse(s);
      if (!d) Fail(ErrorKind::kRuntime, "Expected one of cpu, cuda device type at start of device string: ", s);
      CheckDaemonHasDevice(*d, op.name);
      return Value::OfDevice(*d);
    }
    case ParamType::kData:
      if (PyBytes_Check(h.ptr())) {
        return Value::Data(std::string(PyBytes_AsString(h.ptr()), PyBytes_Size(h.ptr())));
      }
      ArgTypeError(op, p, pos, h);
  }
  ArgTypeError(op, p, pos, h);
}

nb::object Wrap(TensorPtr t) { return nb::cast(PyTensor{std::move(t)}); }

// Runs op with bound values and turns results into Python objects.
nb::object Invoke(const OpSchema& op, std::vector<Value> values, std::vector<TensorPtr>& tensors,
                  nb::handle inplace_self) {
  auto results = CurrentCore()->Call(op, std::move(values), tensors, CallerLocation());
  switch (op.returns) {
    case ReturnKind::kNone: return nb::none();
    case ReturnKind::kInPlace: return nb::borrow(inplace_self);
    case ReturnKind::kList:
    case ReturnKind::kViewList: {
      nb::list out;
      for (auto& r : results) out.append(Wrap(std::move(r)));
      return nb::tuple(out);
    }
    default:
      if (op.num_returns == 1) return Wrap(std::move(results[0]));
      nb::list out;
      for (auto& r : results) out.append(Wrap(std::move(r)));
      return nb::tuple(out);
  }
}

const OpSchema& OpByName(const std::string& name) {
  const OpSchema* op = FindOp(name);
  if (!op) Fail(ErrorKind::kNotImplemented, "tensord has no op '", name, "'");
  return *op;
}

// call(op, args, kwargs): PyTorch-style binding of positional and keyword
// arguments to the op's parameters.
nb::object Call(nb::handle op_handle, nb::tuple args, nb::handle kwargs) {
  const OpSchema& op = nb::isinstance<nb::int_>(op_handle)
                           ? AllOps().at(nb::cast<size_t>(op_handle))
                           : OpByName(nb::cast<std::string>(op_handle));
  size_t nargs = args.size();
  // x.view(2, 3) means x.view((2, 3)): numbers past a trailing int[]
  // parameter are packed into it, as PyTorch's parser does.
  size_t last_positional = 0;
  for (size_t i = 0; i < op.params.size(); ++i) {
    if (!op.params[i].kwarg_only) last_positional = i;
  }
  if (nargs > last_positional + 1 && op.params[last_positional].type == ParamType::kInts) {
    nb::list packed;
    for (size_t i = last_positional; i < nargs; ++i) packed.append(args[i]);
    nb::list head;
    for (size_t i = 0; i < last_positional; ++i) head.append(args[i]);
    head.append(packed);
    args = nb::tuple(head);
    nargs = args.size();
  }
  std::vector<Value> values;
  values.reserve(op.params.size());
  std::vector<TensorPtr> tensors;
  size_t positional = 0;
  for (const Param& p : op.params) {
    if (!p.kwarg_only) ++positional;
  }
  if (nargs > positional) {
    Fail(ErrorKind::kType, op.name, "() takes ", positional, " positional argument",
         positional == 1 ? "" : "s", " but ", nargs, " were given");
  }
  size_t used_kwargs = 0;
  nb::handle inplace_self;
  for (size_t i = 0; i < op.params.size(); ++i) {
    const Param& p = op.params[i];
    nb::handle h;
    bool have = false;
    if (i < nargs) {
      h = args[i];
      have = true;
    }
    if (kwargs.ptr() && !kwargs.is_none()) {
      PyObject* kv = PyDict_GetItemString(kwargs.ptr(), p.name.c_str());
      if (kv) {
        if (have) Fail(ErrorKind::kType, op.name, "() got multiple values for argument '", p.name, "'");
        h = kv;
        have = true;
        ++used_kwargs;
      }
    }
    if (!have) {
      if (!p.has_default) {
        Fail(ErrorKind::kType, op.name, "() missing required argument '", p.name, "' (pos ", i + 1, ")");
      }
      values.push_back(p.default_value);
      continue;
    }
    if (static_cast<int>(i) == op.alias_param && op.returns == ReturnKind::kInPlace) inplace_self = h;
    values.push_back(ToValue(op, p, i, h, tensors));
  }
  if (kwargs.ptr() && !kwargs.is_none() && used_kwargs != PyDict_Size(kwargs.ptr())) {
    for (auto [k, v] : nb::borrow<nb::dict>(kwargs)) {
      std::string key = nb::cast<std::string>(k);
      if (op.param_index(key) < 0) {
        Fail(ErrorKind::kType, op.name, "() got an unexpected keyword argument '", key, "'");
      }
    }
  }
  return Invoke(op, std::move(values), tensors, inplace_self);
}

// The fast path of a + b, a * 2, 2 - a ...: self is a tensor, other a tensor
// or a number; reverse swaps the operands. NotImplemented for other types.
nb::object Binary(const OpSchema* op, nb::handle self, nb::handle other, bool reverse) {
  std::vector<TensorPtr> tensors;
  tensors.push_back(nb::cast<PyTensor&>(self).impl);
  Value a = Value::Tensor(0), b;
  if (nb::isinstance<PyTensor>(other)) {
    tensors.push_back(nb::cast<PyTensor&>(other).impl);
    b = Value::Tensor(1);
  } else if (IsNumber(other)) {
    b = NumberValue(other);
  } else if (nb::hasattr(other, "__float__") && !nb::hasattr(other, "__len__") &&
             !nb::hasattr(other, "__array__")) {
    b = Value::Float(nb::cast<double>(other.attr("__float__")()));
  } else {
    return nb::borrow(Py_NotImplemented);
  }
  std::vector<Value> values;
  values.reserve(op->params.size());
  values.push_back(reverse ? std::move(b) : std::move(a));
  values.push_back(reverse ? Value::Tensor(0) : std::move(b));
  for (size_t i = 2; i < op->params.size(); ++i) values.push_back(op->params[i].default_value);
  return Invoke(*op, std::move(values), tensors, self);
}

// One static schema lookup per operator, not per call.
#define TENSORD_OP_NAME(Tag, name) \
  struct Tag {                    \
    static constexpr const char* kName = name; \
  };
TENSORD_OP_NAME(OpAdd, "add")
TENSORD_OP_NAME(OpAdd_, "add_")
TENSORD_OP_NAME(OpSub, "sub")
TENSORD_OP_NAME(OpSub_, "sub_")
TENSORD_OP_NAME(OpMul, "mul")
TENSORD_OP_NAME(OpMul_, "mul_")
TENSORD_OP_NAME(OpDiv, "div")
TENSORD_OP_NAME(OpDiv_, "div_")
TENSORD_OP_NAME(OpMatmul, "matmul")
#undef TENSORD_OP_NAME

template <typename Tag, bool kReverse>
nb::object BinaryMethod(nb::handle self, nb::handle other) {
  static const OpSchema* op = &OpByName(Tag::kName);
  return Binary(op, self, other, kReverse);
}

void RaisePython(const char* exc, const std::string& msg) {
  PyObject* type = PyExc_RuntimeError;
  if (!std::strcmp(exc, "IndexError")) type = PyExc_IndexError;
  else if (!std::strcmp(exc, "TypeError")) type = PyExc_TypeError;
  else if (!std::strcmp(exc, "ValueError")) type = PyExc_ValueError;
  else if (!std::strcmp(exc, "NotImplementedError")) type = PyExc_NotImplementedError;
  else if (!std::strcmp(exc, "OutOfMemoryError")) {
    // torch.cuda.OutOfMemoryError, a RuntimeError subclass.
    nb::object cls = nb::module_::import_("tensord.cuda").attr("OutOfMemoryError");
    PyErr_SetString(cls.ptr(), msg.c_str());
    return;
  }
  PyErr_SetString(type, msg.c_str());
}

// The daemon's backward asks for Python autograd code (a Function's
// backward, a tensor hook); runs it and sends its gradients back.
void RunCallback(client::CallbackRequest req) {
  nb::gil_scoped_acquire gil;
  std::vector<TensorPtr> results;
  std::string error, exception;
  auto core = req.grads.empty() || !req.grads[0] ? g.core : req.grads[0]->core();
  try {
    if (!g.callback) throw std::runtime_error("no autograd callback handler is registered");
    nb::list grads;
    for (auto& t : req.grads) {
      if (t) grads.append(Wrap(t));
      else grads.append(nb::none());
    }
    nb::object out = g.callback(req.kind, req.handle, grads);
    for (nb::handle h : out) {
      if (h.is_none()) {
        results.push_back(nullptr);
      } else {
        results.push_back(nb::cast<PyTensor&>(h).impl);
      }
    }
  } catch (nb::python_error& e) {
    exception = nb::cast<std::string>(e.type().attr("__name__"));
    error = nb::cast<std::string>(nb::str(e.value()));
    if (error.empty()) error = exception;
  } catch (const std::exception& e) {
    exception = "RuntimeError";
    error = e.what();
  }
  if (core) {
    nb::gil_scoped_release unlocked;
    core->ReplyCallback(req.id, results, error, exception);
  }
}

nb::object Fetch(PyTensor& t) {
  CheckNotForked();
  client::FetchedTensor f;
  {
    nb::gil_scoped_release unlocked;  // other Python threads run while we wait
    f = t.impl->core()->Fetch(t.impl);
  }
  auto* keep = new std::shared_ptr<const char>(f.data);
  nb::capsule owner(keep, [](void* p) noexcept {
    delete static_cast<std::shared_ptr<const char>*>(p);
  });
  std::vector<size_t> shape(f.sizes.begin(), f.sizes.end());
  nb::dlpack::dtype dt;
  switch (f.dtype) {
    case DType::kBool: dt = nb::dtype<bool>(); break;
    case DType::kUInt8: dt = nb::dtype<uint8_t>(); break;
    case DType::kInt8: dt = nb::dtype<int8_t>(); break;
    case DType::kInt16: dt = nb::dtype<int16_t>(); break;
    case DType::kInt32: dt = nb::dtype<int32_t>(); break;
    case DType::kInt64: dt = nb::dtype<int64_t>(); break;
    case DType::kFloat16: dt = {static_cast<uint8_t>(nb::dlpack::dtype_code::Float), 16, 1}; break;
    case DType::kBFloat16: dt = nb::dtype<uint16_t>(); break;  // bits; Python widens them
    case DType::kFloat32: dt = nb::dtype<float>(); break;
    case DType::kFloat64: dt = nb::dtype<double>(); break;
  }
  nb::ndarray<nb::numpy> arr(const_cast<char*>(f.data.get()), shape.size(), shape.data(), owner,
                             nullptr, dt);
  return nb::cast(arr);
}

}  // namespace

NB_MODULE(_C, m) {
  pthread_atfork(nullptr, nullptr, &AfterForkInChild);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const client::RemoteError& e) {
      std::string msg = e.what();
      if (!e.location().empty()) msg += "\n  (op '" + e.op() + "' was issued at " + e.location() + ")";
      RaisePython(e.exception().c_str(), msg);
    } catch (const OpError& e) {
      RaisePython(ErrorKindPythonName(e.kind()), e.what());
    }
  });

  nb::class_<PyTensor>(m, "Tensor", nb::is_weak_referenceable())
      // torch.Tensor(...), the legacy constructor (and subclasses' construction):
      // the package builds the tensor in Python, this object takes its handle.
      .def("__init__", [](PyTensor* self, nb::args args, nb::kwargs kwargs) {
        if (!g.tensor_init) Fail(ErrorKind::kRuntime, "[tensord] Tensor(): the package is not initialised");
        nb::object made = g.tensor_init(*args, **kwargs);
        if (!nb::isinstance<PyTensor>(made)) {
          Fail(ErrorKind::kRuntime, "[tensord] Tensor(): the constructor did not return a tensor");
        }
        new (self) PyTensor{nb::cast<PyTensor&>(made).impl};
      })
      .def_prop_ro("dtype", [](PyTensor& t) { return DTypeObject(t.impl->meta().dtype); })
      .def_prop_ro("shape", [](PyTensor& t) {
        const Shape& s = t.impl->meta().sizes;
        nb::list l;
        for (int64_t d : s) l.append(d);
        return g.size_type(nb::tuple(l));
      })
      .def_prop_ro("ndim", [](PyTensor& t) { return t.impl->meta().dim(); })
      .def("dim", [](PyTensor& t) { return t.impl->meta().dim(); })
      .def("numel", [](PyTensor& t) { return t.impl->meta().numel(); })
      .def("nelement", [](PyTensor& t) { return t.impl->meta().numel(); })
      .def("element_size", [](PyTensor& t) { return ItemSize(t.impl->meta().dtype); })
      .def("is_contiguous", [](PyTensor& t) { return t.impl->meta().is_contiguous(); })
      .def("storage_offset", [](PyTensor& t) { return t.impl->meta().offset; })
      .def("_strides", [](PyTensor& t) { return std::vector<int64_t>(t.impl->meta().strides); })
      .def_prop_ro("_device_str", [](PyTensor& t) { return t.impl->meta().device.str(); })
      .def_prop_ro("_id", [](PyTensor& t) { return t.impl->id(); })
      .def_prop_ro("_storage_id", [](PyTensor& t) { return t.impl->storage_id(); })
      .def("_fetch", &Fetch)
      .def("_daemon_meta", [](PyTensor& t) {
        CheckNotForked();
        TensorMeta m;
        {
          nb::gil_scoped_release unlocked;
          m = t.impl->core()->FetchMeta(t.impl->id());
        }
        return nb::make_tuple(std::vector<int64_t>(m.sizes), std::vector<int64_t>(m.strides), m.offset, std::string(DTypeName(m.dtype)));
      })
      // Autograd metadata (the Python API is in tensord/_autograd.py).
      .def_prop_ro("_requires_grad", [](PyTensor& t) { return t.impl->RequiresGrad(); })
      .def_prop_ro("_is_leaf", [](PyTensor& t) {
        t.impl->RefreshViewGradFn();
        return t.impl->is_leaf();
      })
      .def_prop_ro("_grad_fn_name", [](PyTensor& t) -> nb::object {
        t.impl->RefreshViewGradFn();
        if (t.impl->grad_fn) return nb::str(t.impl->grad_fn->grad_name.c_str());
        if (t.impl->opaque_grad_fn) {
          return nb::str(t.impl->custom_grad_fn_name.empty() ? "BackwardResult"
                                                              : t.impl->custom_grad_fn_name.c_str());
        }
        return nb::none();
      })
      // A result of autograd.grad(create_graph=True): it requires grad
      // through a node only the daemon knows.
      .def("_mark_backward_result", [](PyTensor& t) {
        t.impl->requires_grad = true;
        t.impl->opaque_grad_fn = true;
      })
      .def("_mark_function_result", [](PyTensor& t, const std::string& name) {
        t.impl->requires_grad = true;
        t.impl->opaque_grad_fn = true;
        t.impl->custom_grad_fn_name = name;
      })
      .def("_is_none", [](PyTensor& t) {
        CheckNotForked();
        nb::gil_scoped_release unlocked;
        return t.impl->is_none();
      })
      .def("_grad", [](PyTensor& t) -> nb::object {
        CheckNotForked();
        client::TensorImpl& impl = *t.impl;
        const auto& core = impl.core();
        if (impl.grad_cache_epoch != core->grad_epoch() ||
            (!impl.grad_cache && !impl.grad_cache_none)) {
          static const OpSchema* op = FindOp("_grad_get");
          TensorPtr r = core->Call(*op, {Value::Tensor(0)}, {t.impl}, CallerLocation())[0];
          bool none;
          {
            nb::gil_scoped_release unlocked;
            none = r->is_none();
          }
          impl.grad_cache = none ? nullptr : r;
          impl.grad_cache_none = none;
          impl.grad_cache_epoch = core->grad_epoch();
        }
        if (impl.grad_cache_none) return nb::none();
        return Wrap(impl.grad_cache);
      })
      .def("__add__", BinaryMethod<OpAdd, false>)
      .def("__radd__", BinaryMethod<OpAdd, true>)
      .def("__iadd__", BinaryMethod<OpAdd_, false>)
      .def("__sub__", BinaryMethod<OpSub, false>)
      .def("__rsub__", BinaryMethod<OpSub, true>)
      .def("__isub__", BinaryMethod<OpSub_, false>)
      .def("__mul__", BinaryMethod<OpMul, false>)
      .def("__rmul__", BinaryMethod<OpMul, true>)
      .def("__imul__", BinaryMethod<OpMul_, false>)
      .def("__truediv__", BinaryMethod<OpDiv, false>)
      .def("__rtruediv__", BinaryMethod<OpDiv, true>)
      .def("__itruediv__", BinaryMethod<OpDiv_, false>)
      .def("__matmul__", BinaryMethod<OpMatmul, false>)
      .def("__rmatmul__", BinaryMethod<OpMatmul, true>);

  m.def("call", &Call, nb::arg("op"), nb::arg("args"), nb::arg("kwargs").none() = nb::none());
  m.def("binary", [](const std::string& op, nb::handle s, nb::handle o, bool reverse) {
    return Binary(&OpByName(op), s, o, reverse);
  });
  m.def("from_buffer", [](nb::bytes data, int dtype, std::vector<int64_t> sizes) {
    std::string loc = CallerLocation();
    return Wrap(CurrentCore()->FromBytes(data.c_str(), data.size(), static_cast<DType>(dtype),
                                         sizes, loc));
  });
  m.def("from_array", [](nb::ndarray<nb::c_contig, nb::device::cpu> arr, int dtype, std::vector<int64_t> sizes) {
    std::string loc = CallerLocation();
    return Wrap(CurrentCore()->FromBytes(arr.data(), arr.nbytes(), static_cast<DType>(dtype),
                                         sizes, loc));
  });
  m.def("op_table", [] {
    nb::list out;
    for (const OpSchema& op : AllOps()) {
      nb::dict d;
      d["index"] = op.index;
      d["name"] = op.name;
      d["signature"] = op.signature;
      d["python"] = op.python;
      d["doc"] = op.doc;
      d["autograd"] = op.autograd == Autograd::kFormula         ? "formula"
                      : op.autograd == Autograd::kNotImplemented ? "not_implemented"
                      : op.autograd == Autograd::kNotInTorch     ? "not_in_torch"
                                                                 : "none";
      nb::list grad_params;
      for (size_t i = 0; i < op.params.size(); ++i) {
        if ((op.grad_params >> i) & 1) grad_params.append(op.params[i].name);
      }
      d["grad_params"] = grad_params;
      nb::list params;
      for (const Param& p : op.params) params.append(nb::make_tuple(p.name, ParamTypeName(p.type), p.kwarg_only));
      d["params"] = params;
      out.append(d);
    }
    return out;
  });
  m.def("op_schema_version", [] { return std::string(OpSchemaVersion()); });
  m.def("_register", [](nb::list dtypes, nb::object size_type, nb::object device_type, std::string package_dir) {
    for (int i = 0; i < kNumDTypes; ++i) g.dtypes[i] = dtypes[i];
    g.size_type = size_type;
    g.device_type = device_type;
    g.package_dir = package_dir;
  });
  m.def("connect", [](const std::string& address, const std::string& token, bool tls,
                      const std::string& tls_ca, const std::string& tls_cert,
                      const std::string& tls_key, const std::string& tls_server_name) {
    CheckNotForked();
    client::ConnectOptions o;
    o.client_name = "tensord-python";
    o.token = token;
    o.tls.enabled = tls;
    o.tls.ca_file = tls_ca;
    o.tls.cert_file = tls_cert;
    o.tls.key_file = tls_key;
    o.tls.server_name = tls_server_name;
    std::shared_ptr<Core> core;
    {
      nb::gil_scoped_release unlocked;
      core = Core::Connect(address, o);
    }
    RetireCore();
    core->SetCallbackHandler([](client::CallbackRequest req) { RunCallback(std::move(req)); });
    g.core = core;
  }, nb::arg("address"), nb::arg("token") = "", nb::arg("tls") = false, nb::arg("tls_ca") = "",
     nb::arg("tls_cert") = "", nb::arg("tls_key") = "", nb::arg("tls_server_name") = "");
  m.def("disconnect", [] { RetireCore(); });
  m.def("_set_callback", [](nb::object fn) { g.callback = fn; });
  m.def("_set_tensor_init", [](nb::object fn) { g.tensor_init = fn; });
  m.def("_take_released_handles", [] {
    return g.core ? g.core->TakeReleasedHandles() : std::vector<uint64_t>{};
  });
  m.def("is_grad_enabled", [] { return client::GradEnabled(); });
  m.def("set_grad_enabled", [](bool on) { client::SetGradEnabled(on); });
  m.def("connected", [] { return g.core != nullptr; });
  m.def("synchronize", [] {
    auto core = CurrentCore();
    nb::gil_scoped_release unlocked;
    core->Synchronize();
  });
  m.def("daemon_info", [] {
    const auto& i = CurrentCore()->info();
    nb::dict d;
    d["daemon_version"] = i.daemon_version;
    d["op_schema_version"] = i.op_schema_version;
    d["devices"] = i.devices;
    d["device_names"] = i.device_names;
    d["device_total_memory"] = i.device_total_memory;
    d["dtypes"] = i.dtypes;
    d["protocol"] = std::to_string(i.protocol_major) + "." + std::to_string(i.protocol_minor);
    d["op_count"] = i.op_count;
    d["session_id"] = CurrentCore()->session_id();
    d["shared_memory"] = i.shared_memory;
    return d;
  });
  m.def("op_counts", [] {
    std::vector<uint64_t> counts = g.op_counts_closed;
    counts.resize(AllOps().size());
    if (g.core) {
      auto live = g.core->op_counts();
      for (size_t i = 0; i < live.size(); ++i) counts[i] += live[i];
    }
    nb::dict d;
    for (const OpSchema& op : AllOps()) d[op.name.c_str()] = counts[op.index];
    return d;
  });
  m.def("stats", [] {
    nb::dict d;
    d["ops_recorded"] = g.core ? g.core->ops_recorded() : 0;
    d["batches_sent"] = g.core ? g.core->batches_sent() : 0;
    d["reattaches"] = g.core ? g.core->reattaches() : 0;
    return d;
  });
  // Drop the connection before the interpreter tears down nanobind.
  nb::module_::import_("atexit").attr("register")(nb::cpp_function([] {
    RetireCore();
    ClearLocations();
    for (auto& d : g.dtypes) d.reset();
    g.size_type.reset();
    g.device_type.reset();
    g.callback.reset();
    g.tensor_init.reset();
  }));
}
