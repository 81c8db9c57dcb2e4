#include "base/json.h"

#include "base/secret.h"

#include <set>
#include <utility>
#include <vector>

namespace secret_rotator {
namespace {

// A first, validating pass over the text: nlohmann's parser accepts
// duplicate keys (the last wins) and any depth; this pass refuses both
// without building anything.
class StrictValidator final : public nlohmann::json_sax<JsonValue> {
 public:
  // Why the text was refused, for the error message; empty if it was not.
  const std::string& problem() const { return problem_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }

  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return Enter();
  }
  bool key(string_t& name) override {
    if (keys_.back().insert(name).second) return true;
    problem_ = "a key appears twice in one object";
    return false;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    problem_ = "at byte " + std::to_string(position);
    return false;
  }

 private:
  bool Enter() {
    if (++depth_ <= kMaxJsonDepth) return true;
    problem_ = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }

  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;
  std::string problem_;
};

Status Invalid(std::string_view what, std::string_view error_type, const std::string& problem) {
  return Status(StatusCode::kInvalidArgument, std::string(error_type),
                std::string(what) + " is not valid JSON (" + problem + ")");
}

}  // namespace

Status ValidateJson(std::string_view text, std::string_view what, std::string_view error_type) {
  StrictValidator validator;
  bool valid = false;
  try {
    valid = JsonValue::sax_parse(text.begin(), text.end(), &validator);
  } catch (const std::exception&) {
    valid = false;
  }
  if (valid) return Status::Ok();
  return Invalid(what, error_type,
                 validator.problem().empty() ? "unreadable" : validator.problem());
}

Result<JsonValue> ParseJson(std::string_view text, std::string_view what,
                            std::string_view error_type) {
  Status valid = ValidateJson(text, what, error_type);
  if (!valid.ok()) return valid;
  JsonValue value = JsonValue::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Invalid(what, error_type, "unreadable");
  return value;
}

std::string WriteJson(const JsonValue& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, JsonValue::error_handler_t::replace);
}

std::string_view JsonTypeName(const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::value_t::null:
      return "null";
    case JsonValue::value_t::number_integer:
    case JsonValue::value_t::number_unsigned:
    case JsonValue::value_t::number_float:
      return "a number";
    case JsonValue::value_t::string:
      return "a string";
    case JsonValue::value_t::boolean:
      return "a boolean";
    case JsonValue::value_t::array:
      return "an array";
    case JsonValue::value_t::object:
      return "an object";
    case JsonValue::value_t::binary:
    case JsonValue::value_t::discarded:
      break;
  }
  return "an unknown value";
}

const JsonValue* JsonMember(const JsonValue& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

const std::string* JsonStringMember(const JsonValue& object, std::string_view key) {
  const JsonValue* member = JsonMember(object, key);
  return member != nullptr && member->is_string() ? &member->get_ref<const std::string&>()
                                                  : nullptr;
}

void WipeJson(JsonValue& value) noexcept {
  try {
    if (std::string* text = value.get_ptr<std::string*>()) {
      WipeString(*text);
    } else if (value.is_structured()) {
      for (JsonValue& item : value) WipeJson(item);
    }
    value = nullptr;
  } catch (...) {
    // nlohmann's iterators may in principle throw; a wipe must never throw.
  }
}

}  // namespace secret_rotator
