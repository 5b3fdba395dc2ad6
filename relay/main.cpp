// postern-relay: the SMTP client that sends mail to a smart host (relayhost) or to each
// recipient domain's MX. Started by master with the private/relay socket on fd 3; serves qmgr's
// requests until SIGTERM or the master is gone. Reads top to bottom: config, what needs root
// (the CA file), privilege drop, SASL start-up, event loop. Trusts master (argv, descriptors)
// and main.cf; every request is checked (see relay_server.hpp), every server is hostile.
#include <event2/event.h>

#include <memory>

#include "lib/net/daemon.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/net/mx_resolver.hpp"
#include "lib/net/tls_client.hpp"
#include "relay/relay_server.hpp"
#include "relay/relay_settings.hpp"
#include "relay/sasl_client.hpp"

namespace {

constexpr int kStopGraceSeconds = 5;

}  // namespace

int main(int argc, char** argv) {
  using namespace postern;
  using namespace postern::relay;
  DaemonContext ctx = daemon_init(argc, argv, "relay");
  if (!ctx.listen_fd) log::fatal("no listening socket on fd {}", kListenFd);

  Result<RelaySettings> settings = relay_settings_from_config(ctx.config);
  if (!settings) log::fatal("relay settings: {}", settings.error().describe());

  std::unique_ptr<TlsClientContext> tls;
  if (settings->tls_level != TlsLevel::kNone || settings->tls_wrappermode) {
    Result<TlsClientContext> context = TlsClientContext::create(settings->tls_ca_file);
    if (!context) log::fatal("TLS client: {}", context.error().describe());
    tls = std::make_unique<TlsClientContext>(std::move(context).value());
  }

  drop_privileges(ctx.config);

  if (Status sasl = sasl_client_startup(); !sasl) {
    // Without SASL only AUTH is impossible; a destination that needs it is deferred then.
    log::warning("{}", sasl.error().describe());
  }

  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  MxResolverOptions resolver_options;
  resolver_options.resolver_address = settings->resolver_address;
  resolver_options.want_ipv6 = settings->want_ipv6;
  Result<std::unique_ptr<MxResolver>> resolver =
      MxResolver::create(base.get(), std::move(resolver_options));
  if (!resolver) log::fatal("DNS resolver: {}", resolver.error().describe());

  {
    RelayServer server(base.get(), std::move(ctx.listen_fd), std::move(settings).value(),
                       std::move(tls), std::move(resolver).value());
    DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(), [&] {
      server.stop([&] { event_base_loopexit(base.get(), nullptr); });
      timeval grace{kStopGraceSeconds, 0};  // a delivery in progress does not hold us long
      event_base_loopexit(base.get(), &grace);
    });
    event_base_dispatch(base.get());
  }
  return 0;
}
