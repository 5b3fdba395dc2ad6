/* test-milter: a scriptable milter (libmilter, protocol v6) for the milter tests (issue 12).
 *
 * The peer tests run it behind a real Postfix (the reference) and behind Postern's milter
 * client, with the same flags, and compare what the MTA did with what this program asked for.
 *
 *   test-milter --socket inet:PORT@127.0.0.1 --log FILE [--action ACTION[:ARG]]...
 *               [--leading-space] [--no-reply-flags] [--symlist STAGE:"MACROS"]...
 *               [--exit-with-parent]
 *
 * --log FILE: one JSON object per line, flushed at once, for every callback ("event"), with
 * its arguments exactly as libmilter handed them over (header values keep their leading white
 * space; bytes outside printable ASCII are written as \u00XX), the connection's number ("conn")
 * and every macro of kMacroNames that smfi_getsymval finds at that moment ("macros"). The first
 * line is {"event":"listening"}: the socket is bound and listens (smfi_opensocket).
 *
 * Actions (default: continue at every step, change nothing):
 *   reject-connect, reject-helo, reject-mail, reject-rcpt[:ADDR] (only ADDR, <> ignored),
 *   tempfail-data, accept-connect, skip (SMFIS_SKIP on the first body chunk),
 *   at end of message, in the order given: reject-eom, discard-eom,
 *   reply-eom:"CODE X.Y.Z text" (smfi_setreply; 4xx tempfails, 5xx rejects), multiline-eom
 *   (smfi_setmlreply, 3 lines), quarantine:REASON, add-header:NAME:VALUE,
 *   insert-header:INDEX:NAME:VALUE, change-header:NAME:INDEX:VALUE (empty VALUE deletes),
 *   replace-body:TEXT (a two-character "\n" in TEXT becomes CRLF), add-rcpt:ADDR,
 *   add-rcpt-par:ADDR:ARGS, del-rcpt:ADDR, change-from:ADDR[:ARGS].
 * --leading-space negotiates SMFIP_HDR_LEADSPC. --no-reply-flags asks for SMFIP_NR_* on every
 * step but end of message (as rspamd does); the callbacks then answer SMFIS_NOREPLY, so only
 * end-of-message actions make sense with it (a step action would answer a step the MTA
 * expects no answer to). --symlist STAGE:MACROS calls smfi_setsymlist, STAGE one of
 * connect helo mail rcpt data eoh eom.
 *
 * Trusts its command line (a test wrote it); what the MTA sends is only logged. SIGTERM or
 * SIGINT stops it at once (see main), without waiting for open sessions. --exit-with-parent:
 * SIGTERM also comes when the process that started it dies (PR_SET_PDEATHSIG), so a test
 * runner that is killed leaves no milter behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { kMaxActions = 64, kMaxSymlists = 8 };

static const char *const kMacroNames[] = {"j",
                                          "_",
                                          "v",
                                          "i",
                                          "{daemon_name}",
                                          "{daemon_addr}",
                                          "{if_name}",
                                          "{if_addr}",
                                          "{client_addr}",
                                          "{client_port}",
                                          "{client_name}",
                                          "{client_ptr}",
                                          "{client_resolve}",
                                          "{tls_version}",
                                          "{cipher}",
                                          "{cipher_bits}",
                                          "{cert_subject}",
                                          "{cert_issuer}",
                                          "{auth_type}",
                                          "{auth_authen}",
                                          "{auth_author}",
                                          "{mail_mailer}",
                                          "{mail_host}",
                                          "{mail_addr}",
                                          "{rcpt_mailer}",
                                          "{rcpt_host}",
                                          "{rcpt_addr}"};

struct Action {
  char *name; /* "reject-rcpt", "add-header", ... */
  char *arg;  /* what followed the first ':' (NULL if nothing) */
};

struct Symlist {
  int stage;
  char *macros;
};

static struct Action g_actions[kMaxActions];
static int g_action_count;
static struct Symlist g_symlists[kMaxSymlists];
static int g_symlist_count;
static int g_leading_space;
static int g_no_reply;

static FILE *g_log;
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_conn_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_next_conn = 1;

/* One SMTP session's state, owned by libmilter's context from negotiate to close. */
struct Session {
  int conn;
  size_t body_total;
  int body_chunks;
  int skipped;
};

/* ---- the JSON log ------------------------------------------------------------------------ */

static void json_string(FILE *out, const char *text, size_t length) {
  fputc('"', out);
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') {
      fprintf(out, "\\%c", c);
    } else if (c < 0x20 || c >= 0x7f) {
      fprintf(out, "\\u%04x", c); /* bytes, not characters: the test reads them back as such */
    } else {
      fputc(c, out);
    }
  }
  fputc('"', out);
}

static void json_cstring(FILE *out, const char *text) {
  if (text == NULL) {
    fputs("null", out);
  } else {
    json_string(out, text, strlen(text));
  }
}

static struct Session *session_of(SMFICTX *ctx) {
  return smfi_getpriv(ctx);
}

/* Starts a log line: {"event":EVENT,"conn":N. The caller adds fields, then log_end(). */
static FILE *log_begin(char **buffer, size_t *size, SMFICTX *ctx, const char *event) {
  FILE *line = open_memstream(buffer, size);
  if (line == NULL) {
    perror("test-milter: open_memstream");
    exit(1);
  }
  fputs("{\"event\":", line);
  json_cstring(line, event);
  struct Session *session = ctx ? session_of(ctx) : NULL;
  if (session != NULL) fprintf(line, ",\"conn\":%d", session->conn);
  return line;
}

/* Adds the macros seen now, closes the object and writes it as one flushed line. */
static void log_end(FILE *line, char **buffer, SMFICTX *ctx) {
  if (ctx != NULL) {
    fputs(",\"macros\":{", line);
    int first = 1;
    for (size_t i = 0; i < sizeof kMacroNames / sizeof kMacroNames[0]; i++) {
      char *value = smfi_getsymval(ctx, (char *)kMacroNames[i]);
      if (value == NULL) continue;
      if (!first) fputc(',', line);
      first = 0;
      json_cstring(line, kMacroNames[i]);
      fputc(':', line);
      json_cstring(line, value);
    }
    fputc('}', line);
  }
  fputs("}\n", line);
  fclose(line);
  pthread_mutex_lock(&g_log_lock);
  fputs(*buffer, g_log);
  fflush(g_log);
  pthread_mutex_unlock(&g_log_lock);
  free(*buffer);
}

static void log_simple(SMFICTX *ctx, const char *event) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, event);
  log_end(line, &buffer, ctx);
}

static void json_argv(FILE *line, const char *key, char **argv) {
  fprintf(line, ",\"%s\":[", key);
  for (int i = 0; argv != NULL && argv[i] != NULL; i++) {
    if (i > 0) fputc(',', line);
    json_cstring(line, argv[i]);
  }
  fputc(']', line);
}

/* Logs a failed smfi_* modification call: the test then sees why the MTA did not apply it. */
static void log_call_failed(SMFICTX *ctx, const char *call, const char *arg) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "call_failed");
  fputs(",\"call\":", line);
  json_cstring(line, call);
  fputs(",\"arg\":", line);
  json_cstring(line, arg);
  log_end(line, &buffer, ctx);
}

/* ---- actions ----------------------------------------------------------------------------- */

static const struct Action *find_action(const char *name) {
  for (int i = 0; i < g_action_count; i++) {
    if (strcmp(g_actions[i].name, name) == 0) return &g_actions[i];
  }
  return NULL;
}

/* What a step answers when no action applies: continue, or nothing at all in no-reply mode. */
static sfsistat step_default(void) {
  return g_no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* "a:b:c" split at its first ':' into a (returned, in place) and *rest (NULL if no ':'). */
static char *split_first(char *text, char **rest) {
  char *colon = strchr(text, ':');
  *rest = NULL;
  if (colon != NULL) {
    *colon = '\0';
    *rest = colon + 1;
  }
  return text;
}

/* Compares two addresses ignoring <> and case. */
static int same_address(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la >= 2 && a[0] == '<' && a[la - 1] == '>') a++, la -= 2;
  if (lb >= 2 && b[0] == '<' && b[lb - 1] == '>') b++, lb -= 2;
  return la == lb && strncasecmp(a, b, la) == 0;
}

/* One end-of-message action; returns -1 to go on, else the SMFIS_* answer for the message. */
static int run_eom_action(SMFICTX *ctx, const struct Action *action) {
  char *copy = action->arg ? strdup(action->arg) : strdup("");
  char *rest = NULL;
  int result = -1;
  int ok = MI_SUCCESS;
  const char *name = action->name;
  if (strcmp(name, "reject-eom") == 0) {
    result = SMFIS_REJECT;
  } else if (strcmp(name, "discard-eom") == 0) {
    result = SMFIS_DISCARD;
  } else if (strcmp(name, "reply-eom") == 0) {
    /* "550 5.7.1 text": code, then an enhanced code if the next word looks like one. */
    char *code = strtok_r(copy, " ", &rest);
    char *xcode = NULL;
    if (rest != NULL && rest[0] >= '2' && rest[0] <= '5' && rest[1] == '.') {
      xcode = strtok_r(NULL, " ", &rest);
    }
    ok = smfi_setreply(ctx, code, xcode, rest && *rest ? rest : NULL);
    result = code && code[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
  } else if (strcmp(name, "multiline-eom") == 0) {
    ok = smfi_setmlreply(ctx, "550", "5.7.1", "test-milter multi-line reject, line one", "line two",
                         "line three", NULL);
    result = SMFIS_REJECT;
  } else if (strcmp(name, "quarantine") == 0) {
    ok = smfi_quarantine(ctx, copy[0] ? copy : "test-milter quarantine");
  } else if (strcmp(name, "add-header") == 0) {
    char *header = split_first(copy, &rest);
    ok = smfi_addheader(ctx, header, rest ? rest : "");
  } else if (strcmp(name, "insert-header") == 0) {
    char *index = split_first(copy, &rest);
    char *header = split_first(rest ? rest : (char *)"", &rest);
    ok = smfi_insheader(ctx, atoi(index), header, rest ? rest : "");
  } else if (strcmp(name, "change-header") == 0) {
    char *header = split_first(copy, &rest);
    char *index = split_first(rest ? rest : (char *)"1", &rest);
    ok = smfi_chgheader(ctx, header, atoi(index), rest && *rest ? rest : NULL);
  } else if (strcmp(name, "replace-body") == 0) {
    size_t length = strlen(copy);
    char *body = malloc(2 * length + 3);
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
      if (copy[i] == '\\' && copy[i + 1] == 'n') {
        body[out++] = '\r';
        body[out++] = '\n';
        i++;
      } else {
        body[out++] = copy[i];
      }
    }
    if (out < 2 || body[out - 1] != '\n') {
      body[out++] = '\r';
      body[out++] = '\n';
    }
    ok = smfi_replacebody(ctx, (unsigned char *)body, (int)out);
    free(body);
  } else if (strcmp(name, "add-rcpt") == 0) {
    ok = smfi_addrcpt(ctx, copy);
  } else if (strcmp(name, "add-rcpt-par") == 0) {
    char *address = split_first(copy, &rest);
    ok = smfi_addrcpt_par(ctx, address, rest);
  } else if (strcmp(name, "del-rcpt") == 0) {
    ok = smfi_delrcpt(ctx, copy);
  } else if (strcmp(name, "change-from") == 0) {
    char *address = split_first(copy, &rest);
    ok = smfi_chgfrom(ctx, address, rest);
  }
  if (ok != MI_SUCCESS) log_call_failed(ctx, name, action->arg);
  free(copy);
  return result;
}

/* ---- callbacks --------------------------------------------------------------------------- */

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                             unsigned long f2, unsigned long f3, unsigned long *want_actions,
                             unsigned long *want_steps, unsigned long *want_f2,
                             unsigned long *want_f3) {
  (void)f2, (void)f3;
  struct Session *session = calloc(1, sizeof *session);
  pthread_mutex_lock(&g_conn_lock);
  session->conn = g_next_conn++;
  pthread_mutex_unlock(&g_conn_lock);
  smfi_setpriv(ctx, session);

  unsigned long wanted = SMFIP_SKIP;
  if (g_leading_space) wanted |= SMFIP_HDR_LEADSPC;
  if (g_no_reply) {
    wanted |= SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA |
              SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
  }
  *want_actions = actions; /* every modification the MTA allows */
  *want_steps = steps & wanted;
  *want_f2 = 0;
  *want_f3 = 0;
  for (int i = 0; i < g_symlist_count; i++) {
    if (smfi_setsymlist(ctx, g_symlists[i].stage, g_symlists[i].macros) != MI_SUCCESS) {
      log_call_failed(ctx, "setsymlist", g_symlists[i].macros);
    }
  }

  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "negotiate");
  fprintf(line, ",\"offered_actions\":%lu,\"offered_steps\":%lu,\"steps\":%lu", actions, steps,
          *want_steps);
  log_end(line, &buffer, NULL);
  return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *address) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "connect");
  char text[sizeof(struct sockaddr_un)] = ""; /* fits an IPv6 address and a socket path */
  const char *family = "unknown";
  int port = -1;
  if (address != NULL && address->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)address;
    family = "inet";
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (address != NULL && address->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
    family = "inet6";
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  } else if (address != NULL && address->sa_family == AF_UNIX) {
    family = "unix";
    const struct sockaddr_un *un = (const struct sockaddr_un *)address;
    memcpy(text, un->sun_path, sizeof un->sun_path);
    text[sizeof text - 1] = '\0';
  }
  fputs(",\"hostname\":", line);
  json_cstring(line, hostname);
  fprintf(line, ",\"family\":\"%s\",\"address\":", family);
  json_cstring(line, text);
  fprintf(line, ",\"port\":%d", port);
  log_end(line, &buffer, ctx);
  if (find_action("reject-connect")) return SMFIS_REJECT;
  if (find_action("accept-connect")) return SMFIS_ACCEPT;
  return step_default();
}

static sfsistat on_helo(SMFICTX *ctx, char *helo) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "helo");
  fputs(",\"helo\":", line);
  json_cstring(line, helo);
  log_end(line, &buffer, ctx);
  return find_action("reject-helo") ? SMFIS_REJECT : step_default();
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "envfrom");
  json_argv(line, "args", argv);
  log_end(line, &buffer, ctx);
  return find_action("reject-mail") ? SMFIS_REJECT : step_default();
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "envrcpt");
  json_argv(line, "args", argv);
  log_end(line, &buffer, ctx);
  for (int i = 0; i < g_action_count; i++) {
    const struct Action *action = &g_actions[i];
    if (strcmp(action->name, "reject-rcpt") != 0) continue;
    if (action->arg == NULL || (argv[0] != NULL && same_address(action->arg, argv[0]))) {
      return SMFIS_REJECT;
    }
  }
  return step_default();
}

static sfsistat on_data(SMFICTX *ctx) {
  log_simple(ctx, "data");
  return find_action("tempfail-data") ? SMFIS_TEMPFAIL : step_default();
}

static sfsistat on_unknown(SMFICTX *ctx, const char *command) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "unknown");
  fputs(",\"command\":", line);
  json_cstring(line, command);
  log_end(line, &buffer, ctx);
  return step_default();
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value) {
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "header");
  fputs(",\"name\":", line);
  json_cstring(line, name);
  fputs(",\"value\":", line);
  json_cstring(line, value);
  log_end(line, &buffer, ctx);
  return step_default();
}

static sfsistat on_eoh(SMFICTX *ctx) {
  log_simple(ctx, "eoh");
  return step_default();
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t length) {
  (void)chunk;
  struct Session *session = session_of(ctx);
  session->body_total += length;
  session->body_chunks++;
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "body");
  fprintf(line, ",\"size\":%zu", length);
  log_end(line, &buffer, ctx);
  if (find_action("skip") && !session->skipped) {
    session->skipped = 1;
    return SMFIS_SKIP;
  }
  return step_default();
}

static void reset_message(struct Session *session) {
  session->body_total = 0;
  session->body_chunks = 0;
  session->skipped = 0;
}

static sfsistat on_eom(SMFICTX *ctx) {
  struct Session *session = session_of(ctx);
  char *buffer;
  size_t size;
  FILE *line = log_begin(&buffer, &size, ctx, "eom");
  fprintf(line, ",\"body_total\":%zu,\"body_chunks\":%d", session->body_total,
          session->body_chunks);
  log_end(line, &buffer, ctx);
  reset_message(session);
  int answer = SMFIS_CONTINUE;
  for (int i = 0; i < g_action_count; i++) {
    int result = run_eom_action(ctx, &g_actions[i]);
    if (result >= 0 && answer == SMFIS_CONTINUE) answer = result;
  }
  return answer;
}

static sfsistat on_abort(SMFICTX *ctx) {
  log_simple(ctx, "abort");
  if (session_of(ctx) != NULL) reset_message(session_of(ctx));
  return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx) {
  log_simple(ctx, "close");
  free(session_of(ctx));
  smfi_setpriv(ctx, NULL);
  return SMFIS_CONTINUE;
}

/* ---- main -------------------------------------------------------------------------------- */

static int g_stop_pipe[2];

static void request_stop(int signal_number) {
  (void)signal_number;
  char reason = 's';
  ssize_t written = write(g_stop_pipe[1], &reason, 1);
  (void)written;
}

static void *run_milter(void *unused) {
  (void)unused;
  char reason = smfi_main() == MI_SUCCESS ? 's' : 'f';
  ssize_t written = write(g_stop_pipe[1], &reason, 1);
  (void)written;
  return NULL;
}

static int stage_number(const char *name) {
  static const struct {
    const char *name;
    int stage;
  } kStages[] = {{"connect", SMFIM_CONNECT}, {"helo", SMFIM_HELO},    {"mail", SMFIM_ENVFROM},
                 {"envfrom", SMFIM_ENVFROM}, {"rcpt", SMFIM_ENVRCPT}, {"envrcpt", SMFIM_ENVRCPT},
                 {"data", SMFIM_DATA},       {"eoh", SMFIM_EOH},      {"eom", SMFIM_EOM}};
  for (size_t i = 0; i < sizeof kStages / sizeof kStages[0]; i++) {
    if (strcmp(kStages[i].name, name) == 0) return kStages[i].stage;
  }
  return -1;
}

static void usage(void) {
  fputs(
      "usage: test-milter --socket SPEC [--log FILE] [--action ACTION[:ARG]]...\n"
      "                   [--leading-space] [--no-reply-flags] [--symlist STAGE:MACROS]...\n"
      "                   [--exit-with-parent]\n"
      "(the actions are listed at the top of tests/milter/test_milter.c)\n",
      stderr);
  exit(2);
}

static const char *const kKnownActions[] = {
    "reject-connect", "reject-helo",   "reject-mail",   "reject-rcpt",  "tempfail-data",
    "reject-eom",     "reply-eom",     "multiline-eom", "discard-eom",  "quarantine",
    "add-header",     "insert-header", "change-header", "replace-body", "add-rcpt",
    "add-rcpt-par",   "del-rcpt",      "change-from",   "skip",         "accept-connect"};

static void add_action(const char *text) {
  if (g_action_count == kMaxActions) usage();
  char *copy = strdup(text);
  char *arg = NULL;
  char *name = split_first(copy, &arg);
  int known = 0;
  for (size_t i = 0; i < sizeof kKnownActions / sizeof kKnownActions[0]; i++) {
    known |= strcmp(kKnownActions[i], name) == 0;
  }
  if (!known) {
    fprintf(stderr, "test-milter: unknown action '%s'\n", name);
    usage();
  }
  g_actions[g_action_count++] = (struct Action){name, arg};
}

int main(int argc, char **argv) {
  static const struct option kOptions[] = {
      {"socket", required_argument, NULL, 's'},     {"log", required_argument, NULL, 'l'},
      {"action", required_argument, NULL, 'a'},     {"leading-space", no_argument, NULL, 'L'},
      {"no-reply-flags", no_argument, NULL, 'N'},   {"symlist", required_argument, NULL, 'y'},
      {"exit-with-parent", no_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
  char *socket_spec = NULL;
  int exit_with_parent = 0;
  const char *log_path = NULL;
  int option;
  while ((option = getopt_long(argc, argv, "", kOptions, NULL)) != -1) {
    switch (option) {
      case 's':
        socket_spec = optarg;
        break;
      case 'l':
        log_path = optarg;
        break;
      case 'a':
        add_action(optarg);
        break;
      case 'L':
        g_leading_space = 1;
        break;
      case 'N':
        g_no_reply = 1;
        break;
      case 'P':
        exit_with_parent = 1;
        break;
      case 'y': {
        char *copy = strdup(optarg);
        char *macros = NULL;
        int stage = stage_number(split_first(copy, &macros));
        if (stage < 0 || macros == NULL || g_symlist_count == kMaxSymlists) usage();
        g_symlists[g_symlist_count++] = (struct Symlist){stage, macros};
        break;
      }
      default:
        usage();
    }
  }
  if (socket_spec == NULL || optind != argc) usage();
  pid_t parent = getppid();
  if (exit_with_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)) {
    return 1; /* the parent is already gone */
  }
  g_log = log_path ? fopen(log_path, "a") : stdout;
  if (g_log == NULL) {
    fprintf(stderr, "test-milter: %s: %s\n", log_path, strerror(errno));
    return 1;
  }

  struct smfiDesc description = {
      .xxfi_name = "test-milter",
      .xxfi_version = SMFI_VERSION,
      .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGHDRS |
                    SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST,
      .xxfi_connect = on_connect,
      .xxfi_helo = on_helo,
      .xxfi_envfrom = on_envfrom,
      .xxfi_envrcpt = on_envrcpt,
      .xxfi_header = on_header,
      .xxfi_eoh = on_eoh,
      .xxfi_body = on_body,
      .xxfi_eom = on_eom,
      .xxfi_abort = on_abort,
      .xxfi_close = on_close,
      .xxfi_unknown = on_unknown,
      .xxfi_data = on_data,
      .xxfi_negotiate = on_negotiate,
  };
  if (smfi_setconn(socket_spec) != MI_SUCCESS || smfi_register(description) != MI_SUCCESS) {
    fprintf(stderr, "test-milter: cannot use socket %s\n", socket_spec);
    return 1;
  }
  if (smfi_opensocket(1) != MI_SUCCESS) {
    fprintf(stderr, "test-milter: cannot listen on %s\n", socket_spec);
    return 1;
  }
  log_simple(NULL, "listening");

  /* libmilter's own SIGTERM handling ends smfi_main only at its next poll timeout (about 5 s).
   * So smfi_main runs in a thread of its own (libmilter blocks the signals there and in its
   * session threads), and this thread keeps SIGTERM and SIGINT unblocked: Linux gives a signal
   * sent to the process to its main thread when that thread accepts it. */
  if (pipe(g_stop_pipe) != 0) {
    perror("test-milter: pipe");
    return 1;
  }
  struct sigaction on_signal = {.sa_handler = request_stop};
  sigemptyset(&on_signal.sa_mask);
  sigaction(SIGTERM, &on_signal, NULL);
  sigaction(SIGINT, &on_signal, NULL);
  pthread_t milter_thread;
  if (pthread_create(&milter_thread, NULL, run_milter, NULL) != 0) {
    fputs("test-milter: cannot start the milter thread\n", stderr);
    return 1;
  }
  char reason = 0;
  while (read(g_stop_pipe[0], &reason, 1) < 0 && errno == EINTR) {
  }
  pthread_mutex_lock(&g_log_lock); /* no line is cut in half */
  fflush(g_log);
  /* Sessions still running are not waited for: a test that stops us wants us gone. */
  _exit(reason == 'f' ? 1 : 0);
}
