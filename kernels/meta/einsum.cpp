#include "kernels/meta/einsum.h"

#include <algorithm>

#include "kernels/core/error.h"

namespace tensord {
namespace {

constexpr int kLetters = 52;
constexpr int kEllipsis = -1;  // marks where an ellipsis stood while parsing

int LabelOf(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c - 'a' + 26; }
bool IsLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Subscripts of one term; positions index the whole equation for messages.
std::vector<int> ParseTerm(std::string_view eq, size_t begin, size_t end, const std::string& who) {
  std::vector<int> out;
  bool ellipsis = false;
  for (size_t i = begin; i < end; ++i) {
    const char c = eq[i];
    if (c == ' ') continue;
    if (c == '.') {
      TD_CHECK(!ellipsis, kRuntime, "[einsum] einsum(): found '.' for ", who,
               " for which an ellipsis was already found");
      TD_CHECK(i + 2 < end && eq[i + 1] == '.' && eq[i + 2] == '.', kRuntime,
               "[einsum] einsum(): found '.' for ", who, " that is not part of any ellipsis");
      ellipsis = true;
      out.push_back(kEllipsis);
      i += 2;
      continue;
    }
    TD_CHECK(IsLetter(c), kRuntime, "[einsum] einsum(): invalid subscript given at index ", i,
             " in the equation string, subscripts must be in [a-zA-Z]");
    out.push_back(LabelOf(c));
  }
  return out;
}

}  // namespace

Shape EinsumSpec::OutputSizes() const {
  Shape out;
  for (int l : output) out.push_back(label_size[l]);
  return out;
}

bool EinsumSpec::Contracts() const {
  for (size_t l = 0; l < label_size.size(); ++l) {
    if (label_size[l] >= 0 && std::find(output.begin(), output.end(), l) == output.end()) return true;
  }
  return false;
}

EinsumSpec ParseEinsum(std::string_view eq, const std::vector<Shape>& shapes) {
  const size_t arrow = eq.find("->");
  const size_t lhs_end = arrow == std::string_view::npos ? eq.size() : arrow;
  std::vector<std::vector<int>> terms;
  size_t start = 0;
  for (size_t i = 0; i <= lhs_end; ++i) {
    if (i == lhs_end || eq[i] == ',') {
      const size_t k = terms.size();
      TD_CHECK(k < shapes.size(), kRuntime,
               "[einsum] einsum(): fewer operands were provided than specified in the equation");
      terms.push_back(ParseTerm(eq, start, i, "operand " + std::to_string(k)));
      start = i + 1;
    }
  }
  TD_CHECK(terms.size() == shapes.size(), kRuntime,
           "[einsum] einsum(): more operands were provided than specified in the equation");
  // How many dims each ellipsis covers; all of them align to the right.
  int64_t ell_dims = 0;
  std::vector<int64_t> op_ell(terms.size(), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    const auto& t = terms[k];
    const bool has_ell = std::find(t.begin(), t.end(), kEllipsis) != t.end();
    const int64_t nsub = static_cast<int64_t>(t.size()) - (has_ell ? 1 : 0);
    const int64_t ndim = static_cast<int64_t>(shapes[k].size());
    if (has_ell) {
      TD_CHECK(nsub <= ndim, kRuntime, "[einsum] einsum(): the number of subscripts in the equation (",
               nsub, ") is more than the number of dimensions (", ndim, ") for operand ", k);
      op_ell[k] = ndim - nsub;
      ell_dims = std::max(ell_dims, op_ell[k]);
    } else {
      TD_CHECK(nsub == ndim, kRuntime, "[einsum] einsum(): the number of subscripts in the equation (",
               nsub, ") does not match the number of dimensions (", ndim, ") for operand ", k,
               " and no ellipsis was given");
    }
  }
  EinsumSpec spec;
  spec.label_size.assign(kLetters + ell_dims, -1);
  std::vector<int> count(kLetters + ell_dims, 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    std::vector<int> labels;
    for (int l : terms[k]) {
      if (l != kEllipsis) {
        labels.push_back(l);
        continue;
      }
      for (int64_t e = ell_dims - op_ell[k]; e < ell_dims; ++e) labels.push_back(kLetters + e);
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      const int64_t s = shapes[k][d];
      ++count[l];
      for (size_t d2 = 0; d2 < d; ++d2) {
        TD_CHECK(labels[d2] != l || shapes[k][d2] == s, kRuntime, "[einsum] einsum(): subscript ",
                 static_cast<char>(l < 26 ? 'A' + l : 'a' + l - 26), " is repeated for operand ", k,
                 " but the sizes don't match, ", shapes[k][d2], " != ", s);
      }
      int64_t& have = spec.label_size[l];
      if (have == -1 || have == 1) {
        have = s;
      } else if (s != 1 && s != have) {
        if (l < kLetters) {
          Fail(ErrorKind::kRuntime, "[einsum] einsum(): subscript ",
               static_cast<char>(l < 26 ? 'A' + l : 'a' + l - 26), " has size ", s, " for operand ", k,
               " which does not broadcast with previously seen size ", have);
        }
        Fail(ErrorKind::kRuntime, "[einsum] einsum(): operands do not broadcast with remapped shapes");
      }
    }
    spec.inputs.push_back(std::move(labels));
  }
  if (arrow == std::string_view::npos) {
    for (int64_t e = 0; e < ell_dims; ++e) spec.output.push_back(kLetters + static_cast<int>(e));
    for (int l = 0; l < kLetters; ++l) {
      if (count[l] == 1) spec.output.push_back(l);
    }
    return spec;
  }
  for (int l : ParseTerm(eq, arrow + 2, eq.size(), "output")) {
    if (l == kEllipsis) {
      for (int64_t e = 0; e < ell_dims; ++e) spec.output.push_back(kLetters + static_cast<int>(e));
      continue;
    }
    const char c = static_cast<char>(l < 26 ? 'A' + l : 'a' + l - 26);
    TD_CHECK(count[l] > 0, kRuntime, "[einsum] einsum(): output subscript ", c,
             " does not appear in the equation for any input operand");
    TD_CHECK(std::find(spec.output.begin(), spec.output.end(), l) == spec.output.end(), kRuntime,
             "[einsum] einsum(): output subscript ", c, " appears more than once in the output");
    spec.output.push_back(l);
  }
  return spec;
}

}  // namespace tensord
