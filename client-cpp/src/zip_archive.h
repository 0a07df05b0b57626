// Stored (uncompressed) zip archives, as PyTorch's checkpoints use them:
// enough to write one and to read the entries of one. No zip64, no
// compression: such archives are refused with a clear error.
#ifndef TENSORD_CLIENT_ZIP_ARCHIVE_H_
#define TENSORD_CLIENT_ZIP_ARCHIVE_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tensord::zip {

uint32_t Crc32(std::string_view data, uint32_t crc = 0);

class Writer {
 public:
  explicit Writer(const std::string& path);
  // Each entry's data starts at a multiple of 64 bytes (torch's alignment,
  // padded with an "FB" extra field as torch's writer does).
  void Add(const std::string& name, std::string_view data);
  // Writes the central directory; the archive is complete after this.
  void Finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc, size, offset;
  };
  std::string path_;
  std::ofstream out_;
  uint64_t pos_ = 0;
  std::vector<Entry> entries_;
};

class Reader {
 public:
  explicit Reader(const std::string& path);
  const std::vector<std::string>& names() const { return names_; }
  bool Has(const std::string& name) const { return entries_.count(name) != 0; }
  std::string Read(const std::string& name) const;

 private:
  struct Entry {
    uint64_t data_offset, size;
    uint32_t crc;
  };
  std::string path_, bytes_;
  std::vector<std::string> names_;
  std::map<std::string, Entry> entries_;
};

}  // namespace tensord::zip

#endif  // TENSORD_CLIENT_ZIP_ARCHIVE_H_
