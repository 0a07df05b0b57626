#include "server/log.h"

#include <spdlog/pattern_formatter.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

namespace tensord {
namespace {

thread_local std::vector<LogField> t_fields;

// Nested scopes may set a key again (a callback runs a session's messages
// inside one of its ops): the innermost value is the one written.
bool Shadowed(size_t i) {
  for (size_t j = i + 1; j < t_fields.size(); ++j) {
    if (t_fields[j].key == t_fields[i].key) return true;
  }
  return false;
}

void Append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// The length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// A JSON string literal of `s`. Client-supplied text (client names, error
// messages) may hold any bytes: invalid UTF-8 becomes U+FFFD, so every line
// stays parseable.
void AppendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      dest.push_back('\\');
      dest.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      Append(dest, "\\n");
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      Append(dest, buf);
    } else if (c < 0x80) {
      dest.push_back(static_cast<char>(c));
    } else if (size_t n = Utf8SequenceLength(s, i); n > 0) {
      Append(dest, s.substr(i, n));
      i += n;
      continue;
    } else {
      Append(dest, "\\ufffd");
    }
    ++i;
  }
  dest.push_back('"');
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// `%*` in the text pattern: the thread's fields as " key=value" pairs.
class TextFieldsFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    for (size_t i = 0; i < t_fields.size(); ++i) {
      if (Shadowed(i)) continue;
      const LogField& f = t_fields[i];
      dest.push_back(' ');
      Append(dest, f.key);
      dest.push_back('=');
      if (NeedsQuotes(f.value)) {
        AppendJsonString(dest, f.value);
      } else {
        Append(dest, f.value);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextFieldsFlag>();
  }
};

// One JSON object per line: ts (UTC), level, msg, then the thread's fields.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    const size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(millis));
    Append(dest, "{\"ts\":\"");
    Append(dest, ts);
    Append(dest, "\",\"level\":");
    const auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(dest, std::string_view(level.data(), level.size()));
    Append(dest, ",\"msg\":");
    AppendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    for (size_t i = 0; i < t_fields.size(); ++i) {
      if (Shadowed(i)) continue;
      const LogField& f = t_fields[i];
      dest.push_back(',');
      AppendJsonString(dest, f.key);
      dest.push_back(':');
      if (f.number) {
        Append(dest, f.value);
      } else {
        AppendJsonString(dest, f.value);
      }
    }
    Append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

bool ParseLogFormat(std::string_view name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
  } else if (name == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void ConfigureLogging(LogFormat format, spdlog::level::level_enum level) {
  spdlog::set_level(level);
  if (format == LogFormat::kJson) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
    return;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<TextFieldsFlag>('*').set_pattern(
      "%Y-%m-%dT%H:%M:%S.%e %^%l%$ tensord: %v%*");
  spdlog::set_formatter(std::move(formatter));
}

ScopedLogFields::ScopedLogFields(std::vector<LogField> fields) : previous_size_(t_fields.size()) {
  for (LogField& f : fields) t_fields.push_back(std::move(f));
}

ScopedLogFields::~ScopedLogFields() { t_fields.resize(previous_size_); }

std::vector<LogField> SessionLogFields(std::string_view session_id, std::string_view tenant) {
  return {{"session", std::string(session_id.substr(0, 8))}, {"tenant", std::string(tenant)}};
}

}  // namespace tensord
