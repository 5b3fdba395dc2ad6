// Cyrus SASL client for postern-relay's AUTH (see sasl_client.hpp). The password lives in one
// malloc'd sasl_secret_t that is wiped (OPENSSL_cleanse) before it is freed; no function here
// logs or returns it except inside the protocol responses, which the caller never logs.
#include "relay/sasl_client.hpp"

#include <openssl/crypto.h>
#include <sasl/saslutil.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace postern::relay {

namespace {

int sasl_init_result = SASL_FAIL;

}  // namespace

Status sasl_client_startup() {
  static std::once_flag once;
  std::call_once(once, [] { sasl_init_result = sasl_client_init(nullptr); });
  if (sasl_init_result != SASL_OK) {
    return Error::config(std::string("sasl_client_init: ") +
                         sasl_errstring(sasl_init_result, nullptr, nullptr));
  }
  return {};
}

Result<std::unique_ptr<SaslClient>> SaslClient::create(std::string_view server_host,
                                                       std::string_view user,
                                                       std::string_view password, bool tls_active) {
  if (Status started = sasl_client_startup(); !started) return started.error();
  std::unique_ptr<SaslClient> client(new SaslClient());
  client->user_ = std::string(user);
  client->secret_ =
      static_cast<sasl_secret_t*>(std::calloc(1, sizeof(sasl_secret_t) + password.size() + 1));
  if (client->secret_ == nullptr) return Error::system("calloc", ENOMEM);
  client->secret_->len = password.size();
  std::memcpy(client->secret_->data, password.data(), password.size());
  using Proc = int (*)();
  // Cyrus stores every callback as int(*)(void); void(*)(void) is the portable go-between.
  using Any = void (*)();
  client->callbacks_ = {
      {SASL_CB_USER, reinterpret_cast<Proc>(reinterpret_cast<Any>(&SaslClient::get_simple)),
       client.get()},
      {SASL_CB_AUTHNAME, reinterpret_cast<Proc>(reinterpret_cast<Any>(&SaslClient::get_simple)),
       client.get()},
      {SASL_CB_PASS, reinterpret_cast<Proc>(reinterpret_cast<Any>(&SaslClient::get_secret)),
       client.get()},
      {SASL_CB_LIST_END, nullptr, nullptr},
  };
  std::string host(server_host);
  int code = sasl_client_new("smtp", host.c_str(), nullptr, nullptr, client->callbacks_.data(), 0,
                             &client->conn_);
  if (code != SASL_OK) return client->sasl_error("sasl_client_new", code);
  sasl_security_properties_t props{};
  props.min_ssf = 0;
  props.max_ssf = 0;  // no SASL security layer: TLS protects the session, or nothing does
  props.maxbufsize = 0;
  props.security_flags = SASL_SEC_NOANONYMOUS | (tls_active ? 0 : SASL_SEC_NOPLAINTEXT);
  code = sasl_setprop(client->conn_, SASL_SEC_PROPS, &props);
  if (code != SASL_OK) return client->sasl_error("sasl_setprop", code);
  return client;
}

SaslClient::~SaslClient() {
  if (conn_ != nullptr) sasl_dispose(&conn_);
  if (secret_ != nullptr) {
    OPENSSL_cleanse(secret_->data, secret_->len);
    std::free(secret_);
  }
  OPENSSL_cleanse(user_.data(), user_.size());
}

int SaslClient::get_simple(void* context, int id, const char** result, unsigned* length) {
  auto* self = static_cast<SaslClient*>(context);
  if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME) return SASL_BADPARAM;
  *result = self->user_.c_str();
  if (length != nullptr) *length = static_cast<unsigned>(self->user_.size());
  return SASL_OK;
}

int SaslClient::get_secret(sasl_conn_t*, void* context, int id, sasl_secret_t** secret) {
  auto* self = static_cast<SaslClient*>(context);
  if (id != SASL_CB_PASS || secret == nullptr) return SASL_BADPARAM;
  *secret = self->secret_;
  return SASL_OK;
}

Error SaslClient::sasl_error(std::string_view what, int code) const {
  // sasl_errdetail names the mechanism and the failure, never the secret.
  const char* detail = conn_ != nullptr ? sasl_errdetail(conn_) : nullptr;
  return Error{ErrorKind::kTemporary,
               std::string(what) + ": " +
                   (detail != nullptr ? detail : sasl_errstring(code, nullptr, nullptr)),
               0};
}

Result<std::string> SaslClient::encode(const char* data, unsigned length) const {
  if (length > kMaxSaslBytes) return Error::limit("SASL response too long");
  std::string out(kMaxSaslBytes * 4 / 3 + 8, '\0');
  unsigned out_length = 0;
  int code =
      sasl_encode64(data, length, out.data(), static_cast<unsigned>(out.size()), &out_length);
  if (code != SASL_OK) return sasl_error("sasl_encode64", code);
  out.resize(out_length);
  return out;
}

Result<std::string> SaslClient::start(const std::vector<std::string>& server_mechanisms) {
  std::string list;
  for (const std::string& mech : server_mechanisms) {
    if (!list.empty()) list += ' ';
    list += mech;
  }
  const char* out = nullptr;
  unsigned out_length = 0;
  const char* chosen = nullptr;
  sasl_interact_t* interact = nullptr;
  int code = sasl_client_start(conn_, list.c_str(), &interact, &out, &out_length, &chosen);
  if (code != SASL_OK && code != SASL_CONTINUE) return sasl_error("no usable SASL mechanism", code);
  mechanism_ = chosen != nullptr ? chosen : "";
  std::string command = "AUTH " + mechanism_;
  if (out != nullptr) {
    // An initial response (RFC 4954 4); an empty one is sent as "=".
    if (out_length == 0) {
      command += " =";
    } else {
      Result<std::string> encoded = encode(out, out_length);
      if (!encoded) return encoded.error();
      command += " " + *encoded;
    }
  }
  return command;
}

Result<std::string> SaslClient::step(std::string_view challenge_base64) {
  if (challenge_base64.size() > kMaxSaslBytes * 4 / 3 + 4) {
    return Error::limit("SASL challenge too long");
  }
  std::string decoded(kMaxSaslBytes + 1, '\0');
  unsigned decoded_length = 0;
  int code = sasl_decode64(challenge_base64.data(), static_cast<unsigned>(challenge_base64.size()),
                           decoded.data(), static_cast<unsigned>(decoded.size()), &decoded_length);
  if (code != SASL_OK) return Error::parse("malformed SASL challenge");
  const char* out = nullptr;
  unsigned out_length = 0;
  sasl_interact_t* interact = nullptr;
  code = sasl_client_step(conn_, decoded.data(), decoded_length, &interact, &out, &out_length);
  if (code != SASL_OK && code != SASL_CONTINUE) return sasl_error("SASL step failed", code);
  if (out == nullptr || out_length == 0) return std::string();
  return encode(out, out_length);
}

}  // namespace postern::relay
