#include "base/status.h"

namespace secret_rotator {

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string message(context);
  message += ": ";
  message += message_;
  return Status(code_, type_, std::move(message));
}

}  // namespace secret_rotator
