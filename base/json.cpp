#include "base/json.h"

#include <json/reader.h>
#include <json/writer.h>

#include <memory>

namespace secret_rotator {

Result<Json::Value> ParseJson(std::string_view text, std::string_view what,
                              std::string_view error_type) {
  Json::CharReaderBuilder builder;
  Json::CharReaderBuilder::strictMode(&builder.settings_);
  builder.settings_["strictRoot"] = false;  // callers check the root type with their own message
  builder.settings_["stackLimit"] = 64;
  Json::Value root;
  std::string errors;
  bool parsed = false;
  try {
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    parsed = reader->parse(text.data(), text.data() + text.size(), &root, &errors);
  } catch (const std::exception&) {
    parsed = false;
  }
  if (!parsed) {
    // jsoncpp's messages cite line and column only, never the input.
    std::string message(what);
    message += " is not valid JSON";
    if (!errors.empty()) {
      const auto newline = errors.find('\n');
      message += " (" + errors.substr(0, newline) + ")";
    }
    return Status(StatusCode::kInvalidArgument, std::string(error_type), message);
  }
  return root;
}

std::string WriteJson(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  builder["precision"] = 17;
  return Json::writeString(builder, value);
}

std::string_view JsonTypeName(const Json::Value& value) {
  switch (value.type()) {
    case Json::nullValue:
      return "null";
    case Json::intValue:
    case Json::uintValue:
    case Json::realValue:
      return "a number";
    case Json::stringValue:
      return "a string";
    case Json::booleanValue:
      return "a boolean";
    case Json::arrayValue:
      return "an array";
    case Json::objectValue:
      return "an object";
  }
  return "unknown";
}

}  // namespace secret_rotator
