#include "zip_archive.h"

#include <algorithm>
#include <array>
#include <limits>
#include <sstream>

#include "kernels/core/error.h"

namespace tensord::zip {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, as torch writes
constexpr uint64_t kAlign = 64;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v & 0xffff));
  Put16(s, static_cast<uint16_t>(v >> 16));
}
uint16_t Get16(const std::string& s, uint64_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}
uint32_t Get32(const std::string& s, uint64_t at) {
  return Get16(s, at) | (static_cast<uint32_t>(Get16(s, at + 2)) << 16);
}

}  // namespace

uint32_t Crc32(std::string_view data, uint32_t crc) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  crc = ~crc;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Writer::Writer(const std::string& path)
    : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
  TD_CHECK(out_.good(), kRuntime, "[save] cannot open '", path, "' for writing");
}

void Writer::Add(const std::string& name, std::string_view data) {
  TD_CHECK(data.size() < std::numeric_limits<uint32_t>::max() &&
               pos_ + data.size() < std::numeric_limits<uint32_t>::max(),
           kNotImplemented, "[save] '", path_,
           "': archives over 4 GiB (zip64) are not supported by the C++ writer");
  const uint64_t data_start = pos_ + 30 + name.size() + 4;
  const uint16_t pad = static_cast<uint16_t>((kAlign - data_start % kAlign) % kAlign);
  Entry e{name, Crc32(data), static_cast<uint32_t>(data.size()), static_cast<uint32_t>(pos_)};
  std::string h;
  Put32(h, kLocalHeader);
  Put16(h, 20);  // version needed: 2.0
  Put16(h, 0);   // flags
  Put16(h, 0);   // stored
  Put16(h, 0);   // time
  Put16(h, kDosDate1980);
  Put32(h, e.crc);
  Put32(h, e.size);
  Put32(h, e.size);
  Put16(h, static_cast<uint16_t>(name.size()));
  Put16(h, static_cast<uint16_t>(4 + pad));
  h += name;
  h += "FB";
  Put16(h, pad);
  h.append(pad, 'Z');
  out_.write(h.data(), static_cast<std::streamsize>(h.size()));
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  pos_ += h.size() + data.size();
  entries_.push_back(std::move(e));
}

void Writer::Finish() {
  std::string cd;
  for (const Entry& e : entries_) {
    Put32(cd, kCentralHeader);
    Put16(cd, 20);  // made by
    Put16(cd, 20);  // needed
    Put16(cd, 0);
    Put16(cd, 0);
    Put16(cd, 0);
    Put16(cd, kDosDate1980);
    Put32(cd, e.crc);
    Put32(cd, e.size);
    Put32(cd, e.size);
    Put16(cd, static_cast<uint16_t>(e.name.size()));
    Put16(cd, 0);  // extra
    Put16(cd, 0);  // comment
    Put16(cd, 0);  // disk
    Put16(cd, 0);  // internal attributes
    Put32(cd, 0);  // external attributes
    Put32(cd, e.offset);
    cd += e.name;
  }
  TD_CHECK(entries_.size() < 0xffff && pos_ + cd.size() < std::numeric_limits<uint32_t>::max(),
           kNotImplemented, "[save] '", path_, "': too large for a zip without zip64");
  std::string end;
  Put32(end, kEndOfCentralDir);
  Put16(end, 0);
  Put16(end, 0);
  Put16(end, static_cast<uint16_t>(entries_.size()));
  Put16(end, static_cast<uint16_t>(entries_.size()));
  Put32(end, static_cast<uint32_t>(cd.size()));
  Put32(end, static_cast<uint32_t>(pos_));
  Put16(end, 0);
  out_.write(cd.data(), static_cast<std::streamsize>(cd.size()));
  out_.write(end.data(), static_cast<std::streamsize>(end.size()));
  out_.close();
  TD_CHECK(!out_.fail(), kRuntime, "[save] writing '", path_, "' failed");
}

Reader::Reader(const std::string& path) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  TD_CHECK(in.good(), kRuntime, "[load] cannot open '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  bytes_ = std::move(ss).str();
  const std::string& b = bytes_;
  // The end-of-central-directory record: the last signature within the
  // final 64 KiB (a comment may follow it).
  TD_CHECK(b.size() >= 22, kRuntime, "[load] '", path,
           "' is not a zip archive (PytorchStreamReader "
           "failed reading zip archive: failed finding central directory)");
  int64_t eocd = -1;
  const int64_t lowest = std::max<int64_t>(0, static_cast<int64_t>(b.size()) - 22 - 0xffff);
  for (int64_t at = static_cast<int64_t>(b.size()) - 22; at >= lowest; --at) {
    if (Get32(b, at) == kEndOfCentralDir) {
      eocd = at;
      break;
    }
  }
  TD_CHECK(eocd >= 0, kRuntime, "[load] '", path,
           "' is not a zip archive (PytorchStreamReader "
           "failed reading zip archive: failed finding central directory)");
  const uint16_t count = Get16(b, eocd + 10);
  const uint32_t cd_size = Get32(b, eocd + 12), cd_offset = Get32(b, eocd + 16);
  TD_CHECK(cd_offset != 0xffffffffu && count != 0xffff, kNotImplemented, "[load] '", path,
           "' is a zip64 archive, which the C++ reader does not support");
  TD_CHECK(uint64_t{cd_offset} + cd_size <= b.size(), kRuntime, "[load] '", path,
           "': truncated archive");
  uint64_t at = cd_offset;
  for (uint16_t i = 0; i < count; ++i) {
    TD_CHECK(at + 46 <= b.size() && Get32(b, at) == kCentralHeader, kRuntime, "[load] '", path,
             "': corrupt central directory");
    const uint16_t method = Get16(b, at + 10);
    const uint32_t crc = Get32(b, at + 16), csize = Get32(b, at + 20), size = Get32(b, at + 24);
    const uint16_t name_len = Get16(b, at + 28), extra_len = Get16(b, at + 30),
                   comment_len = Get16(b, at + 32);
    const uint32_t local = Get32(b, at + 42);
    std::string name = b.substr(at + 46, name_len);
    TD_CHECK(method == 0 && csize == size, kNotImplemented, "[load] '", path, "': entry '", name,
             "' is compressed; only stored entries (as torch.save writes) are supported");
    TD_CHECK(uint64_t{local} + 30 <= b.size() && Get32(b, local) == kLocalHeader, kRuntime,
             "[load] '", path, "': corrupt local header of '", name, "'");
    const uint64_t data = local + 30 + Get16(b, local + 26) + Get16(b, local + 28);
    TD_CHECK(data + size <= b.size(), kRuntime, "[load] '", path, "': entry '", name,
             "' is truncated");
    entries_[name] = Entry{data, size, crc};
    names_.push_back(std::move(name));
    at += 46 + name_len + extra_len + comment_len;
  }
}

std::string Reader::Read(const std::string& name) const {
  auto it = entries_.find(name);
  TD_CHECK(it != entries_.end(), kRuntime, "[load] PytorchStreamReader failed locating file ", name,
           ": file not found in '", path_, "'");
  std::string data = bytes_.substr(it->second.data_offset, it->second.size);
  TD_CHECK(Crc32(data) == it->second.crc, kRuntime, "[load] '", path_, "': CRC mismatch in '", name,
           "'");
  return data;
}

}  // namespace tensord::zip
