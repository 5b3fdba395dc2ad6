// ARC sealing; see arc_sealer.hpp for what is written and when. Each signature value is built
// tag by tag, signed with its b= empty, then b= is filled in.
#include "lib/arc/arc_sealer.hpp"

#include <algorithm>

#include "lib/authres/authres_types.hpp"
#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_base64.hpp"

namespace postern {
namespace {

// Joins pieces with one space; with fold, a piece that would reach kArcFoldColumns starts a
// new line (CRLF TAB) instead, and a breakable piece (base64) is cut to fill lines.
class Folder {
 public:
  Folder(bool fold, size_t column) : fold_(fold), column_(column) {}
  // A piece after one space (none at the start of a line).
  void piece(std::string_view text, bool breakable = false) {
    if (!fresh_line_) put(" ");
    fresh_line_ = false;
    if (!fold_) {
      put(text);
    } else if (breakable) {
      put_breakable(text);
    } else {
      if (column_ + text.size() >= kArcFoldColumns && column_ > 1) newline();
      put(text);
    }
  }
  // A piece joined to the one before without a space (the next name of h=); with fold it may
  // start a new line instead, which is folding white space after the ':'.
  void word(std::string_view text) {
    if (fold_ && column_ + text.size() >= kArcFoldColumns && column_ > 1) newline();
    put(text);
  }
  // Appends to the last piece (b= after it was left empty for signing); base64, so with fold
  // it is cut to fill the lines.
  void append(std::string_view text) {
    if (fold_) {
      put_breakable(text);
    } else {
      put(text);
    }
  }
  // With fold, ends the line here (the next piece starts after CRLF TAB).
  void break_line() {
    if (fold_) {
      newline();
      fresh_line_ = true;
    }
  }
  const std::string& text() const { return out_; }

 private:
  void put(std::string_view text) {
    out_ += text;
    column_ += text.size();
  }
  void put_breakable(std::string_view text) {
    while (column_ + text.size() >= kArcFoldColumns) {
      if (column_ + 1 >= kArcFoldColumns) {  // no room left on this line
        newline();
        continue;
      }
      size_t room = kArcFoldColumns - 1 - column_;
      put(text.substr(0, room));
      text.remove_prefix(room);
      newline();
    }
    put(text);
  }
  void newline() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    out_ += "\r\n\t";
    column_ = 1;
  }
  bool fold_;
  bool fresh_line_ = false;
  size_t column_;
  std::string out_;
};

std::string algorithm_name(DkimKeyType type) {
  return type == DkimKeyType::kEd25519 ? "ed25519-sha256" : "rsa-sha256";
}
std::string canon_name(DkimCanon canon) {
  return canon == DkimCanon::kRelaxed ? "relaxed" : "simple";
}

}  // namespace

std::vector<DkimHeader> ArcSetValues::fields() const {
  return {DkimHeader{std::string(kArcSealName), seal},
          DkimHeader{std::string(kArcMessageSignatureName), message_signature},
          DkimHeader{std::string(kArcAuthResultsName), authentication_results}};
}

ArcSealer::ArcSealer(ArcSealingKey key, ArcSealOptions options)
    : key_(std::move(key)),
      options_(std::move(options)),
      body_hash_(options_.body_canon, DkimHashAlgorithm::kSha256, std::nullopt) {}

void ArcSealer::add_body(std::string_view chunk) {
  body_hash_.add(chunk);
}

Result<ArcSetValues> ArcSealer::finish(const std::vector<DkimHeader>& headers,
                                       std::string_view authserv_id,
                                       const std::vector<std::string>& resinfos,
                                       const ArcResult& chain) {
  body_hash_.finish();
  if (!key_.key) return Error::config("ARC sealing key missing");
  if (!dkim_is_domain_text(key_.domain) || !dkim_is_domain_text(key_.selector)) {
    return Error::config("bad ARC sealing domain or selector");
  }
  if (authserv_id.empty() || std::any_of(authserv_id.begin(), authserv_id.end(),
                                         [](char c) { return !is_authres_token_char(c); })) {
    return Error::config("bad authserv-id for ARC-Authentication-Results");
  }
  if (resinfos.size() > kMaxArcSealResinfos) return Error::limit("too many resinfos to seal");
  for (const std::string& resinfo : resinfos) {
    if (resinfo.empty() || resinfo.find_first_of("\r\n") != std::string::npos) {
      return Error::config("bad resinfo text for ARC-Authentication-Results");
    }
  }
  if (chain.newest_seal_failed) {
    return Error{ErrorKind::kPermanent, "the ARC chain is already marked cv=fail", 0};
  }
  ArcSetValues set;
  set.chain_status = chain.status;
  set.instance =
      (chain.status == ArcChainStatus::kPass ? chain.instances : chain.highest_instance) + 1;
  if (chain.status == ArcChainStatus::kNone) set.instance = 1;
  if (set.instance > kMaxArcInstances) return Error::limit("ARC chain has 50 sets already");
  std::string instance = "i=" + std::to_string(set.instance);

  // ARC-Authentication-Results.
  {
    Folder folder(options_.fold, kArcAuthResultsName.size() + 1);
    std::vector<std::string> pieces;
    pieces.push_back(instance + ";");
    pieces.push_back(std::string(authserv_id) + ";");
    if (resinfos.empty()) pieces.push_back("none;");
    for (const std::string& resinfo : resinfos) pieces.push_back(resinfo + ";");
    pieces.back().pop_back();  // no ';' after the last
    for (size_t k = 0; k < pieces.size(); ++k) {
      // Each resinfo on a line of its own when folding, as AuthResultsBuilder writes them.
      if (k >= 2) folder.break_line();
      folder.piece(pieces[k]);
    }
    set.authentication_results = folder.text();
    if (set.authentication_results.size() > kMaxArcHeaderValueBytes) {
      return Error::limit("ARC-Authentication-Results too long");
    }
  }

  // The h= names: each wanted name as often as the message has it.
  std::vector<std::string> names;
  for (const std::string& wanted : options_.signed_headers) {
    std::string lower = ascii_lowercase(wanted);
    if (lower == "arc-seal" || lower == "arc-message-signature") {
      return Error::config("ARC-Seal and ARC-Message-Signature cannot be signed by an AMS");
    }
    if (std::find(names.begin(), names.end(), lower) != names.end()) continue;
    for (const DkimHeader& header : headers) {
      if (ascii_iequals(header.name, lower)) names.push_back(lower);
    }
  }
  if (names.size() > kMaxDkimSignedHeaders) {
    return Error::limit("too many header fields to sign in the AMS");
  }

  std::vector<DkimHeader> with_results = headers;
  with_results.insert(with_results.begin(),
                      DkimHeader{std::string(kArcAuthResultsName), set.authentication_results});
  const std::string algorithm = algorithm_name(key_.key->type());
  const std::string timestamp = "t=" + std::to_string(options_.timestamp);

  // ARC-Message-Signature: a b bh c d h i s t.
  {
    const std::string body_hash = "bh=" + dkim_base64_encode(body_hash_.digest()) + ";";
    const std::string canon =
        "c=" + canon_name(options_.header_canon) + "/" + canon_name(options_.body_canon) + ";";
    auto value = [&](std::string_view b) {
      Folder folder(options_.fold, kArcMessageSignatureName.size() + 1);
      folder.piece("a=" + algorithm + ";");
      folder.piece("b=");
      folder.append(std::string(b) + ";");
      folder.break_line();  // the tags after b= fold the same way whatever b= holds
      folder.piece(body_hash, true);
      folder.piece(canon);
      folder.piece("d=" + key_.domain + ";");
      if (names.empty()) folder.piece("h=;");
      for (size_t k = 0; k < names.size(); ++k) {  // h= folds between names
        std::string name = names[k] + (k + 1 < names.size() ? ":" : ";");
        if (k == 0) {
          folder.piece("h=" + name);
        } else {
          folder.word(name);
        }
      }
      folder.piece(instance + ";");
      folder.piece("s=" + key_.selector + ";");
      folder.piece(timestamp);
      return folder.text();
    };
    std::string input = dkim_header_hash_input(options_.header_canon, with_results, names,
                                               kArcMessageSignatureName, value(""));
    Result<std::string> signature = key_.key->sign(input);
    if (!signature) return signature.error();
    set.message_signature = value(dkim_base64_encode(*signature));
    if (set.message_signature.size() > kMaxArcHeaderValueBytes) {
      return Error::limit("ARC-Message-Signature too long");
    }
  }

  // ARC-Seal: a b cv d i s t, over the sets 1..N+1 (or only N+1 for cv=fail).
  {
    std::vector<const DkimHeader*> fields;
    ArcSetsGathered gathered;
    if (chain.status == ArcChainStatus::kPass) {
      gathered = gather_arc_sets(headers);
      if (gathered.failed || gathered.sets.size() + 1 != set.instance) {
        return Error::config("the chain result does not match the message's ARC sets");
      }
      for (const ArcSetFields& old : gathered.sets) {
        fields.push_back(&headers[old.results]);
        fields.push_back(&headers[old.message_signature]);
        fields.push_back(&headers[old.seal]);
      }
    }
    DkimHeader results{std::string(kArcAuthResultsName), set.authentication_results};
    DkimHeader message_signature{std::string(kArcMessageSignatureName), set.message_signature};
    fields.push_back(&results);
    fields.push_back(&message_signature);

    std::vector<std::string> tail = {"cv=" + std::string(arc_chain_status_name(chain.status)) + ";",
                                     "d=" + key_.domain + ";", instance + ";",
                                     "s=" + key_.selector + ";", timestamp};
    auto value = [&](std::string_view b) {
      Folder folder(options_.fold, kArcSealName.size() + 1);
      folder.piece("a=" + algorithm + ";");
      folder.piece("b=");
      folder.append(std::string(b) + ";");
      folder.break_line();
      for (const std::string& text : tail) folder.piece(text);
      return folder.text();
    };
    Result<std::string> signature = key_.key->sign(arc_seal_hash_input(fields, value("")));
    if (!signature) return signature.error();
    set.seal = value(dkim_base64_encode(*signature));
  }
  return set;
}

}  // namespace postern
