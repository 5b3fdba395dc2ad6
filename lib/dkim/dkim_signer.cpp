// DKIM signing; see dkim_signer.hpp. Builds each signature value tag by tag, folds it, signs the
// canonicalized header block with b= empty, then appends b= folded the same way.
#include "lib/dkim/dkim_signer.hpp"

#include <algorithm>

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_base64.hpp"

namespace postern {
namespace {

constexpr std::string_view kSignatureName = "DKIM-Signature";

// Folds a value made of pieces: each piece goes on the current line when it fits, else on a
// new line (CRLF TAB). A piece may be broken anywhere when breakable (base64).
class Folder {
 public:
  explicit Folder(size_t column) : column_(column) {}
  void piece(std::string_view text, bool breakable) {
    if (column_ + text.size() >= kDkimFoldColumns && column_ > 1) {
      if (breakable) {
        size_t room = kDkimFoldColumns - 1 - column_;
        if (room >= 8) {  // fill the line before breaking
          put(text.substr(0, room));
          text.remove_prefix(room);
        }
      }
      if (!text.empty()) {
        newline();
        if (text.front() == ' ') text.remove_prefix(1);  // the TAB separates already
      }
    }
    while (breakable && column_ + text.size() >= kDkimFoldColumns) {
      size_t room = kDkimFoldColumns - 1 - column_;
      put(text.substr(0, room));
      text.remove_prefix(room);
      newline();
    }
    put(text);
  }
  std::string& text() { return out_; }

 private:
  void put(std::string_view text) {
    out_ += text;
    column_ += text.size();
  }
  void newline() {
    // Trailing spaces would be signed text in simple canonicalization: keep lines clean.
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    out_ += "\r\n\t";
    column_ = 1;  // a TAB counts as one column here and in most readers' arithmetic
  }
  std::string out_;
  size_t column_;
};

std::string algorithm_name(DkimKeyType type) {
  return type == DkimKeyType::kEd25519 ? "ed25519-sha256" : "rsa-sha256";
}
std::string canon_name(DkimCanon canon) {
  return canon == DkimCanon::kRelaxed ? "relaxed" : "simple";
}

}  // namespace

std::vector<std::string> dkim_default_signed_headers() {
  return {"From",
          "Reply-To",
          "Subject",
          "Date",
          "To",
          "Cc",
          "Message-ID",
          "In-Reply-To",
          "References",
          "MIME-Version",
          "Content-Type",
          "Content-Transfer-Encoding",
          "List-Id",
          "List-Unsubscribe",
          "List-Unsubscribe-Post",
          "Sender"};
}

std::vector<std::string> dkim_default_oversigned_headers() {
  return {"From", "To", "Subject", "Date", "Message-ID", "Reply-To"};
}

DkimSigner::DkimSigner(std::vector<DkimSigningIdentity> identities, DkimSignOptions options)
    : identities_(std::move(identities)),
      options_(std::move(options)),
      body_hash_(options_.body_canon, DkimHashAlgorithm::kSha256, std::nullopt) {}

void DkimSigner::add_body(std::string_view chunk) {
  body_hash_.add(chunk);
}

Result<std::vector<std::string>> DkimSigner::finish(const std::vector<DkimHeader>& headers) {
  body_hash_.finish();
  if (identities_.empty()) return Error::config("no DKIM signing identity");
  if (identities_.size() > kMaxDkimSigningIdentities) {
    return Error::limit("too many DKIM signing identities");
  }
  bool has_from = std::any_of(headers.begin(), headers.end(),
                              [](const DkimHeader& h) { return ascii_iequals(h.name, "From"); });
  if (!has_from) return Error{ErrorKind::kPermanent, "message has no From header field", 0};

  // h=: present names as often as they occur, then one more of each over-signed name.
  std::vector<std::string> names;
  for (const std::string& wanted : options_.signed_headers) {
    std::string lower = ascii_lowercase(wanted);
    if (std::find(names.begin(), names.end(), lower) != names.end()) continue;
    for (const DkimHeader& header : headers) {
      if (ascii_iequals(header.name, lower)) names.push_back(lower);
    }
  }
  for (const std::string& wanted : options_.oversigned_headers) {
    names.push_back(ascii_lowercase(wanted));
  }
  if (std::find(names.begin(), names.end(), "from") == names.end()) {
    return Error::config("From is not among the signed header fields");
  }
  std::string body_hash = dkim_base64_encode(body_hash_.digest());

  std::vector<const DkimSigningIdentity*> order;
  for (const auto& identity : identities_) {
    if (identity.key && identity.key->type() == DkimKeyType::kRsa) order.push_back(&identity);
  }
  for (const auto& identity : identities_) {
    if (identity.key && identity.key->type() == DkimKeyType::kEd25519) order.push_back(&identity);
  }
  if (order.size() != identities_.size()) return Error::config("DKIM identity without a key");

  std::vector<std::string> values;
  for (const DkimSigningIdentity* identity : order) {
    if (!dkim_is_domain_text(identity->domain) || !dkim_is_domain_text(identity->selector)) {
      return Error::config("bad DKIM domain or selector");
    }
    Folder folder(kSignatureName.size() + 1);
    auto tag = [&](std::string text) { folder.piece(" " + text + ";", false); };
    folder.text() += "";
    tag("v=1");
    tag("a=" + algorithm_name(identity->key->type()));
    tag("c=" + canon_name(options_.header_canon) + "/" + canon_name(options_.body_canon));
    tag("d=" + identity->domain);
    if (!identity->identity.empty()) tag("i=" + identity->identity);
    if (options_.write_query_method) tag("q=dns/txt");
    tag("s=" + identity->selector);
    tag("t=" + std::to_string(options_.timestamp));
    if (options_.expiry_seconds > 0) {
      tag("x=" + std::to_string(options_.timestamp + options_.expiry_seconds));
    }
    // h= folds between names: each piece is one name and its separator.
    std::string separator = options_.header_list_separator;
    bool spaced = !separator.empty() && separator.front() == ' ';
    for (size_t i = 0; i < names.size(); ++i) {
      std::string piece = (i == 0 ? " h=" : (spaced ? " " : "")) + names[i];
      if (i + 1 < names.size()) {
        piece += spaced ? " :" : ":";
      } else {
        piece += ";";
      }
      folder.piece(piece, false);
    }
    folder.piece(" bh=", false);
    folder.piece(body_hash + ";", true);
    folder.piece(" b=", false);
    std::string unsigned_value = folder.text();

    std::string input = dkim_header_hash_input(options_.header_canon, headers, names,
                                               kSignatureName, unsigned_value);
    Result<std::string> signature = identity->key->sign(input);
    if (!signature) return signature.error();
    folder.piece(dkim_base64_encode(*signature), true);
    values.push_back(std::move(folder.text()));
  }
  return values;
}

}  // namespace postern
