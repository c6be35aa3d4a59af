#include "age/internal/armor.h"

#include "age/internal/base64.h"

namespace coffer::age::internal {
namespace {

constexpr size_t kColumns = 64;
constexpr size_t kMaxWhitespace = 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::unexpected<Error> Malformed(std::string why) {
  return Fail(ErrorCode::kInvalidArgument, "malformed age armor: " + why,
              Reason::kCiphertextMalformed);
}

// Takes the next line from `rest` without its "\n" or "\r\n". False at the
// end of input; `had_eol` says whether the line was terminated.
bool NextLine(std::string_view& rest, std::string_view& line, bool& had_eol) {
  if (rest.empty()) return false;
  size_t nl = rest.find('\n');
  had_eol = nl != std::string_view::npos;
  line = had_eol ? rest.substr(0, nl) : rest;
  rest.remove_prefix(had_eol ? nl + 1 : rest.size());
  if (had_eol && !line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

}  // namespace

std::string Armor(std::string_view binary) {
  std::string encoded = Base64EncodePadded(binary);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / kColumns + kArmorHeader.size() +
              kArmorFooter.size() + 4);
  out.append(kArmorHeader).push_back('\n');
  for (size_t i = 0; i < encoded.size(); i += kColumns) {
    out.append(std::string_view(encoded).substr(i, kColumns)).push_back('\n');
  }
  out.append(kArmorFooter).push_back('\n');
  return out;
}

Result<std::string> Dearmor(std::string_view text) {
  size_t lead = 0;
  while (lead < text.size() && IsSpace(text[lead])) ++lead;
  if (lead > kMaxWhitespace) return Malformed("too much leading whitespace");
  std::string_view rest = text.substr(lead);
  std::string_view line;
  bool had_eol = false;
  if (!NextLine(rest, line, had_eol) || line != kArmorHeader || !had_eol) {
    return Malformed("missing or invalid header line");
  }
  std::string out;
  std::string decoded;
  bool saw_short_line = false;
  while (true) {
    if (!NextLine(rest, line, had_eol)) return Malformed("missing footer line");
    if (line == kArmorFooter) break;
    if (saw_short_line) return Malformed("a short line is not followed by the footer");
    if (line.empty()) return Malformed("empty line");
    if (line.size() > kColumns) return Malformed("line longer than 64 columns");
    if (!had_eol) return Malformed("missing footer line");
    if (!Base64DecodePadded(line, decoded)) return Malformed("invalid base64");
    out.append(decoded);
    // Padding ends the data: only the footer may follow it.
    saw_short_line = line.size() < kColumns || line.back() == '=';
  }
  if (rest.size() > kMaxWhitespace) return Malformed("too much trailing data");
  for (char c : rest) {
    if (!IsSpace(c)) return Malformed("trailing data after the footer");
  }
  return out;
}

}  // namespace coffer::age::internal
