// A small, strict reading of AWS's XML answers (the Query protocol of RDS)
// into a tree, through expat. Hostile input is refused, never expanded: no
// document type declaration (so no entity of any kind beyond the five
// predefined ones and character references), at most kMaxXmlBytes of text,
// kMaxXmlDepth levels and kMaxXmlElements elements. Element names are kept
// as written (no namespace processing: RDS's answers use one default
// namespace); attributes are ignored.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace secret_rotator::aws {

inline constexpr std::size_t kMaxXmlBytes = 4 * 1024 * 1024;
inline constexpr int kMaxXmlDepth = 32;
inline constexpr std::size_t kMaxXmlElements = 100000;

struct XmlElement {
  std::string name;
  // The element's character data (all of its text children, joined).
  std::string text;
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view child_name) const;
  // Every child named `name`, in document order.
  std::vector<const XmlElement*> Children(std::string_view child_name) const;
  // The text of the first child named `name`, or "" when there is none.
  std::string ChildText(std::string_view child_name) const;
  // Follows `path` of child names from this element; nullptr when a step is missing.
  const XmlElement* Find(std::initializer_list<std::string_view> path) const;
};

// Parses `text` (UTF-8) into its root element. Errors have type `error_type`
// (kInvalidArgument) and say what was wrong and where, naming `what`; they
// never quote the text.
Result<XmlElement> ParseXml(std::string_view text, const std::string& what,
                            const std::string& error_type);

}  // namespace secret_rotator::aws
