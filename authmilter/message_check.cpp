// SPF, DKIM and DMARC for a stranger's message (see message_check.hpp).
#include "authmilter/message_check.hpp"

#include <ctime>
#include <random>

#include "authmilter/author_domain.hpp"
#include "lib/arc/arc_verifier.hpp"
#include "lib/authres/authres_writer.hpp"
#include "lib/dkim/dkim_verifier.hpp"
#include "lib/dmarc/dmarc_evaluator.hpp"
#include "lib/spf/spf_evaluator.hpp"
#include "lib/spf/spf_resinfo.hpp"

namespace postern::authmilter {
namespace {

DmarcAuthResult dmarc_input(spf::SpfResultCode code) {
  switch (code) {
    case spf::SpfResultCode::kPass:
      return DmarcAuthResult::kPass;
    case spf::SpfResultCode::kFail:
      return DmarcAuthResult::kFail;
    case spf::SpfResultCode::kSoftFail:
      return DmarcAuthResult::kSoftFail;
    case spf::SpfResultCode::kNeutral:
      return DmarcAuthResult::kNeutral;
    case spf::SpfResultCode::kTempError:
      return DmarcAuthResult::kTempError;
    case spf::SpfResultCode::kPermError:
      return DmarcAuthResult::kPermError;
    case spf::SpfResultCode::kNone:
      break;
  }
  return DmarcAuthResult::kNone;
}

DmarcAuthResult dmarc_input(DkimStatus status) {
  switch (status) {
    case DkimStatus::kPass:
      return DmarcAuthResult::kPass;
    case DkimStatus::kFail:
      return DmarcAuthResult::kFail;
    case DkimStatus::kNeutral:
      return DmarcAuthResult::kNeutral;
    case DkimStatus::kPolicy:
      return DmarcAuthResult::kPolicy;
    case DkimStatus::kTemperror:
      return DmarcAuthResult::kTempError;
    case DkimStatus::kPermerror:
      return DmarcAuthResult::kPermError;
    case DkimStatus::kNone:
      break;
  }
  return DmarcAuthResult::kNone;
}

int random_percent() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(generator);
}

class DefaultMessageCheck final : public MessageCheck {
 public:
  DefaultMessageCheck(const AuthServices& services, MessageFacts facts,
                      const std::vector<HeaderField>& headers)
      : services_(services),
        facts_(std::move(facts)),
        from_domain_(author_domain(headers, from_problem_)),
        verifier_(headers, verify_options(*services.settings)),
        arc_verifier_(headers, arc_options(*services.settings)) {}

  void body(std::string_view chunk) override {
    verifier_.add_body(chunk);
    arc_verifier_.add_body(chunk);
  }

  CheckOutcome finish(DnsLookup& dns) override {
    const AuthmilterSettings& settings = *services_.settings;
    spf::SpfRequest spf_request;
    spf_request.client_address = facts_.client_address;
    spf_request.mail_from = facts_.sender;
    spf_request.helo = facts_.helo_name;
    spf_request.receiving_host = settings.hostname;
    spf_request.now_seconds = static_cast<int64_t>(std::time(nullptr));
    spf::SpfResult spf_result = spf::check_spf(dns, spf_request);
    std::vector<DkimResult> dkim_results = verifier_.finish(dns);

    AuthResultsBuilder builder(settings.authserv_id);
    builder.add(spf::spf_resinfo(spf_result, spf_request));
    std::string dkim_summary;
    for (const DkimResult& result : dkim_results) {
      builder.add(result.resinfo());
      dkim_summary +=
          (dkim_summary.empty() ? "" : ",") + std::string(dkim_status_name(result.status));
    }

    ArcResult arc = arc_verifier_.finish(dns);
    builder.add(arc.resinfo(facts_.client_address));

    CheckOutcome outcome;
    std::string dmarc_summary;
    if (from_domain_.empty()) {
      AuthResultsInfo info;
      info.method = "dmarc";
      info.result = "permerror";
      info.reason = from_problem_;
      outcome.from_unusable = true;
      outcome.from_problem = from_problem_;
      builder.add(info);
      dmarc_summary = "permerror";
    } else {
      DmarcRequest request;
      request.from_domain = from_domain_;
      request.spf = DmarcSpfInput{dmarc_input(spf_result.code), spf_result.domain};
      for (const DkimResult& result : dkim_results) {
        request.dkim.push_back(DmarcDkimInput{dmarc_input(result.status), result.domain});
      }
      request.random_percent = random_percent();
      DmarcResult dmarc = evaluate_dmarc(dns, request);
      builder.add(dmarc_resinfo(dmarc));
      dmarc_summary = std::string(dmarc_outcome_name(dmarc.outcome));
      outcome.dmarc_reject =
          dmarc.outcome == DmarcOutcome::kFail && dmarc.disposition == DmarcPolicy::kReject;
      outcome.dmarc_domain = from_domain_;
    }
    outcome.authentication_results = builder.value();
    outcome.summary = "spf=" + std::string(spf::spf_result_name(spf_result.code)) +
                      " dkim=" + dkim_summary +
                      " arc=" + std::string(arc_chain_status_name(arc.status)) +
                      " dmarc=" + dmarc_summary + " client=" + facts_.client_address +
                      (from_domain_.empty() ? std::string() : " from_domain=" + from_domain_);
    return outcome;
  }

 private:
  static DkimVerifyOptions verify_options(const AuthmilterSettings& settings) {
    DkimVerifyOptions options;
    options.now = static_cast<int64_t>(std::time(nullptr));
    options.min_rsa_bits = settings.min_key_bits;
    return options;
  }

  static ArcVerifyOptions arc_options(const AuthmilterSettings& settings) {
    ArcVerifyOptions options;
    options.min_rsa_bits = settings.min_key_bits;
    return options;
  }

  const AuthServices& services_;
  MessageFacts facts_;
  std::string from_problem_;
  std::string from_domain_;
  DkimVerifier verifier_;
  ArcVerifier arc_verifier_;
};

}  // namespace

std::unique_ptr<MessageCheck> MessageCheck::start(const AuthServices& services, MessageFacts facts,
                                                  const std::vector<HeaderField>& headers) {
  return std::make_unique<DefaultMessageCheck>(services, std::move(facts), headers);
}

}  // namespace postern::authmilter
