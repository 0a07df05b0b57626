// The pickle side of checkpoints: a protocol-2 writer for exactly a
// state_dict (OrderedDict of name -> _rebuild_tensor_v2(...)), and a reader
// that runs a whitelisted subset of the pickle machine (the opcodes torch and
// tensord emit for such a dict) and refuses every other global or opcode.
#include "tensord/serialize.h"

#include <map>
#include <memory>
#include <set>
#include <variant>

#include "zip_archive.h"

namespace tensord {
namespace {

const char* StorageName(DType d) {
  switch (d) {
    case DType::kFloat32:
      return "FloatStorage";
    case DType::kFloat64:
      return "DoubleStorage";
    case DType::kFloat16:
      return "HalfStorage";
    case DType::kBFloat16:
      return "BFloat16Storage";
    case DType::kInt64:
      return "LongStorage";
    case DType::kInt32:
      return "IntStorage";
    case DType::kInt16:
      return "ShortStorage";
    case DType::kInt8:
      return "CharStorage";
    case DType::kUInt8:
      return "ByteStorage";
    case DType::kBool:
      return "BoolStorage";
  }
  return "";
}

// ---------------------------------------------------------------- writer

class PickleWriter {
 public:
  void Proto() { out_ += "\x80\x02"; }
  void Global(const std::string& module, const std::string& name) {
    out_ += "c" + module + "\n" + name + "\n";
  }
  void Mark() { out_ += '('; }
  void Tuple() { out_ += 't'; }
  void EmptyTuple() { out_ += ')'; }
  void Reduce() { out_ += 'R'; }
  void False() { out_ += '\x89'; }
  void BinPersId() { out_ += 'Q'; }
  void SetItems() { out_ += 'u'; }
  void Stop() { out_ += '.'; }
  void Str(const std::string& s) {
    out_ += 'X';
    Le(static_cast<uint64_t>(s.size()), 4);
    out_ += s;
  }
  void Int(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      Le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';
      Le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      Le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      out_ += "\x8a\x08";  // LONG1 of 8 bytes, two's complement
      Le(static_cast<uint64_t>(v), 8);
    }
  }
  void IntTuple(const Shape& v) {
    Mark();
    for (int64_t x : v) Int(x);
    Tuple();
  }
  std::string& bytes() { return out_; }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string out_;
};

// ---------------------------------------------------------------- reader

struct Obj;
using ObjPtr = std::shared_ptr<Obj>;
struct StorageRef {
  DType dtype;
  std::string key;
  int64_t numel;
};
struct TensorRef {
  StorageRef storage;
  int64_t offset;
  Shape sizes, strides;
};
struct Global {
  std::string module, name;
};
using Dict = std::vector<std::pair<ObjPtr, ObjPtr>>;
using Items = std::vector<ObjPtr>;
struct Mark {};
struct Obj {
  std::variant<std::monostate, bool, int64_t, std::string, Items, Global, Dict, StorageRef,
               TensorRef, Mark>
      v;
};

class PickleReader {
 public:
  PickleReader(std::string data, std::string what) : d_(std::move(data)), what_(std::move(what)) {}

  ObjPtr Run() {
    while (true) {
      const uint8_t op = Byte();
      switch (op) {
        case 0x80:
          Byte();
          break;  // PROTO
        case 'c':
          Push(Make(Global{Line(), Line()}));
          CheckGlobal();
          break;
        case 'q':
          memo_[Byte()] = Top();
          break;
        case 'r':
          memo_[static_cast<uint32_t>(Le(4))] = Top();
          break;
        case 'h':
          Push(Memo(Byte()));
          break;
        case 'j':
          Push(Memo(static_cast<uint32_t>(Le(4))));
          break;
        case '(':
          marks_.push_back(stack_.size());
          break;
        case ')':
          Push(Make(Items{}));
          break;
        case 't':
          Push(Make(PopMark()));
          break;
        case 0x85:
        case 0x86:
        case 0x87: {
          const size_t n = op - 0x84;
          Need(n);
          Items items(stack_.end() - static_cast<int64_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          Push(Make(std::move(items)));
          break;
        }
        case 'X': {
          const uint64_t n = Le(4);
          Push(Make(Bytes(n)));
          break;
        }
        case 0x8c: {
          const uint64_t n = Byte();
          Push(Make(Bytes(n)));
          break;
        }
        case 'K':
          Push(Make(static_cast<int64_t>(Byte())));
          break;
        case 'M':
          Push(Make(static_cast<int64_t>(Le(2))));
          break;
        case 'J':
          Push(Make(static_cast<int64_t>(static_cast<int32_t>(Le(4)))));
          break;
        case 0x8a: {
          const uint64_t n = Byte();
          Check(n <= 8, "integer too large");
          uint64_t v = Le(static_cast<int>(n));
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~uint64_t{0} << (8 * n);  // sign-extend
          Push(Make(static_cast<int64_t>(v)));
          break;
        }
        case 0x88:
          Push(Make(true));
          break;
        case 0x89:
          Push(Make(false));
          break;
        case 'N':
          Push(std::make_shared<Obj>());
          break;
        case '}':
          Push(Make(Dict{}));
          break;
        case 'Q':
          Push(PersistentLoad(Pop()));
          break;
        case 'R': {
          ObjPtr args = Pop();
          ObjPtr fn = Pop();
          Push(Reduce(*fn, *args));
          break;
        }
        case 's': {
          ObjPtr v = Pop();
          ObjPtr k = Pop();
          AsDict(Top()).emplace_back(k, v);
          break;
        }
        case 'u': {
          Items kv = PopMark();
          Check(kv.size() % 2 == 0, "SETITEMS with an odd number of items");
          Dict& dict = AsDict(Top());
          for (size_t i = 0; i < kv.size(); i += 2) dict.emplace_back(kv[i], kv[i + 1]);
          break;
        }
        case 'b': {  // BUILD: an OrderedDict's state (torch's _metadata), ignored
          Pop();
          AsDict(Top());
          break;
        }
        case '.':
          Need(1);
          return Pop();
        default:
          Fail(ErrorKind::kRuntime, "[load] ", what_, ": unsupported pickle opcode 0x", Hex(op),
               " (the C++ loader reads only state_dicts of tensors)");
      }
    }
  }

 private:
  template <typename T>
  static ObjPtr Make(T v) {
    auto o = std::make_shared<Obj>();
    o->v = std::move(v);
    return o;
  }
  static std::string Hex(uint8_t b) {
    const char* h = "0123456789abcdef";
    return {h[b >> 4], h[b & 15]};
  }
  void Check(bool ok, const std::string& msg) {
    if (!ok) Fail(ErrorKind::kRuntime, "[load] ", what_, ": ", msg);
  }
  uint8_t Byte() {
    Check(pos_ < d_.size(), "truncated pickle");
    return static_cast<uint8_t>(d_[pos_++]);
  }
  uint64_t Le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(Byte()) << (8 * i);
    return v;
  }
  std::string Bytes(uint64_t n) {
    Check(pos_ + n <= d_.size(), "truncated pickle");
    std::string s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string Line() {
    const size_t end = d_.find('\n', pos_);
    Check(end != std::string::npos, "truncated pickle");
    std::string s = d_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  void Need(size_t n) {
    Check(stack_.size() >= n + (marks_.empty() ? 0 : marks_.back()), "stack underflow");
  }
  void Push(ObjPtr o) { stack_.push_back(std::move(o)); }
  ObjPtr Pop() {
    Need(1);
    ObjPtr o = std::move(stack_.back());
    stack_.pop_back();
    return o;
  }
  ObjPtr& Top() {
    Need(1);
    return stack_.back();
  }
  Items PopMark() {
    Check(!marks_.empty(), "no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    Items items(stack_.begin() + static_cast<int64_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  ObjPtr Memo(uint32_t i) {
    auto it = memo_.find(i);
    Check(it != memo_.end(), "memo key not found");
    return it->second;
  }
  Dict& AsDict(ObjPtr& o) {
    Check(std::holds_alternative<Dict>(o->v), "a dict item set on a non-dict");
    return std::get<Dict>(o->v);
  }
  void CheckGlobal() {
    const Global& g = std::get<Global>(stack_.back()->v);
    static const std::set<std::pair<std::string, std::string>> allowed = {
        {"collections", "OrderedDict"},
        {"torch._utils", "_rebuild_tensor_v2"},
        {"torch._utils", "_rebuild_parameter"}};
    if (allowed.count({g.module, g.name})) return;
    if (g.module == "torch" && StorageDType(g.name, nullptr)) return;
    Fail(ErrorKind::kRuntime, "[load] ", what_, ": refusing global '", g.module, ".", g.name,
         "' (the C++ loader reads only state_dicts of tensors)");
  }
  static bool StorageDType(const std::string& name, DType* out) {
    for (int i = 0; i < kNumDTypes; ++i) {
      if (name == StorageName(static_cast<DType>(i))) {
        if (out) *out = static_cast<DType>(i);
        return true;
      }
    }
    return false;
  }
  int64_t AsInt(const ObjPtr& o) {
    Check(std::holds_alternative<int64_t>(o->v), "expected an integer");
    return std::get<int64_t>(o->v);
  }
  const Items& AsItems(const ObjPtr& o) {
    Check(std::holds_alternative<Items>(o->v), "expected a tuple");
    return std::get<Items>(o->v);
  }
  Shape AsShape(const ObjPtr& o) {
    Shape s;
    for (const ObjPtr& x : AsItems(o)) s.push_back(AsInt(x));
    return s;
  }
  ObjPtr PersistentLoad(const ObjPtr& pid) {
    const Items& t = AsItems(pid);
    Check(t.size() == 5 && std::holds_alternative<std::string>(t[0]->v) &&
              std::get<std::string>(t[0]->v) == "storage" &&
              std::holds_alternative<Global>(t[1]->v) &&
              std::holds_alternative<std::string>(t[2]->v),
          "unsupported persistent id");
    StorageRef s;
    Check(StorageDType(std::get<Global>(t[1]->v).name, &s.dtype), "unsupported storage type");
    s.key = std::get<std::string>(t[2]->v);
    s.numel = AsInt(t[4]);
    return Make(std::move(s));
  }
  ObjPtr Reduce(const Obj& fn, const Obj& args_obj) {
    Check(std::holds_alternative<Global>(fn.v) && std::holds_alternative<Items>(args_obj.v),
          "REDUCE of something other than a known global");
    const Global& g = std::get<Global>(fn.v);
    const Items& a = std::get<Items>(args_obj.v);
    if (g.name == "OrderedDict") {
      Check(a.empty(), "OrderedDict with arguments");
      return Make(Dict{});
    }
    if (g.name == "_rebuild_tensor_v2") {
      Check(a.size() >= 4 && std::holds_alternative<StorageRef>(a[0]->v),
            "malformed _rebuild_tensor_v2");
      return Make(
          TensorRef{std::get<StorageRef>(a[0]->v), AsInt(a[1]), AsShape(a[2]), AsShape(a[3])});
    }
    if (g.name == "_rebuild_parameter") {
      Check(!a.empty() && std::holds_alternative<TensorRef>(a[0]->v),
            "malformed _rebuild_parameter");
      return a[0];
    }
    Fail(ErrorKind::kRuntime, "[load] ", what_, ": cannot call '", g.module, ".", g.name, "'");
  }

  std::string d_, what_;
  size_t pos_ = 0;
  std::vector<ObjPtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint32_t, ObjPtr> memo_;
};

}  // namespace

void save_state_dict(const nn::NamedTensors& state, const std::string& path) {
  PickleWriter p;
  p.Proto();
  p.Global("collections", "OrderedDict");
  p.EmptyTuple();
  p.Reduce();
  p.Mark();
  for (size_t i = 0; i < state.size(); ++i) {
    const Tensor& t = state[i].second;
    p.Str(state[i].first);
    p.Global("torch._utils", "_rebuild_tensor_v2");
    p.Mark();
    p.Mark();  // the persistent id: ('storage', torch.XStorage, key, 'cpu', numel)
    p.Str("storage");
    p.Global("torch", StorageName(t.dtype()));
    p.Str(std::to_string(i));
    p.Str("cpu");
    p.Int(t.numel());
    p.Tuple();
    p.BinPersId();
    p.Int(0);
    p.IntTuple(t.sizes());
    p.IntTuple(TensorMeta::Contiguous(t.dtype(), Device{}, t.sizes()).strides);
    p.False();
    p.Global("collections", "OrderedDict");
    p.EmptyTuple();
    p.Reduce();
    p.Tuple();
    p.Reduce();
  }
  p.SetItems();
  p.Stop();

  zip::Writer w(path);
  w.Add("archive/data.pkl", p.bytes());
  for (size_t i = 0; i < state.size(); ++i) {
    const Tensor& t = state[i].second;
    client::FetchedTensor f = t.impl()->core()->Fetch(t.impl());  // contiguous bytes
    w.Add("archive/data/" + std::to_string(i), std::string_view(f.data.get(), f.nbytes));
  }
  w.Add("archive/version", "3\n");
  w.Add("archive/byteorder", "little");
  w.Finish();
}

nn::NamedTensors load_state_dict(Session& session, const std::string& path) {
  zip::Reader zr(path);
  const std::string what = "'" + path + "'";
  TD_CHECK(!zr.names().empty(), kRuntime, "[load] ", what, " is an empty archive");
  const std::string& first = zr.names()[0];
  const std::string prefix = first.substr(0, first.find('/'));
  if (zr.Has(prefix + "/byteorder")) {
    TD_CHECK(zr.Read(prefix + "/byteorder") == "little", kNotImplemented, "[load] ", what,
             ": big-endian checkpoints are not supported by the C++ loader");
  }
  ObjPtr root = PickleReader(zr.Read(prefix + "/data.pkl"), what).Run();
  TD_CHECK(std::holds_alternative<Dict>(root->v), kRuntime, "[load] ", what,
           " does not hold a state_dict (a dict of names to tensors)");
  nn::NamedTensors out;
  std::map<std::string, Tensor> flats;  // one upload per storage record
  for (const auto& [k, v] : std::get<Dict>(root->v)) {
    TD_CHECK(std::holds_alternative<std::string>(k->v) && std::holds_alternative<TensorRef>(v->v),
             kRuntime, "[load] ", what, ": a state_dict entry is not a name -> tensor pair");
    const TensorRef& t = std::get<TensorRef>(v->v);
    Tensor& flat = flats[t.storage.key];
    if (!flat.defined()) {
      const std::string bytes = zr.Read(prefix + "/data/" + t.storage.key);
      TD_CHECK(bytes.size() == static_cast<size_t>(t.storage.numel) * ItemSize(t.storage.dtype),
               kRuntime, "[load] ", what, ": record ", t.storage.key, " holds ", bytes.size(),
               " bytes, not ", t.storage.numel, " elements of ", DTypeName(t.storage.dtype));
      flat = Tensor(session.core()->FromBytes(bytes.data(), bytes.size(), t.storage.dtype,
                                              {t.storage.numel}, "serialize.cpp:load"));
    }
    Tensor r = flat;
    const Shape contiguous = TensorMeta::Contiguous(t.storage.dtype, Device{}, t.sizes).strides;
    if (t.offset != 0 || t.sizes != Shape{t.storage.numel} || t.strides != contiguous) {
      r = session.Call1("as_strided", {flat, std::vector<int64_t>(t.sizes),
                                       std::vector<int64_t>(t.strides), t.offset});
    }
    out.emplace_back(std::get<std::string>(k->v), r);
  }
  return out;
}

void save(const nn::Module& module, const std::string& path) {
  save_state_dict(module.state_dict(), path);
}

void load(nn::Module& module, const std::string& path) {
  nn::NamedTensors own = module.state_dict();
  TD_CHECK(!own.empty(), kRuntime, "[load] the module has no parameters or buffers to load into");
  Session s = own[0].second.session();
  nn::NamedTensors loaded = load_state_dict(s, path);
  std::map<std::string, Tensor> by_name(loaded.begin(), loaded.end());
  std::string missing, unexpected, mismatched;
  for (const auto& [n, t] : own) {
    auto it = by_name.find(n);
    if (it == by_name.end()) {
      missing += (missing.empty() ? "\"" : ", \"") + n + "\"";
    } else if (it->second.sizes() != t.sizes()) {
      mismatched += "\n\tsize mismatch for " + n + ": copying a param with shape " +
                    ShapeStr(it->second.sizes()) +
                    " from checkpoint, the shape in current model is " + ShapeStr(t.sizes()) + ".";
    }
  }
  std::set<std::string> own_names;
  for (const auto& [n, t] : own) own_names.insert(n);
  for (const auto& [n, t] : loaded) {
    if (!own_names.count(n)) unexpected += (unexpected.empty() ? "\"" : ", \"") + n + "\"";
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = "[load] Error(s) in loading state_dict for " + module.type_name() + ":";
    if (!missing.empty()) msg += "\n\tMissing key(s) in state_dict: " + missing + ".";
    if (!unexpected.empty()) msg += "\n\tUnexpected key(s) in state_dict: " + unexpected + ".";
    msg += mismatched;
    Fail(ErrorKind::kRuntime, msg);
  }
  NoGradGuard no_grad;
  for (const auto& [n, t] : own) t.copy_(by_name[n]);
}

}  // namespace tensord
