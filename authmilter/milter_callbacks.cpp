// The libmilter callbacks of postern-authmilter (see milter_callbacks.hpp). Each callback finds
// its AuthSession through smfi_getpriv, passes what libmilter gave it, and answers CONTINUE:
// authmilter never refuses a command, only — with dmarc_enforcement = yes — a message at its
// end. Header values arrive with their leading white space (SMFIP_HDR_LEADSPC, asked for when
// the MTA offers it), so signatures with simple header canonicalization see the stored bytes.
#include "authmilter/milter_callbacks.hpp"

#include <libmilter/mfapi.h>

#include <string>
#include <string_view>

#include "lib/base/log.hpp"
#include "lib/net/network_list.hpp"

namespace postern::authmilter {
namespace {

const AuthServices* g_services = nullptr;

AuthSession* session_of(SMFICTX* ctx) {
  return static_cast<AuthSession*>(smfi_getpriv(ctx));
}

std::string macro(SMFICTX* ctx, const char* name) {
  const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
  return value != nullptr ? std::string(value) : std::string();
}

// "<user@example.org>" -> "user@example.org"; "<>" -> "".
std::string strip_angle_brackets(const char* text) {
  std::string value = text != nullptr ? text : "";
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') {
    value = value.substr(1, value.size() - 2);
  }
  return value;
}

// The session is made here, the first callback of a connection, so that it knows whether
// header values will carry their leading space.
AuthSession* session_for(SMFICTX* ctx) {
  AuthSession* session = session_of(ctx);
  if (session == nullptr) {
    session = new AuthSession(*g_services);
    smfi_setpriv(ctx, session);
  }
  return session;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long offered_actions, unsigned long offered_steps,
                      unsigned long, unsigned long, unsigned long* wanted_actions,
                      unsigned long* wanted_steps, unsigned long* wanted_2,
                      unsigned long* wanted_3) {
  *wanted_actions = offered_actions & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
  // Steps we do not need: the recipients, unknown commands and DATA.
  *wanted_steps =
      offered_steps & (SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_HDR_LEADSPC);
  *wanted_2 = 0;
  *wanted_3 = 0;
  session_for(ctx)->set_leading_space((offered_steps & SMFIP_HDR_LEADSPC) != 0);
  if (offered_actions & SMFIF_SETSYMLIST) {
    smfi_setsymlist(ctx, SMFIM_CONNECT, const_cast<char*>("{daemon_name} j"));
    smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("{auth_type} {auth_authen} i"));
    smfi_setsymlist(ctx, SMFIM_EOH, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
  }
  return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* address) {
  AuthSession* session = session_for(ctx);
  std::string client_address;
  if (address != nullptr) {
    if (Result<IpBytes> ip = ip_of_sockaddr(address); ip) client_address = ip_to_string(*ip);
  }
  session->connect(std::move(client_address), hostname != nullptr ? hostname : "",
                   macro(ctx, "{daemon_name}"));
  return SMFIS_CONTINUE;
}

sfsistat on_helo(SMFICTX* ctx, char* helo) {
  if (AuthSession* session = session_of(ctx)) session->helo(helo != nullptr ? helo : "");
  return SMFIS_CONTINUE;
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  if (AuthSession* session = session_of(ctx)) {
    session->mail(strip_angle_brackets(argv != nullptr ? argv[0] : nullptr),
                  macro(ctx, "{auth_type}"), macro(ctx, "{auth_authen}"), macro(ctx, "i"));
  }
  return SMFIS_CONTINUE;
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  if (AuthSession* session = session_of(ctx)) {
    // Without the leading-space option the MTA took the space after the colon away.
    std::string text = session->leading_space() ? std::string() : std::string(" ");
    if (value != nullptr) text += value;
    session->header(name != nullptr ? name : "", text);
  }
  return SMFIS_CONTINUE;
}

sfsistat on_end_of_headers(SMFICTX* ctx) {
  if (AuthSession* session = session_of(ctx)) session->end_of_headers();
  return SMFIS_CONTINUE;
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t length) {
  if (AuthSession* session = session_of(ctx)) {
    session->body(std::string_view(reinterpret_cast<const char*>(chunk), length));
  }
  return SMFIS_CONTINUE;
}

sfsistat on_end_of_message(SMFICTX* ctx) {
  AuthSession* session = session_of(ctx);
  if (session == nullptr) return SMFIS_CONTINUE;
  // Postfix names its queue ID only now (see AuthSession::set_queue_id).
  if (session->queue_id().empty()) session->set_queue_id(macro(ctx, "i"));
  const std::string queue_id = session->queue_id().empty() ? "NOQUEUE" : session->queue_id();
  MessageOutcome outcome = session->end_of_message();
  if (!outcome.log_line.empty()) log::info("{}", outcome.log_line);
  // Deletions name occurrences of the headers as the MTA has them: do them before inserting.
  for (const HeaderEdit& edit : outcome.edits) {
    if (edit.kind != HeaderEdit::Kind::kDelete) continue;
    if (smfi_chgheader(ctx, const_cast<char*>(edit.name.c_str()), edit.index, nullptr) !=
        MI_SUCCESS) {
      log::warning("{}: could not remove {} #{}", queue_id, edit.name, edit.index);
    }
  }
  for (const HeaderEdit& edit : outcome.edits) {
    if (edit.kind != HeaderEdit::Kind::kInsert) continue;
    // Values begin with their space; without the leading-space option the MTA adds one.
    std::string value = edit.value;
    if (!session->leading_space() && !value.empty() && value.front() == ' ') value.erase(0, 1);
    if (smfi_insheader(ctx, edit.index, const_cast<char*>(edit.name.c_str()),
                       const_cast<char*>(value.c_str())) != MI_SUCCESS) {
      log::warning("{}: could not add {}", queue_id, edit.name);
    }
  }
  if (outcome.reject) {
    smfi_setreply(ctx, const_cast<char*>(outcome.reply_code.c_str()),
                  const_cast<char*>(outcome.reply_status.c_str()),
                  const_cast<char*>(outcome.reply_text.c_str()));
    return SMFIS_REJECT;
  }
  return SMFIS_CONTINUE;
}

sfsistat on_abort(SMFICTX* ctx) {
  if (AuthSession* session = session_of(ctx)) session->abort();
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  delete session_of(ctx);
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

int run_milter(const MilterListen& listen, const AuthServices& services,
               const std::function<void()>& listening) {
  g_services = &services;
  smfiDesc description{};
  description.xxfi_name = const_cast<char*>("postern-authmilter");
  description.xxfi_version = SMFI_VERSION;
  description.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST;
  description.xxfi_connect = on_connect;
  description.xxfi_helo = on_helo;
  description.xxfi_envfrom = on_envfrom;
  description.xxfi_header = on_header;
  description.xxfi_eoh = on_end_of_headers;
  description.xxfi_body = on_body;
  description.xxfi_eom = on_end_of_message;
  description.xxfi_abort = on_abort;
  description.xxfi_close = on_close;
  description.xxfi_negotiate = on_negotiate;
  if (smfi_register(description) != MI_SUCCESS) {
    log::error("smfi_register failed");
    return 1;
  }
  if (smfi_setconn(const_cast<char*>(listen.connection.c_str())) != MI_SUCCESS ||
      smfi_settimeout(listen.timeout_seconds) != MI_SUCCESS ||
      smfi_setbacklog(listen.backlog) != MI_SUCCESS) {
    log::error("bad milter socket {}", listen.connection);
    return 1;
  }
  if (smfi_opensocket(true) != MI_SUCCESS) {
    log::error("cannot listen on {}", listen.connection);
    return 1;
  }
  log::info("listening on {}", listen.connection);
  if (listening) listening();
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}

void stop_milter() {
  smfi_stop();
}

}  // namespace postern::authmilter
