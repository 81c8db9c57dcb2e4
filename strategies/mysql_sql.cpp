#include "strategies/mysql_sql.h"

#include <algorithm>
#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace secret_rotator::strategies::mysql {

namespace {

// One lexical token of a statement the server printed.
struct Token {
  enum class Kind {
    kWord,        // keyword or bare name: letters, digits, _ $ and non-ASCII bytes
    kIdentifier,  // `quoted identifier`
    kString,      // 'string' or "string"
    kSymbol,      // any other single character
  };
  Kind kind = Kind::kSymbol;
  std::size_t begin = 0;  // byte range in the text
  std::size_t end = 0;
  std::string value;  // decoded for quoted tokens, as written otherwise
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool IsWordByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
         (byte >= '0' && byte <= '9') || byte == '_' || byte == '$' || byte >= 0x80;
}

// Decodes the string literal that starts at text[*pos] (a quote character)
// with MySQL's rules without NO_BACKSLASH_ESCAPES: backslash escapes and a
// doubled quote. Advances *pos past the closing quote; false if unterminated.
bool DecodeString(std::string_view text, std::size_t* pos, std::string* value) {
  const char quote = text[*pos];
  std::size_t i = *pos + 1;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      switch (next) {
        case '0':
          value->push_back('\0');
          break;
        case 'b':
          value->push_back('\b');
          break;
        case 'n':
          value->push_back('\n');
          break;
        case 'r':
          value->push_back('\r');
          break;
        case 't':
          value->push_back('\t');
          break;
        case 'Z':
          value->push_back('\x1a');
          break;
        case '%':  // kept with the backslash, as the server does
        case '_':
          value->push_back('\\');
          value->push_back(next);
          break;
        default:
          value->push_back(next);
          break;
      }
      i += 2;
      continue;
    }
    if (c == quote) {
      if (i + 1 < text.size() && text[i + 1] == quote) {
        value->push_back(quote);
        i += 2;
        continue;
      }
      *pos = i + 1;
      return true;
    }
    value->push_back(c);
    ++i;
  }
  return false;
}

// Decodes the `identifier` that starts at text[*pos]; `` stands for `.
bool DecodeIdentifier(std::string_view text, std::size_t* pos, std::string* value) {
  std::size_t i = *pos + 1;
  while (i < text.size()) {
    if (text[i] == '`') {
      if (i + 1 < text.size() && text[i + 1] == '`') {
        value->push_back('`');
        i += 2;
        continue;
      }
      *pos = i + 1;
      return true;
    }
    value->push_back(text[i]);
    ++i;
  }
  return false;
}

std::optional<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    Token token;
    token.begin = i;
    if (c == '`') {
      token.kind = Token::Kind::kIdentifier;
      if (!DecodeIdentifier(text, &i, &token.value)) return std::nullopt;
    } else if (c == '\'' || c == '"') {
      token.kind = Token::Kind::kString;
      if (!DecodeString(text, &i, &token.value)) return std::nullopt;
    } else if (IsWordByte(c)) {
      token.kind = Token::Kind::kWord;
      while (i < text.size() && IsWordByte(text[i])) ++i;
      token.value = std::string(text.substr(token.begin, i - token.begin));
    } else {
      token.kind = Token::Kind::kSymbol;
      token.value = std::string(1, c);
      ++i;
    }
    token.end = i;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

bool IsKeyword(const std::vector<Token>& tokens, std::size_t index, std::string_view keyword) {
  return index < tokens.size() && tokens[index].kind == Token::Kind::kWord &&
         EqualsIgnoreCase(tokens[index].value, keyword);
}

bool IsSymbol(const std::vector<Token>& tokens, std::size_t index, char symbol) {
  return index < tokens.size() && tokens[index].kind == Token::Kind::kSymbol &&
         tokens[index].value[0] == symbol;
}

bool IsName(const Token& token) {
  return token.kind == Token::Kind::kIdentifier || token.kind == Token::Kind::kString ||
         token.kind == Token::Kind::kWord;
}

// The index of the first keyword `keyword` at or after `from`, or npos.
std::size_t FindKeyword(const std::vector<Token>& tokens, std::size_t from,
                        std::string_view keyword) {
  for (std::size_t i = from; i < tokens.size(); ++i) {
    if (IsKeyword(tokens, i, keyword)) return i;
  }
  return std::string_view::npos;
}

// A statement printed by SHOW GRANTS, split around its grantee.
struct GrantShape {
  std::vector<Token> tokens;
  std::size_t keyword = 0;        // index of TO / FROM / FOR
  std::size_t after_grantee = 0;  // index of the first token after the grantee
  Account grantee;
};

std::optional<GrantShape> ParseGrantShape(std::string_view line) {
  std::optional<std::vector<Token>> tokens = Tokenize(line);
  if (!tokens || tokens->empty()) return std::nullopt;
  std::string_view keyword;
  if (IsKeyword(*tokens, 0, "GRANT")) {
    keyword = "TO";
  } else if (IsKeyword(*tokens, 0, "REVOKE")) {
    keyword = "FROM";
  } else if (IsKeyword(*tokens, 0, "SET") && IsKeyword(*tokens, 1, "DEFAULT") &&
             IsKeyword(*tokens, 2, "ROLE")) {
    keyword = "FOR";
  } else {
    return std::nullopt;
  }
  GrantShape shape;
  shape.keyword = FindKeyword(*tokens, 1, keyword);
  if (shape.keyword == std::string_view::npos) return std::nullopt;
  const std::size_t user = shape.keyword + 1;
  if (user + 2 >= tokens->size() || !IsName((*tokens)[user]) || !IsSymbol(*tokens, user + 1, '@') ||
      !IsName((*tokens)[user + 2])) {
    return std::nullopt;
  }
  shape.grantee = Account{(*tokens)[user].value, (*tokens)[user + 2].value};
  shape.after_grantee = user + 3;
  // SHOW GRANTS FOR prints one grantee per line.
  if (IsSymbol(*tokens, shape.after_grantee, ',')) return std::nullopt;
  shape.tokens = std::move(*tokens);
  return shape;
}

bool HasKeywordPair(const std::vector<Token>& tokens, std::size_t from, std::string_view first,
                    std::string_view second) {
  for (std::size_t i = from; i + 1 < tokens.size(); ++i) {
    if (IsKeyword(tokens, i, first) && IsKeyword(tokens, i + 1, second)) return true;
  }
  return false;
}

// Parses "<int>" at the front of `text`; advances it.
std::optional<int> TakeNumber(std::string_view& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

}  // namespace

bool ServerVersion::AtLeast(int at_least_major, int at_least_minor, int at_least_patch) const {
  if (major != at_least_major) return major > at_least_major;
  if (minor != at_least_minor) return minor > at_least_minor;
  return patch >= at_least_patch;
}

std::string ServerVersion::Name() const {
  return std::string(mariadb ? "MariaDB " : "MySQL ") + std::to_string(major) + "." +
         std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<ServerVersion> ParseServerVersion(std::string_view text) {
  ServerVersion version;
  version.mariadb = text.find("MariaDB") != std::string_view::npos;
  if (version.mariadb && text.starts_with("5.5.5-")) text.remove_prefix(6);
  std::optional<int> major = TakeNumber(text);
  if (!major || !text.starts_with('.')) return std::nullopt;
  text.remove_prefix(1);
  std::optional<int> minor = TakeNumber(text);
  if (!minor) return std::nullopt;
  version.major = *major;
  version.minor = *minor;
  if (text.starts_with('.')) {
    text.remove_prefix(1);
    version.patch = TakeNumber(text).value_or(0);
  }
  return version;
}

std::size_t MaxUsernameLength(const ServerVersion& version) {
  if (version.mariadb) return version.major >= 10 ? 80 : 16;
  return version.AtLeast(5, 7, 8) ? 32 : 16;
}

PasswordSyntax PasswordChangeSyntax(const ServerVersion& version) {
  if (!version.mariadb && version.AtLeast(5, 7, 6)) return PasswordSyntax::kAlterUser;
  return PasswordSyntax::kSetPassword;
}

bool SupportsAlterUser(const ServerVersion& version) {
  return version.mariadb ? version.AtLeast(10, 2, 0) : version.AtLeast(5, 7, 6);
}

std::size_t Utf8Length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

unsigned int IoTimeoutSeconds(std::chrono::milliseconds remaining) {
  const auto capped = std::min(remaining, std::chrono::milliseconds(5000));
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(capped).count();
  return seconds < 1 ? 1U : static_cast<unsigned int>(seconds);
}

std::optional<Account> SplitCurrentUser(std::string_view text) {
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  return Account{std::string(text.substr(0, at)), std::string(text.substr(at + 1))};
}

std::optional<std::string> RewriteGrant(std::string_view line, const Account& from,
                                        std::string_view to_sql) {
  std::optional<GrantShape> shape = ParseGrantShape(line);
  if (!shape || !(shape->grantee == from)) return std::nullopt;
  const std::vector<Token>& tokens = shape->tokens;
  std::string rewritten(line.substr(0, tokens[shape->keyword + 1].begin));
  rewritten += to_sql;
  // Everything after the grantee is IDENTIFIED ..., REQUIRE ... or WITH ...;
  // only the grant and admin options belong to the privileges themselves.
  if (HasKeywordPair(tokens, shape->after_grantee, "GRANT", "OPTION")) {
    rewritten += " WITH GRANT OPTION";
  }
  if (HasKeywordPair(tokens, shape->after_grantee, "ADMIN", "OPTION")) {
    rewritten += " WITH ADMIN OPTION";
  }
  return rewritten;
}

std::optional<std::string> RevokeStatementFor(std::string_view line, const Account& account,
                                              std::string_view account_sql) {
  std::optional<GrantShape> shape = ParseGrantShape(line);
  if (!shape || !(shape->grantee == account)) return std::nullopt;
  const std::vector<Token>& tokens = shape->tokens;
  if (!IsKeyword(tokens, 0, "GRANT") || shape->keyword < 2) return std::nullopt;
  const bool proxy = IsKeyword(tokens, 1, "PROXY") && IsKeyword(tokens, 2, "ON");
  const bool privileges = FindKeyword(tokens, 1, "ON") < shape->keyword;
  if (privileges && !proxy) return std::nullopt;  // REVOKE ALL PRIVILEGES undoes it
  const std::size_t begin = tokens[1].begin;
  const std::size_t end = tokens[shape->keyword - 1].end;
  return "REVOKE " + std::string(line.substr(begin, end - begin)) + " FROM " +
         std::string(account_sql);
}

bool IsDefaultRoleLine(std::string_view line) {
  std::optional<std::vector<Token>> tokens = Tokenize(line);
  return tokens && IsKeyword(*tokens, 0, "SET") && IsKeyword(*tokens, 1, "DEFAULT") &&
         IsKeyword(*tokens, 2, "ROLE");
}

std::vector<std::string> WithoutDanglingDefaultRoles(std::vector<std::string> lines) {
  // Names granted as roles: the names between GRANT and TO of a line
  // without ON.
  std::vector<std::string> granted;
  for (const std::string& line : lines) {
    std::optional<GrantShape> shape = ParseGrantShape(line);
    if (!shape || !IsKeyword(shape->tokens, 0, "GRANT") ||
        FindKeyword(shape->tokens, 1, "ON") < shape->keyword) {
      continue;
    }
    for (std::size_t i = 1; i < shape->keyword; ++i) {
      if (IsName(shape->tokens[i])) granted.push_back(shape->tokens[i].value);
    }
  }
  std::erase_if(lines, [&](const std::string& line) {
    std::optional<GrantShape> shape = ParseGrantShape(line);
    if (!shape || !IsKeyword(shape->tokens, 0, "SET") || shape->keyword != 4) return false;
    const Token& role = shape->tokens[3];
    if (IsKeyword(shape->tokens, 3, "NONE")) return false;
    return std::find(granted.begin(), granted.end(), role.value) == granted.end();
  });
  return lines;
}

std::optional<std::vector<RequireItem>> ParseRequireClause(std::string_view create_user) {
  std::optional<std::vector<Token>> tokens = Tokenize(create_user);
  if (!tokens) return std::nullopt;
  constexpr std::string_view kKeywords[] = {"NONE",    "SSL",    "X509", "ISSUER",
                                            "SUBJECT", "CIPHER", "AND"};
  auto is_clause_keyword = [&](std::size_t index) {
    return std::any_of(std::begin(kKeywords), std::end(kKeywords), [&](std::string_view keyword) {
      return IsKeyword(*tokens, index, keyword);
    });
  };
  std::vector<RequireItem> items;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    // MySQL 8 also prints "PASSWORD REQUIRE CURRENT ...", which is not TLS.
    if (!IsKeyword(*tokens, i, "REQUIRE") || (i > 0 && IsKeyword(*tokens, i - 1, "PASSWORD")) ||
        !is_clause_keyword(i + 1)) {
      continue;
    }
    for (std::size_t j = i + 1; j < tokens->size(); ++j) {
      const Token& token = (*tokens)[j];
      if (token.kind == Token::Kind::kString) {
        items.push_back({true, token.value});
      } else if (is_clause_keyword(j)) {
        std::string keyword = token.value;
        std::transform(keyword.begin(), keyword.end(), keyword.begin(), [](char c) {
          return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
        });
        items.push_back({false, std::move(keyword)});
      } else {
        break;
      }
    }
    break;
  }
  if (items.size() == 1 && !items[0].literal && items[0].text == "NONE") items.clear();
  return items;
}

std::optional<std::string> AuthPluginOf(std::string_view create_user) {
  std::optional<std::vector<Token>> tokens = Tokenize(create_user);
  if (!tokens) return std::nullopt;
  const std::size_t identified = FindKeyword(*tokens, 0, "IDENTIFIED");
  if (identified == std::string_view::npos) return std::string();
  if (IsKeyword(*tokens, identified + 1, "BY")) return std::string("mysql_native_password");
  if (!IsKeyword(*tokens, identified + 1, "VIA") && !IsKeyword(*tokens, identified + 1, "WITH")) {
    return std::nullopt;
  }
  const std::size_t name = identified + 2;
  if (name >= tokens->size() || !IsName((*tokens)[name])) return std::nullopt;
  if (FindKeyword(*tokens, name + 1, "OR") != std::string_view::npos) return std::nullopt;
  return (*tokens)[name].value;
}

Secret NativePasswordHash(const Secret& password) {
  unsigned char first[EVP_MAX_MD_SIZE];
  unsigned char second[EVP_MAX_MD_SIZE];
  unsigned int first_size = 0;
  unsigned int second_size = 0;
  const std::string_view plain = password.reveal();
  const bool ok =
      EVP_Digest(plain.data(), plain.size(), first, &first_size, EVP_sha1(), nullptr) == 1 &&
      EVP_Digest(first, first_size, second, &second_size, EVP_sha1(), nullptr) == 1;
  OPENSSL_cleanse(first, sizeof(first));
  if (!ok) return Secret();
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string hash;
  hash.reserve(1 + 2 * second_size);
  hash.push_back('*');
  for (unsigned int i = 0; i < second_size; ++i) {
    hash.push_back(kHex[second[i] >> 4]);
    hash.push_back(kHex[second[i] & 0x0F]);
  }
  OPENSSL_cleanse(second, sizeof(second));
  Secret result(std::move(hash));
  WipeString(hash);
  return result;
}

}  // namespace secret_rotator::strategies::mysql
