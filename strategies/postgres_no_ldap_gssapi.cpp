// libpq is linked statically (strategies/postgres.cmake), and Debian builds
// it with LDAP and GSSAPI support. Linking those libraries would add about 20
// shared libraries (OpenLDAP, GnuTLS, MIT Kerberos and theirs) to the Lambda
// package: 4 MB, and 2.5 ms of cold start to load them.
//
// The function needs neither: it logs in with passwords only, never with
// Kerberos, and never looks connection settings up in LDAP (pg_service.conf).
// AWS's own PostgreSQL rotation functions (pg8000) cannot do either. So these
// definitions stand in for the few LDAP and GSSAPI functions libpq refers to,
// and each one reports failure: an LDAP service lookup fails with "could not
// create LDAP structure", and a server that asks for GSSAPI authentication is
// refused with "GSSAPI is not supported by secret-rotator". Connections set
// gssencmode=disable, so libpq never tries GSSAPI encryption on its own.
#include <cstddef>
#include <cstdint>

namespace {

// GSSAPI's major status for a failure (RFC 2744: GSS_S_FAILURE).
constexpr std::uint32_t kGssFailure = 13u << 16;
// LDAP's "server unavailable" result (RFC 4511) and option error.
constexpr int kLdapUnavailable = 0x34;
constexpr int kLdapOptionError = -1;

// gss_buffer_desc (RFC 2744).
struct GssBuffer {
  std::size_t length;
  void* value;
};

char not_supported_message[] = "GSSAPI is not supported by secret-rotator";

std::uint32_t GssFail(std::uint32_t* minor_status) {
  if (minor_status != nullptr) *minor_status = 0;
  return kGssFailure;
}

}  // namespace

// The names are the libraries' own, whatever this project's style says.
// NOLINTBEGIN(readability-identifier-naming)
extern "C" {

// ---- GSSAPI (RFC 2744 C bindings), as libpq uses them.
void* GSS_C_NT_HOSTBASED_SERVICE = nullptr;

std::uint32_t gss_acquire_cred(std::uint32_t* minor, void*, std::uint32_t, void*, int, void**,
                               void**, std::uint32_t*) {
  return GssFail(minor);
}
std::uint32_t gss_import_name(std::uint32_t* minor, void*, void*, void**) { return GssFail(minor); }
std::uint32_t gss_init_sec_context(std::uint32_t* minor, void*, void**, void*, void*, std::uint32_t,
                                   std::uint32_t, void*, void*, void**, GssBuffer*, std::uint32_t*,
                                   std::uint32_t*) {
  return GssFail(minor);
}
std::uint32_t gss_wrap(std::uint32_t* minor, void*, int, int, void*, int*, GssBuffer*) {
  return GssFail(minor);
}
std::uint32_t gss_unwrap(std::uint32_t* minor, void*, void*, GssBuffer*, int*, int*) {
  return GssFail(minor);
}
std::uint32_t gss_wrap_size_limit(std::uint32_t* minor, void*, int, int, std::uint32_t,
                                  std::uint32_t*) {
  return GssFail(minor);
}
std::uint32_t gss_delete_sec_context(std::uint32_t* minor, void**, GssBuffer*) {
  return GssFail(minor);
}
std::uint32_t gss_release_name(std::uint32_t* minor, void**) { return GssFail(minor); }
std::uint32_t gss_release_cred(std::uint32_t* minor, void**) { return GssFail(minor); }
std::uint32_t gss_release_buffer(std::uint32_t* minor, GssBuffer* buffer) {
  // The only buffers handed out here point at not_supported_message.
  if (buffer != nullptr) *buffer = GssBuffer{0, nullptr};
  if (minor != nullptr) *minor = 0;
  return 0;
}
std::uint32_t gss_display_status(std::uint32_t* minor, std::uint32_t, int, void*,
                                 std::uint32_t* message_context, GssBuffer* status_string) {
  if (message_context != nullptr) *message_context = 0;
  if (status_string != nullptr)
    *status_string = GssBuffer{sizeof(not_supported_message) - 1, not_supported_message};
  if (minor != nullptr) *minor = 0;
  return 0;
}

// ---- OpenLDAP, as libpq's ldapServiceLookup uses it.
void* ldap_init(const char*, int) { return nullptr; }
int ldap_set_option(void*, int, const void*) { return kLdapOptionError; }
int ldap_simple_bind(void*, const char*, const char*) { return -1; }
int ldap_result(void*, int, int, void*, void**) { return -1; }
int ldap_search_st(void*, const char*, int, const char*, char**, int, void*, void**) {
  return kLdapUnavailable;
}
int ldap_count_entries(void*, void*) { return -1; }
void* ldap_first_entry(void*, void*) { return nullptr; }
void** ldap_get_values_len(void*, void*, const char*) { return nullptr; }
void ldap_value_free_len(void**) {}
int ldap_msgfree(void*) { return 0; }
int ldap_unbind(void*) { return 0; }
const char* ldap_err2string(int) { return "LDAP is not supported by secret-rotator"; }

}  // extern "C"
// NOLINTEND(readability-identifier-naming)
