#include "aws/xml.h"

#include <expat.h>

#include <memory>

namespace secret_rotator::aws {
namespace {

struct ParserDeleter {
  void operator()(XML_Parser parser) const { XML_ParserFree(parser); }
};
using XmlParser = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter>;

// What the expat callbacks build, and why they stopped it, if they did.
struct TreeBuilder {
  XML_Parser parser = nullptr;
  XmlElement root;
  std::vector<XmlElement*> open;  // the path from the root to the current element
  std::size_t elements = 0;
  bool seen_root = false;
  std::string refusal;  // set when a callback stopped the parser

  void Refuse(std::string why) {
    if (refusal.empty()) refusal = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

void OnStart(void* data, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto* builder = static_cast<TreeBuilder*>(data);
  if (++builder->elements > kMaxXmlElements) {
    return builder->Refuse("more than " + std::to_string(kMaxXmlElements) + " elements");
  }
  if (builder->open.size() >= static_cast<std::size_t>(kMaxXmlDepth)) {
    return builder->Refuse("more than " + std::to_string(kMaxXmlDepth) + " levels");
  }
  if (builder->open.empty()) {
    builder->root.name = name;
    builder->seen_root = true;
    builder->open.push_back(&builder->root);
    return;
  }
  XmlElement& parent = *builder->open.back();
  parent.children.push_back(XmlElement{name, {}, {}});
  builder->open.push_back(&parent.children.back());
}

void OnEnd(void* data, const XML_Char* /*name*/) {
  auto* builder = static_cast<TreeBuilder*>(data);
  if (!builder->open.empty()) builder->open.pop_back();
}

void OnText(void* data, const XML_Char* text, int length) {
  auto* builder = static_cast<TreeBuilder*>(data);
  if (builder->open.empty() || length <= 0) return;
  builder->open.back()->text.append(text, static_cast<std::size_t>(length));
}

// A document type declaration is where entities (and their expansion
// attacks) are declared; AWS's answers never have one.
void OnDoctype(void* data, const XML_Char* /*name*/, const XML_Char* /*sysid*/,
               const XML_Char* /*pubid*/, int /*has_internal_subset*/) {
  static_cast<TreeBuilder*>(data)->Refuse("a document type declaration");
}

void OnEntityDecl(void* data, const XML_Char* /*name*/, int /*parameter*/,
                  const XML_Char* /*value*/, int /*length*/, const XML_Char* /*base*/,
                  const XML_Char* /*sysid*/, const XML_Char* /*pubid*/,
                  const XML_Char* /*notation*/) {
  static_cast<TreeBuilder*>(data)->Refuse("an entity declaration");
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const XmlElement& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> found;
  for (const XmlElement& child : children) {
    if (child.name == child_name) found.push_back(&child);
  }
  return found;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* child = Child(child_name);
  return child == nullptr ? std::string() : child->text;
}

const XmlElement* XmlElement::Find(std::initializer_list<std::string_view> path) const {
  const XmlElement* at = this;
  for (std::string_view step : path) {
    at = at->Child(step);
    if (at == nullptr) return nullptr;
  }
  return at;
}

Result<XmlElement> ParseXml(std::string_view text, const std::string& what,
                            const std::string& error_type) {
  auto refuse = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument, error_type,
                  what + " is not acceptable XML: " + why);
  };
  if (text.size() > kMaxXmlBytes) {
    return refuse("it is larger than " + std::to_string(kMaxXmlBytes) + " bytes");
  }
  XmlParser parser(XML_ParserCreate("UTF-8"));
  if (!parser) return Status(StatusCode::kInternal, "InternalError", "expat: out of memory");
  TreeBuilder builder;
  builder.parser = parser.get();
  XML_SetUserData(parser.get(), &builder);
  XML_SetElementHandler(parser.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser.get(), OnText);
  XML_SetStartDoctypeDeclHandler(parser.get(), OnDoctype);
  XML_SetEntityDeclHandler(parser.get(), OnEntityDecl);
  // No external entity or DTD is ever read.
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);

  const XML_Status status =
      XML_Parse(parser.get(), text.data(), static_cast<int>(text.size()), XML_TRUE);
  if (!builder.refusal.empty()) return refuse(builder.refusal);
  if (status != XML_STATUS_OK) {
    return refuse(std::string(XML_ErrorString(XML_GetErrorCode(parser.get()))) + " at line " +
                  std::to_string(XML_GetCurrentLineNumber(parser.get())) + ", column " +
                  std::to_string(XML_GetCurrentColumnNumber(parser.get())));
  }
  if (!builder.seen_root) return refuse("no element");
  return std::move(builder.root);
}

}  // namespace secret_rotator::aws
