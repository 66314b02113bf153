#include "delimited_reader.h"

#include <graft/error.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace graft::plugins::text_classification {

int64_t first_invalid_utf8(std::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + len > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<int64_t>(i);
    i += len;
  }
  return -1;
}

std::vector<DelimitedRecord> parse_delimited(std::string_view text, const DelimitedFormat& format) {
  std::vector<DelimitedRecord> records;
  const size_t n = text.size();
  size_t i = 0;
  int64_t line = 1;
  // A record ends at "\n", "\r\n", or a "\r" that is the last byte of the file.
  auto eol_len = [&](size_t p) -> size_t {
    if (text[p] == '\n') return 1;
    if (text[p] == '\r') {
      if (p + 1 == n) return 1;
      if (text[p + 1] == '\n') return 2;
    }
    return 0;
  };
  while (i < n) {
    if (size_t e = eol_len(i)) {  // blank line
      i += e;
      ++line;
      continue;
    }
    DelimitedRecord rec;
    rec.line = line;
    std::string field;
    for (;;) {
      field.clear();
      if (format.quoting && i < n && text[i] == format.quote) {
        const int64_t open_line = line;
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i];
          if (c == format.quote) {
            if (i + 1 < n && text[i + 1] == format.quote) {
              field += c;
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (!closed) {
          const int64_t last = text.back() == '\n' ? line - 1 : line;  // the file's last line
          rec.fields.push_back(field);
          rec.problem = open_line == last
                            ? cat("unterminated quote: the quoted field opened on line ", open_line,
                                  " never closes before the end of the file")
                            : cat("unterminated quote: the quoted field opened on line ", open_line,
                                  " runs to the end of the file (line ", last, "), swallowing every line after it");
          records.push_back(std::move(rec));
          return records;
        }
        // Characters after the closing quote are kept literally (as Python's csv and pandas do).
      }
      while (i < n && text[i] != format.delimiter && eol_len(i) == 0) field += text[i++];
      rec.fields.push_back(field);
      if (i < n && text[i] == format.delimiter) {
        ++i;  // the next field may be empty (delimiter at end of line or file)
        continue;
      }
      if (i < n) {
        i += eol_len(i);
        ++line;
      }
      break;
    }
    records.push_back(std::move(rec));
  }
  return records;
}

std::vector<DelimitedRecord> read_delimited_file(const std::string& path, const DelimitedFormat& format) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(cat(path, ": no such file"));
  if (std::filesystem::is_directory(path, ec)) throw DataError(cat(path, ": is a directory, expected a data file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(cat(path, ": cannot be opened: ", std::strerror(errno)));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(cat(path, ": read error"));
  std::string_view view(text);
  if (view.size() >= 3 && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
  int64_t bad = first_invalid_utf8(view);
  if (bad >= 0) {
    int64_t line = 1, col = 1;
    for (int64_t k = 0; k < bad; ++k) {
      if (view[static_cast<size_t>(k)] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(view[static_cast<size_t>(bad)]));
    throw DataError(cat(path, ":", line, ": invalid UTF-8 (byte ", hex, " at byte column ", col,
                        "); the file must be UTF-8 encoded"));
  }
  return parse_delimited(view, format);
}

}  // namespace graft::plugins::text_classification
