// The daemon's log lines: plain text (the default) or JSON lines, and the
// key-value fields (session, tenant, ...) attached to the lines that concern
// one session.
//
// Threading: spdlog's default logger formats on the calling thread, so fields
// set with ScopedLogFields apply to the lines that thread logs while the
// scope lives.
#ifndef TENSORD_SERVER_LOG_H_
#define TENSORD_SERVER_LOG_H_

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace tensord {

enum class LogFormat { kText, kJson };

// "text" or "json"; false for anything else.
bool ParseLogFormat(std::string_view name, LogFormat* format);

// Installs the line format on spdlog's default logger (stdout).
// Text:  2026-01-01T12:00:00.000 info tensord: message key=value ...
// JSON:  {"ts":"2026-01-01T12:00:00.000Z","level":"info","msg":"message","key":"value"}
void ConfigureLogging(LogFormat format, spdlog::level::level_enum level);

struct LogField {
  std::string key;
  std::string value;
  bool number = false;  // JSON: written unquoted
};

// Attaches `fields` to every line this thread logs until destroyed; scopes nest.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(std::vector<LogField> fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  size_t previous_size_;
};

// The fields of a line that concerns a session: its id's first 8 characters
// (enough to tell sessions apart, too short to name one) and its tenant.
std::vector<LogField> SessionLogFields(std::string_view session_id, std::string_view tenant);

}  // namespace tensord

#endif  // TENSORD_SERVER_LOG_H_
