#include "base/json_edit.h"

#include <openssl/crypto.h>
#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"

namespace secret_rotator {
namespace {

// A RapidJSON allocator (its Allocator concept) that wipes every block before
// freeing it, also when a buffer grows: the reader's stack holds each decoded
// string, the password among them, and the writer's buffer the new values.
// The token texts are kept in one of its blocks too.
// Each block carries its size in a header, since RapidJSON frees without one.
class WipingAllocator {
 public:
  [[maybe_unused]] static constexpr bool kNeedFree = true;  // the concept asks for it

  void* Malloc(std::size_t size) {
    if (size == 0) return nullptr;
    void* block = std::malloc(size + kHeader);  // NOLINT(*-no-malloc): RapidJSON's contract
    if (block == nullptr) throw std::bad_alloc();
    std::memcpy(block, &size, sizeof(size));
    return static_cast<char*>(block) + kHeader;
  }

  void* Realloc(void* original, std::size_t /*original_size*/, std::size_t new_size) {
    if (new_size == 0) {
      Free(original);
      return nullptr;
    }
    void* moved = Malloc(new_size);
    if (original != nullptr) {
      std::memcpy(moved, original, std::min(SizeOf(original), new_size));
      Free(original);
    }
    return moved;
  }

  static void Free(void* pointer) noexcept {
    if (pointer == nullptr) return;
    char* block = static_cast<char*>(pointer) - kHeader;
    OPENSSL_cleanse(block, SizeOf(pointer) + kHeader);
    std::free(block);  // NOLINT(*-no-malloc): RapidJSON's contract
  }

 private:
  // Keeps the memory after the header aligned for any type.
  static constexpr std::size_t kHeader = alignof(std::max_align_t);

  static std::size_t SizeOf(const void* pointer) {
    std::size_t size = 0;
    std::memcpy(&size, static_cast<const char*>(pointer) - kHeader, sizeof(size));
    return size;
  }
};

// One block from WipingAllocator, wiped and freed when it goes.
struct WipedBlockDeleter {
  void operator()(char* block) const noexcept { WipingAllocator::Free(block); }
};
using WipedBlock = std::unique_ptr<char[], WipedBlockDeleter>;

using WipingReader =
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, WipingAllocator>;
using WipingBuffer = rapidjson::GenericStringBuffer<rapidjson::UTF8<>, WipingAllocator>;
// Reads UTF-8 and writes ASCII: non-ASCII characters become \uXXXX escapes.
using AsciiWriter = rapidjson::Writer<WipingBuffer, rapidjson::UTF8<>, rapidjson::ASCII<>,
                                      WipingAllocator, rapidjson::kWriteValidateEncodingFlag>;

// Every number as its own text (never through a double), strings validated as
// UTF-8, no comments, no NaN, nothing after the value; iterative, so that no
// nesting can exhaust the call stack.
constexpr unsigned kReadFlags = rapidjson::kParseValidateEncodingFlag |
                                rapidjson::kParseNumbersAsStringsFlag |
                                rapidjson::kParseIterativeFlag;

enum class TokenKind {
  kNull,
  kFalse,
  kTrue,
  kNumber,
  kString,
  kKey,
  kStartObject,
  kEndObject,
  kStartArray,
  kEndArray,
};

const char* KindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kNull:
      return "null";
    case TokenKind::kFalse:
    case TokenKind::kTrue:
      return "a boolean";
    case TokenKind::kNumber:
      return "a number";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kStartObject:
      return "an object";
    case TokenKind::kStartArray:
      return "an array";
    case TokenKind::kKey:
    case TokenKind::kEndObject:
    case TokenKind::kEndArray:
      break;
  }
  return "not a value";
}

// One event of the reader. Its text (a number's digits, a string's or key's
// characters) is at [offset, offset + length) of the recorder's texts.
struct Token {
  TokenKind kind;
  std::size_t offset;
  std::size_t length;
};

// Where an edited member's value is in the text: the bytes [begin, end),
// quotes included, and the index of its token.
struct ValueRange {
  std::size_t begin;
  std::size_t end;
  std::size_t token;
};

// A RapidJSON handler (its Handler concept) that records every token of a
// text and where the values of the edited top-level members are.
class TokenRecorder {
 public:
  TokenRecorder(std::string_view text, const rapidjson::MemoryStream& stream,
                std::span<const JsonStringEdit> edits)
      : text_(text),
        stream_(stream),
        edits_(edits),
        // Decoded text is never longer than its source, so this is enough.
        texts_(static_cast<char*>(WipingAllocator().Malloc(text.size()))),
        capacity_(text.size()),
        ranges_(edits.size()) {}
  TokenRecorder(const TokenRecorder&) = delete;
  TokenRecorder& operator=(const TokenRecorder&) = delete;

  // Why the handler stopped the reader; empty if it did not.
  const std::string& problem() const { return problem_; }
  const std::vector<Token>& tokens() const { return tokens_; }
  // For each edit, where its value is; nullopt when its member was not seen.
  const std::vector<std::optional<ValueRange>>& ranges() const { return ranges_; }
  std::string_view TextOf(const Token& token) const {
    return std::string_view(texts_.get() + token.offset, token.length);
  }

  // The Handler concept. With kParseNumbersAsStringsFlag every number comes
  // through RawNumber; the typed number events never do.
  bool Null() { return Value(TokenKind::kNull, {}); }
  bool Bool(bool value) { return Value(value ? TokenKind::kTrue : TokenKind::kFalse, {}); }
  bool Int(int) { return TypedNumber(); }
  bool Uint(unsigned) { return TypedNumber(); }
  bool Int64(std::int64_t) { return TypedNumber(); }
  bool Uint64(std::uint64_t) { return TypedNumber(); }
  bool Double(double) { return TypedNumber(); }
  bool RawNumber(const char* digits, rapidjson::SizeType length, bool /*copy*/) {
    return Value(TokenKind::kNumber, {digits, length});
  }
  bool String(const char* characters, rapidjson::SizeType length, bool /*copy*/) {
    return Value(TokenKind::kString, {characters, length});
  }
  bool StartObject() {
    if (!Value(TokenKind::kStartObject, {})) return false;
    ++depth_;
    return true;
  }
  bool Key(const char* characters, rapidjson::SizeType length, bool /*copy*/) {
    const std::string_view name(characters, length);
    if (depth_ == 1) {
      for (std::size_t i = 0; i < edits_.size(); ++i) {
        if (edits_[i].key != name) continue;
        editing_ = i;
        // The stream is just past the key's closing quote.
        key_end_ = stream_.Tell();
      }
    }
    return Add(TokenKind::kKey, name);
  }
  bool EndObject(rapidjson::SizeType /*members*/) {
    --depth_;
    return Add(TokenKind::kEndObject, {});
  }
  bool StartArray() {
    if (!Value(TokenKind::kStartArray, {})) return false;
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType /*elements*/) {
    --depth_;
    return Add(TokenKind::kEndArray, {});
  }

 private:
  bool TypedNumber() {
    problem_ = ": a number was read as a value, not as its text";
    return false;
  }

  // Records a value's token after checking its place: the root must be an
  // object, and an edited member's value a string.
  bool Value(TokenKind kind, std::string_view text) {
    if (depth_ == 0 && kind != TokenKind::kStartObject) {
      problem_ = std::string(" must be a JSON object, not ") + KindName(kind);
      return false;
    }
    if (depth_ == 1 && editing_.has_value()) {
      const std::size_t edit = *editing_;
      editing_.reset();
      if (kind != TokenKind::kString) {
        problem_ = ": field '" + std::string(edits_[edit].key) + "' must be a string, not " +
                   KindName(kind);
        return false;
      }
      // The stream is just past the value's closing quote. Between the key
      // and the value there is only whitespace and the colon, so the first
      // quote after the key opens the value.
      const std::size_t end = stream_.Tell();
      const std::size_t begin = text_.find('"', key_end_);
      if (begin == std::string_view::npos || begin >= end || text_[end - 1] != '"') {
        problem_ = ": the reader's position does not frame a string";
        return false;
      }
      ranges_[edit] = ValueRange{begin, end, tokens_.size()};
    }
    return Add(kind, text);
  }

  bool Add(TokenKind kind, std::string_view text) {
    if (text.size() > capacity_ - used_) {
      problem_ = ": a decoded value is longer than its text";
      return false;
    }
    tokens_.push_back(Token{kind, used_, text.size()});
    if (!text.empty()) std::memcpy(texts_.get() + used_, text.data(), text.size());
    used_ += text.size();
    return true;
  }

  std::string_view text_;
  const rapidjson::MemoryStream& stream_;
  std::span<const JsonStringEdit> edits_;
  int depth_ = 0;
  std::optional<std::size_t> editing_;
  std::size_t key_end_ = 0;
  std::vector<Token> tokens_;
  // The text of every token, one after the other: capacity_ bytes of which
  // used_ are filled.
  WipedBlock texts_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::vector<std::optional<ValueRange>> ranges_;
  std::string problem_;
};

// Reads `text` into `recorder` (made for `text` and `stream`). Returns why
// the text was refused, to follow the text's name (" is not valid JSON
// (...)", ": field 'password' is missing"), or an empty string.
std::string Record(std::string_view text, rapidjson::MemoryStream& stream, TokenRecorder& recorder,
                   std::span<const JsonStringEdit> edits) {
  WipingReader reader;
  const rapidjson::ParseResult read = reader.Parse<kReadFlags>(stream, recorder);
  if (!recorder.problem().empty()) return recorder.problem();
  if (read.IsError()) {
    return " is not valid JSON (at byte " + std::to_string(read.Offset()) + ": " +
           rapidjson::GetParseError_En(read.Code()) + ")";
  }
  // The reader stops at a NUL byte as at the end of the text.
  if (stream.Tell() != text.size()) {
    return " is not valid JSON (at byte " + std::to_string(stream.Tell()) + ")";
  }
  for (std::size_t i = 0; i < edits.size(); ++i) {
    if (!recorder.ranges()[i].has_value()) {
      return ": field '" + std::string(edits[i].key) + "' is missing";
    }
  }
  return "";
}

// Returns true iff `value` is whole, valid UTF-8 (no surrogates, no overlong
// forms), read only within its bounds.
bool IsUtf8(std::string_view value) {
  rapidjson::MemoryStream stream(value.data(), value.size());
  while (stream.Tell() < value.size()) {
    unsigned code_point = 0;
    if (!rapidjson::UTF8<>::Decode(stream, &code_point)) return false;
  }
  return stream.Tell() == value.size();
}

// The check of the rewritten text `after` against `before`'s tokens: empty if
// it holds the same tokens except the edited values, which read as the new
// strings; else what differs (never a value).
std::string Compare(const TokenRecorder& before, std::string_view after,
                    std::span<const JsonStringEdit> edits) {
  Status valid = ValidateJson(after, "the rewritten text", kJsonRewriteFailed);
  if (!valid.ok()) return valid.message();
  rapidjson::MemoryStream stream(after.data(), after.size());
  TokenRecorder reread(after, stream, edits);
  const std::string problem = Record(after, stream, reread, edits);
  if (!problem.empty()) return "the rewritten text" + problem;
  if (reread.tokens().size() != before.tokens().size()) return "the number of tokens changed";
  std::vector<std::optional<std::size_t>> edit_of_token(before.tokens().size());
  for (std::size_t i = 0; i < edits.size(); ++i) {
    if (before.ranges()[i]->token != reread.ranges()[i]->token) {
      return "an edited value moved to another token";
    }
    edit_of_token[before.ranges()[i]->token] = i;
  }
  for (std::size_t i = 0; i < before.tokens().size(); ++i) {
    const Token& old_token = before.tokens()[i];
    const Token& new_token = reread.tokens()[i];
    if (old_token.kind != new_token.kind) return "token " + std::to_string(i) + " changed its kind";
    const std::string_view expected =
        edit_of_token[i] ? edits[*edit_of_token[i]].value : before.TextOf(old_token);
    if (reread.TextOf(new_token) != expected) {
      return "token " + std::to_string(i) + " changed its text";
    }
  }
  return "";
}

Result<Secret> Replace(std::string_view text, std::span<const JsonStringEdit> edits,
                       std::string_view what, std::string_view error_type) {
  auto invalid = [&](const std::string& problem) {
    return Status(StatusCode::kInvalidArgument, std::string(error_type),
                  std::string(what) + problem);
  };
  // The same strictness as ParseJson, with its error messages.
  Status valid = ValidateJson(text, what, error_type);
  if (!valid.ok()) return valid;
  for (const JsonStringEdit& edit : edits) {
    if (!IsUtf8(edit.value)) {
      return invalid(": the new value of field '" + std::string(edit.key) + "' is not valid UTF-8");
    }
  }

  rapidjson::MemoryStream stream(text.data(), text.size());
  TokenRecorder before(text, stream, edits);
  const std::string problem = Record(text, stream, before, edits);
  if (!problem.empty()) return invalid(problem);

  // Each new value as a JSON string, one after the other in `encoded`.
  WipingBuffer encoded;
  AsciiWriter writer(encoded);
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // [begin, end) in `encoded`
  for (const JsonStringEdit& edit : edits) {
    const std::size_t begin = encoded.GetSize();
    writer.Reset(encoded);
    if (!writer.String(edit.value.data(), static_cast<rapidjson::SizeType>(edit.value.size()))) {
      return invalid(": the new value of field '" + std::string(edit.key) + "' is not valid UTF-8");
    }
    spans.emplace_back(begin, encoded.GetSize());
  }
  const std::string_view all_encoded(encoded.GetString(), encoded.GetSize());

  // The original bytes, with each edited value's bytes swapped for its new
  // encoding, in the order the values appear.
  std::vector<std::size_t> order(edits.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return before.ranges()[a]->begin < before.ranges()[b]->begin;
  });
  std::size_t size = text.size();
  for (std::size_t i = 0; i < edits.size(); ++i) {
    size = size - (before.ranges()[i]->end - before.ranges()[i]->begin) +
           (spans[i].second - spans[i].first);
  }
  std::string rewritten;
  rewritten.reserve(size);  // never grows, so no copy is left behind
  std::size_t copied = 0;
  for (const std::size_t i : order) {
    const ValueRange& range = *before.ranges()[i];
    rewritten.append(text.substr(copied, range.begin - copied));
    rewritten.append(all_encoded.substr(spans[i].first, spans[i].second - spans[i].first));
    copied = range.end;
  }
  rewritten.append(text.substr(copied));
  Secret result(std::move(rewritten));

  const std::string mismatch = Compare(before, result.reveal(), edits);
  if (!mismatch.empty()) {
    return Status(StatusCode::kInternal, kJsonRewriteFailed,
                  "rewriting " + std::string(what) +
                      " would change more than the edited fields, so nothing was written (" +
                      mismatch + ")");
  }
  return result;
}

}  // namespace

Result<Secret> ReplaceJsonStrings(std::string_view text, std::span<const JsonStringEdit> edits,
                                  std::string_view what, std::string_view error_type) {
  try {
    return Replace(text, edits, what, error_type);
  } catch (const std::exception&) {
    // Allocation failure, the only exception RapidJSON's path can raise here.
    return Status(StatusCode::kInternal, "InternalError",
                  "rewriting " + std::string(what) + ": out of memory");
  }
}

}  // namespace secret_rotator
