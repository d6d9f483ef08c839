#include "gateway/api.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <variant>
#include <vector>

#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "mapping/identifier.h"
#include "proto/api.pb.h"
#include "proto/keys.pb.h"
#include "specs/json.h"
#include "specs/timestamps.h"

namespace cg::gateway {
namespace {

using server::HttpRequest;
using server::HttpResponse;
using server::Role;

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kProtobufType = "application/x-protobuf";

// How a message travels: protobuf's JSON mapping, or binary protobuf.
enum class Wire { kJson, kProtobuf };

std::string_view MediaType(std::string_view header) {
  header = header.substr(0, header.find(';'));
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  return header;
}

bool IsProtobufType(std::string_view media) {
  return media == "application/x-protobuf" || media == "application/protobuf" ||
         media == "application/vnd.google.protobuf";
}

std::vector<std::string_view> Segments(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  std::vector<std::string_view> out;
  while (!target.empty()) {
    if (target.front() == '/') {
      target.remove_prefix(1);
      continue;
    }
    const size_t end = std::min(target.find('/'), target.size());
    out.push_back(target.substr(0, end));
    target.remove_prefix(end);
  }
  return out;
}

// Appends each line with one write(2) to a file opened O_APPEND: the line is in the
// file (the kernel's page cache) before the response that it records is sent.
class FileAuditLog : public AuditLog {
 public:
  FileAuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileAuditLog() override { ::close(fd_); }
  void Record(const std::string& json_line) override {
    std::string_view line = json_line;
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    iovec parts[2] = {{const_cast<char*>(line.data()), line.size()}, {const_cast<char*>("\n"), 1}};
    size_t left = line.size() + 1;
    int part = 0;
    while (left > 0) {
      const ssize_t n = ::writev(fd_, parts + part, 2 - part);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!failing_.exchange(true)) {
          spdlog::error("cannot write the audit log {}: {}", path_,
                        n < 0 ? std::strerror(errno) : "nothing written");
        }
        return;
      }
      left -= static_cast<size_t>(n);
      for (auto done = static_cast<size_t>(n); done > 0 && part < 2;) {
        const size_t step = std::min(done, parts[part].iov_len);
        parts[part].iov_base = static_cast<char*>(parts[part].iov_base) + step;
        parts[part].iov_len -= step;
        done -= step;
        if (parts[part].iov_len == 0) ++part;
      }
    }
    failing_.store(false, std::memory_order_relaxed);
  }

 private:
  const int fd_;
  const std::string path_;
  std::atomic<bool> failing_{false};  // said once until a write succeeds again
};

}  // namespace

// One request on its way through: what it asked, what the audit line will say.
struct ApiCall {
  const HttpRequest& request;
  std::vector<std::string_view> path;
  Wire reply_wire = Wire::kJson;
  cg::v1::AuditRecord audit;
  // Set when the server takes the answer later (Api::HandleAsync): a route that
  // waits for another thread may then hand the call on and answer through it.
  std::optional<server::Responder> respond;
};

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return UnavailableError("cannot open the audit log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new FileAuditLog(fd, path));
}

std::string AuditLine(const cg::v1::AuditRecord& r) {
  std::string line;
  line.reserve(384);
  char separator = '{';
  auto key = [&](std::string_view name) {
    line += separator;
    separator = ',';
    line += '"';
    line += name;
    line += "\":";
  };
  auto text = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    key(name);
    AppendJsonString(line, value);
  };
  if (r.has_time()) {
    key("time");
    AppendJsonString(line, FormatRfc3339(r.time()));
  }
  text("request_id", r.request_id());
  text("client", r.client());
  text("client_fingerprint", r.client_fingerprint());
  text("role", r.role());
  text("action", r.action());
  text("subject", r.subject());
  text("attestation_id", r.attestation_id());
  if (r.http_status() != 0) {
    key("http_status");
    line += std::to_string(r.http_status());
  }
  text("result", r.result());
  if (separator == '{') line += '{';
  line += "}\n";
  return line;
}

Api::Api(NodeService& service, AuditLog& audit, server::MetricsRegistry& metrics, ApiPeers peers)
    : service_(service), audit_(audit), peers_(peers) {
  issued_ = &metrics.AddCounter("cg_attestations_issued_total", "Attestations issued")
                 .value()
                 ->WithLabels({});
  verification_failures_ =
      metrics
          .AddCounter("cg_verification_failures_total",
                      "Verifications that found an envelope not valid, by failure code", {"code"})
          .value();
  rejected_ = metrics
                  .AddCounter("cg_rejected_inputs_total",
                              "API requests refused for their input, by error code", {"code"})
                  .value();
  cross_border_failures_ =
      metrics
          .AddCounter("cg_cross_border_failures_total",
                      "Cross-border requests that got no recognition, by error code "
                      "(PEER_UNAVAILABLE, BAD_PEER, the home node's refusals, ...)",
                      {"code"})
          .value();
}

std::string Api::RouteOf(std::string_view method, std::string_view target) {
  const auto p = Segments(target);
  if (p.size() < 2 || p[0] != "v1") return "other";
  (void)method;
  if (p[1] == "entities" && p.size() == 4) {
    if (p[3] == "evaluation") return "/v1/entities/{id}/evaluation";
    if (p[3] == "statement") return "/v1/entities/{id}/statement";
    if (p[3] == "attestations") return "/v1/entities/{id}/attestations";
  }
  if (p[1] == "attestations") {
    if (p.size() == 2) return "/v1/attestations";
    if (p.size() == 3) return "/v1/attestations/{id}";
    if (p.size() == 4 && (p[3] == "revoke" || p[3] == "supersede")) {
      return "/v1/attestations/{id}/" + std::string(p[3]);
    }
  }
  if (p[1] == "consents") {
    if (p.size() == 2) return "/v1/consents";
    if (p.size() == 3) return "/v1/consents/{id}";
    if (p.size() == 4 && p[3] == "withdraw") return "/v1/consents/{id}/withdraw";
  }
  if (p.size() == 3 && p[1] == "cross-border" && p[2] == "attestations") {
    return "/v1/cross-border/attestations";
  }
  if (p.size() == 3 && p[1] == "peers" && p[2] == "sync") return "/v1/peers/sync";
  if (p.size() == 3 && p[1] == "keys" && p[2] == "signed") return "/v1/keys/signed";
  if (p.size() == 2 && p[1] == "entity-statements") return "/v1/entity-statements";
  if (p.size() == 2 &&
      (p[1] == "verify" || p[1] == "recognitions" || p[1] == "status-list" || p[1] == "keys")) {
    return "/v1/" + std::string(p[1]);
  }
  return "other";
}

server::Answering Api::AnsweringOf(std::string_view method, std::string_view route) {
  if (method == "GET" && (route == "/v1/entities/{id}/evaluation" || route == "/v1/keys")) {
    return server::Answering::kInline;
  }
  if (method == "POST" && route == "/v1/attestations") return server::Answering::kAsync;
  return server::Answering::kHandlerThread;
}

ApiCall Api::Begin(const HttpRequest& request) {
  ApiCall call{request, Segments(request.target), Wire::kJson, {}, std::nullopt};
  call.audit.set_request_id(request.request_id);
  call.audit.set_client(request.client.common_name);
  call.audit.set_client_fingerprint(request.client.fingerprint);
  if (request.client.role) call.audit.set_role(std::string(server::RoleName(*request.client.role)));
  if (const std::string* accept = request.FindHeader("accept")) {
    // "application/x-protobuf" anywhere in Accept asks for binary.
    for (std::string_view rest = *accept; !rest.empty();) {
      const size_t comma = std::min(rest.find(','), rest.size());
      if (IsProtobufType(MediaType(rest.substr(0, comma)))) call.reply_wire = Wire::kProtobuf;
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  }
  return call;
}

void Api::Audit(ApiCall& call, int http_status) {
  call.audit.set_http_status(http_status);
  if (call.audit.result().empty()) call.audit.set_result(http_status < 400 ? "ok" : "error");
  *call.audit.mutable_time() = ToProtoTimestamp(Clock::now());
  audit_.Record(AuditLine(call.audit));
}

HttpResponse Api::Finish(ApiCall& call, HttpResponse response) {
  Audit(call, response.status);
  return response;
}

HttpResponse Api::Handle(const HttpRequest& request) {
  ApiCall call = Begin(request);
  std::optional<HttpResponse> response = Dispatch(call);  // always, without a responder
  return Finish(call, *std::move(response));
}

void Api::HandleAsync(const HttpRequest& request, server::Responder respond) {
  ApiCall call = Begin(request);
  call.respond = respond;
  std::optional<HttpResponse> response = Dispatch(call);
  if (!response) return;  // handed on: it answers through `respond`
  respond([answer = Finish(call, *std::move(response))]() mutable { return std::move(answer); });
}

namespace {

HttpResponse Reply(const ApiCall& call, const google::protobuf::Message& m, int status = 200) {
  HttpResponse r;
  r.status = status;
  if (call.reply_wire == Wire::kProtobuf) {
    r.content_type = std::string(kProtobufType);
    r.body = m.SerializeAsString();
  } else {
    r.content_type = std::string(kJsonType);
    r.body = MessageToJson(m);
  }
  return r;
}

// The answer to a stored issuance: 201 with where to fetch it.
HttpResponse IssuedReply(const ApiCall& call, const cg::v1::IssueResponse& issued) {
  HttpResponse r = Reply(call, issued, 201);
  r.headers.emplace_back("location", "/v1/attestations/" + issued.attestation_id());
  return r;
}

HttpResponse Error(ApiCall& call, int status, std::string_view code, std::string_view message) {
  call.audit.set_result(std::string(code));
  HttpResponse r;
  r.status = status;
  r.content_type = std::string(kJsonType);
  r.body = server::ErrorBody(code, message, call.request.request_id);
  if (status == 503) r.headers.emplace_back("retry-after", "1");
  return r;
}

// The HTTP answer to a service error. Internal failures say only that, with the
// request id to quote; the detail goes to the operational log.
HttpResponse FromStatus(ApiCall& call, const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return Error(call, 400, "INVALID_ARGUMENT", status.message());
    case StatusCode::kNotFound:
      return Error(call, 404, "NOT_FOUND", status.message());
    case StatusCode::kPermissionDenied:
      return Error(call, 403, "FORBIDDEN", status.message());
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
      return Error(call, 409, "CONFLICT", status.message());
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
      spdlog::warn("request {}: {}", call.request.request_id, status.ToString());
      return Error(call, 503, "UNAVAILABLE", "the node cannot answer now; retry shortly");
    default:
      spdlog::error("request {}: {}", call.request.request_id, status.ToString());
      return Error(call, 500, "INTERNAL", "internal error");
  }
}

// Reads the request body into `message` as its Content-Type says. An absent
// Content-Type means JSON.
std::optional<HttpResponse> ReadBody(ApiCall& call, google::protobuf::Message& message) {
  const std::string* type = call.request.FindHeader("content-type");
  const std::string_view media = type ? MediaType(*type) : kJsonType;
  if (IsProtobufType(media)) {
    if (!message.ParseFromString(call.request.body)) {
      return Error(call, 400, "INVALID_PROTOBUF",
                   "the body is not a binary " + message.GetTypeName());
    }
    return std::nullopt;
  }
  if (media != kJsonType) {
    return Error(call, 415, "UNSUPPORTED_MEDIA_TYPE",
                 "send application/json or application/x-protobuf");
  }
  if (Status parsed = JsonToMessage(call.request.body, &message); !parsed.ok()) {
    return Error(call, 400, "INVALID_JSON",
                 "the body is not a " + message.GetTypeName() + ": " + parsed.message());
  }
  return std::nullopt;
}

// The audit log names subjects, which are entities; anything else a caller sent
// (a person's id, garbage) is not written, only that it was not an entity id.
void AuditSubject(ApiCall& call, std::string_view subject_id) {
  auto id = mapping::ParseEntityId(subject_id);
  call.audit.set_subject(id.ok() && !id->is_person() ? std::string(subject_id)
                                                     : std::string("(not an entity id)"));
}

// Attestation ids are 32 lower-case hex characters; anything else is not written.
void AuditAttestationId(ApiCall& call, std::string_view id) {
  const bool hex = id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  call.audit.set_attestation_id(hex ? std::string(id) : std::string("(malformed)"));
}

bool MayAsk(const server::ClientIdentity& client, std::string_view subject) {
  if (client.role != Role::kFirm) return true;
  return std::find(client.subjects.begin(), client.subjects.end(), subject) !=
         client.subjects.end();
}

HttpResponse NotYours(ApiCall& call) {
  return Error(call, 403, "FORBIDDEN",
               "a firm may ask only about the subjects its certificate names");
}

}  // namespace

std::optional<HttpResponse> Api::Dispatch(ApiCall& call) {
  const HttpRequest& req = call.request;
  const auto& p = call.path;
  const std::string& method = req.method;
  const Role role = req.client.role.value_or(Role::kFirm);
  auto wrong_method = [&](std::string_view allowed) {
    HttpResponse r = Error(call, 405, "METHOD_NOT_ALLOWED",
                           "use " + std::string(allowed) + " on " + RouteOf(method, req.target));
    r.headers.emplace_back("allow", std::string(allowed));
    return r;
  };
  auto rejected = [&](HttpResponse r) {
    rejected_->WithLabels({call.audit.result()}).Increment();
    return r;
  };

  if (p.size() < 2 || p[0] != "v1") {
    return Error(call, 404, "NOT_FOUND", "no such resource; the API is under /v1/");
  }

  // /v1/entities/{id}/evaluation, /v1/entities/{id}/attestations
  if (p[1] == "entities" && p.size() == 4 && (p[3] == "evaluation" || p[3] == "attestations")) {
    if (method != "GET") return wrong_method("GET");
    const std::string subject(p[2]);
    AuditSubject(call, subject);
    call.audit.set_action(p[3] == "evaluation" ? "lookup" : "list");
    if (!MayAsk(req.client, subject)) return NotYours(call);
    if (role == Role::kPeer && service_.consent_required_for_peers()) {
      return Error(call, 403, "CONSENT_REQUIRED",
                   "the other side gets this node's evaluations only as attestations under "
                   "the firm's consent (POST /v1/attestations with consent_ref)");
    }
    if (p[3] == "evaluation") {
      // JSON as rendered before, while the evaluations' generation is the same.
      std::optional<uint64_t> generation;
      if (call.reply_wire == Wire::kJson) {
        generation = evaluations_generation_.Get([&] { return service_.EvaluationsGeneration(); });
        if (generation) {
          if (std::optional<std::string> body = rendered_evaluations_.Find(subject, *generation)) {
            HttpResponse r;
            r.content_type = std::string(kJsonType);
            r.body = *std::move(body);
            return r;
          }
        }
      }
      auto stored = service_.CurrentEvaluationBytes(subject);
      if (!stored.ok()) return FromStatus(call, stored.status());
      cg::v1::EvaluationResponse response;
      if (!response.mutable_evaluation()->ParseFromString(*stored)) {
        return FromStatus(call,
                          DataLossError("the stored evaluation of " + subject + " cannot be read"));
      }
      HttpResponse r = Reply(call, response);
      // Read after the generation, the evaluation is of that generation or a later
      // one: kept under the earlier number it is only dropped the sooner.
      if (generation) rendered_evaluations_.Put(subject, *generation, r.body);
      return r;
    }
    auto list = service_.ListAttestations(subject);
    if (!list.ok()) return FromStatus(call, list.status());
    cg::v1::AttestationList response;
    for (const auto& a : *list) *response.add_attestations() = ToRecord(a);
    return Reply(call, response);
  }

  if (p[1] == "attestations" && p.size() == 2) {
    if (method != "POST") return wrong_method("POST");
    call.audit.set_action("issue");
    cg::v1::IssueRequest issue;
    if (auto bad = ReadBody(call, issue)) return rejected(*bad);
    AuditSubject(call, issue.subject_id());
    if (!MayAsk(req.client, issue.subject_id())) return NotYours(call);
    if (role == Role::kPeer && peers_.replay != nullptr) {
      const std::string& peer =
          req.client.peer_node_id.empty() ? req.client.fingerprint : req.client.peer_node_id;
      const Status fresh =
          peers_.replay->Check(peer, issue.nonce(),
                               issue.has_requested_at() ? FromProtoTimestamp(issue.requested_at())
                                                        : Clock::time_point{});
      if (fresh.code() == StatusCode::kAlreadyExists) {
        return rejected(Error(call, 409, "REPLAYED_REQUEST", fresh.message()));
      }
      if (fresh.code() == StatusCode::kOutOfRange) {
        return rejected(Error(call, 400, "REQUEST_OUTSIDE_WINDOW", fresh.message()));
      }
      if (fresh.code() == StatusCode::kInvalidArgument) {
        return rejected(Error(call, 400, "INVALID_ARGUMENT", fresh.message()));
      }
      if (!fresh.ok()) return FromStatus(call, fresh);
    }
    const Requester requester = role == Role::kPeer ? Requester::kPeer : Requester::kClient;
    if (!call.respond) return Issued(call, service_.Issue(issue, requester));
    // Answered once the group commit has stored it, without holding this thread.
    auto later = std::make_shared<ApiCall>(std::move(call));
    service_.IssueAsync(issue, requester, [this, later](StatusOr<cg::v1::IssueResponse> issued) {
      // Counted and audited here, on the commit's thread: so even when the server
      // stops before the answer is sent (and its maker never runs). Only the
      // rendering waits for the network thread.
      const Status refused = issued.status();
      if (!refused.ok()) {
        HttpResponse r = Finish(*later, Refused(*later, refused));
        return (*later->respond)([r = std::move(r)]() mutable { return std::move(r); });
      }
      Count(*later, *issued);
      Audit(*later, 201);
      (*later->respond)(
          [later, issued = *std::move(issued)] { return IssuedReply(*later, issued); });
    });
    return std::nullopt;
  }

  if (p[1] == "attestations" && (p.size() == 3 || p.size() == 4)) {
    const std::string id(p[2]);
    AuditAttestationId(call, id);
    if (p.size() == 3) {
      if (method != "GET") return wrong_method("GET");
      call.audit.set_action("fetch");
      auto stored = service_.GetAttestation(id);
      if (!stored.ok()) return FromStatus(call, stored.status());
      AuditSubject(call, stored->subject_id);
      if (!MayAsk(req.client, stored->subject_id)) return NotYours(call);
      cg::v1::Envelope envelope;
      if (!envelope.ParseFromString(stored->envelope)) {
        return FromStatus(call, DataLossError("stored envelope of " + id + " is unreadable"));
      }
      return Reply(call, envelope);
    }
    if (p[3] == "revoke" || p[3] == "supersede") {
      if (method != "POST") return wrong_method("POST");
      call.audit.set_action(std::string(p[3]));
      if (role != Role::kOperator) {
        return Error(call, 403, "FORBIDDEN", "only an operator may " + std::string(p[3]));
      }
      cg::v1::StatusChangeRequest change;
      if (auto bad = ReadBody(call, change)) return rejected(*bad);
      const Status changed = p[3] == "revoke" ? service_.Revoke(id, change.reason())
                                              : service_.Supersede(id, change.reason());
      if (!changed.ok()) return FromStatus(call, changed);
      auto stored = service_.GetAttestation(id);
      if (!stored.ok()) return FromStatus(call, stored.status());
      AuditSubject(call, stored->subject_id);
      return Reply(call, ToRecord(*stored));
    }
  }

  if (p[1] == "consents" && p.size() <= 4) {
    const bool may_consent = role == Role::kFirm || role == Role::kOperator;
    if (p.size() == 2) {
      if (method != "POST") return wrong_method("POST");
      call.audit.set_action("consent");
      if (!may_consent) {
        return Error(call, 403, "FORBIDDEN", "only the firm itself or an operator records consent");
      }
      cg::v1::ConsentRequest consent;
      if (auto bad = ReadBody(call, consent)) return rejected(*bad);
      AuditSubject(call, consent.subject_id());
      if (!MayAsk(req.client, consent.subject_id())) return NotYours(call);
      auto recorded = service_.RecordConsent(consent, req.client.common_name);
      if (!recorded.ok()) {
        HttpResponse r = FromStatus(call, recorded.status());
        return r.status == 400 ? rejected(r) : r;
      }
      HttpResponse r = Reply(call, *recorded, 201);
      r.headers.emplace_back("location", "/v1/consents/" + recorded->consent_id());
      return r;
    }
    const std::string id(p[2]);
    const bool withdraw = p.size() == 4 && p[3] == "withdraw";
    if (p.size() == 4 && !withdraw) return Error(call, 404, "NOT_FOUND", "no such resource");
    if (method != (withdraw ? "POST" : "GET")) return wrong_method(withdraw ? "POST" : "GET");
    call.audit.set_action(withdraw ? "withdraw-consent" : "read-consent");
    if (!may_consent && !(role == Role::kPeer && !withdraw)) {
      return Error(call, 403, "FORBIDDEN", "only the firm itself or an operator may do this");
    }
    auto consent = service_.GetConsent(id);
    if (!consent.ok()) return FromStatus(call, consent.status());
    AuditSubject(call, consent->subject_id());
    if (!MayAsk(req.client, consent->subject_id())) return NotYours(call);
    if (withdraw) {
      consent = service_.WithdrawConsent(id);
      if (!consent.ok()) return FromStatus(call, consent.status());
    }
    return Reply(call, *consent);
  }

  if (p.size() == 2 && p[1] == "recognitions") {
    if (method != "POST") return wrong_method("POST");
    call.audit.set_action("recognize");
    cg::v1::RecognizeRequest recognize;
    if (auto bad = ReadBody(call, recognize)) return rejected(*bad);
    // The subject as the (not yet verified) attestation names it: enough to refuse a
    // firm early; Recognize verifies everything.
    if (auto peeked = crypto::PeekAttestation(recognize.attestation()); peeked.ok()) {
      AuditSubject(call, peeked->evaluation().subject().id());
      if (!MayAsk(req.client, peeked->evaluation().subject().id())) return NotYours(call);
    } else if (role == Role::kFirm) {
      return NotYours(call);
    }
    // Answered as an issuance: a recognition is one (IssueResponse).
    return Issued(call, service_.Recognize(recognize));
  }

  // Entity statements for the other side's penetration: peers (and operators).
  const bool statement_route = (p.size() == 2 && p[1] == "entity-statements") ||
                               (p.size() == 4 && p[1] == "entities" && p[3] == "statement");
  if (statement_route) {
    const bool batch = p.size() == 2;
    if (method != (batch ? "POST" : "GET")) return wrong_method(batch ? "POST" : "GET");
    call.audit.set_action("statement");
    if (role != Role::kPeer && role != Role::kOperator) {
      return Error(call, 403, "FORBIDDEN", "entity statements are for peer nodes");
    }
    if (!batch) {
      const std::string subject(p[2]);
      AuditSubject(call, subject);
      auto statement = service_.SignEntityStatement(subject);
      if (!statement.ok()) return FromStatus(call, statement.status());
      return Reply(call, *statement);
    }
    cg::v1::EntityStatementRequest ask;
    if (auto bad = ReadBody(call, ask)) return rejected(*bad);
    if (ask.subject_ids_size() > static_cast<int>(kMaxStatementsPerRequest)) {
      return rejected(Error(
          call, 400, "INVALID_ARGUMENT",
          "subject_ids: at most " + std::to_string(kMaxStatementsPerRequest) + " per request"));
    }
    for (const std::string& subject : ask.subject_ids()) {
      if (auto id = mapping::ParseEntityId(subject); !id.ok() || id->is_person()) {
        return rejected(Error(call, 400, "INVALID_ARGUMENT",
                              "subject_ids: not an entity id: " + subject.substr(0, 64)));
      }
    }
    cg::v1::EntityStatementResponse answer;
    for (const std::string& subject : ask.subject_ids()) {
      auto statement = service_.SignEntityStatement(subject);
      if (statement.ok()) {
        *answer.add_statements() = std::move(*statement);
      } else if (statement.status().code() == StatusCode::kNotFound) {
        answer.add_not_found(subject);
      } else if (statement.status().code() == StatusCode::kInvalidArgument) {
        // This entity's evaluation cannot be stated; the others still can.
        spdlog::warn("request {}: no statement of {}: {}", req.request_id, subject,
                     statement.status().message());
        answer.add_refused(subject);
      } else {
        return FromStatus(call, statement.status());
      }
    }
    return Reply(call, answer);
  }

  if (p.size() == 3 && p[1] == "keys" && p[2] == "signed") {
    if (method != "GET") return wrong_method("GET");
    call.audit.set_action("keys-signed");
    return Reply(call, service_.RolloverChain());
  }

  if (p.size() == 3 && p[1] == "cross-border" && p[2] == "attestations") {
    if (method != "POST") return wrong_method("POST");
    call.audit.set_action("cross-border");
    if (role == Role::kPeer) {
      return Error(call, 403, "FORBIDDEN", "a peer asks the home node, not through this one");
    }
    cg::v1::CrossBorderRequest ask;
    if (auto bad = ReadBody(call, ask)) return rejected(*bad);
    AuditSubject(call, ask.subject_id());
    if (!MayAsk(req.client, ask.subject_id())) return NotYours(call);
    if (peers_.cross_border == nullptr) {
      return Error(call, 409, "NO_PEER", "this node has no peers to ask");
    }
    CrossBorderResult result =
        peers_.cross_border->Request(ask, req.client.common_name, req.request_id);
    if (auto* failed = std::get_if<CrossBorderError>(&result)) {
      cross_border_failures_->WithLabels({failed->code}).Increment();
      HttpResponse r = Error(call, failed->http_status, failed->code, failed->message);
      return r.status == 400 ? rejected(r) : r;
    }
    auto& answer = std::get<cg::v1::CrossBorderResponse>(result);
    issued_->Increment();
    call.audit.set_attestation_id(answer.recognition_id());
    HttpResponse r = Reply(call, answer, 201);
    r.headers.emplace_back("location", "/v1/attestations/" + answer.recognition_id());
    return r;
  }

  if (p.size() == 3 && p[1] == "peers" && p[2] == "sync") {
    if (method != "POST") return wrong_method("POST");
    call.audit.set_action("peer-sync");
    if (role != Role::kOperator) {
      return Error(call, 403, "FORBIDDEN", "only an operator may ask for a sync");
    }
    if (peers_.cross_border == nullptr) {
      return Error(call, 409, "NO_PEER", "this node has no peers to sync with");
    }
    return Reply(call, peers_.cross_border->Sync(req.request_id));
  }

  if (p.size() == 2 && p[1] == "verify") {
    if (method != "POST") return wrong_method("POST");
    call.audit.set_action("verify");
    cg::v1::VerifyRequest verify;
    if (auto bad = ReadBody(call, verify)) return rejected(*bad);
    auto report = service_.Verify(verify);
    if (!report.ok()) {
      HttpResponse r = FromStatus(call, report.status());
      return r.status == 400 ? rejected(r) : r;
    }
    if (report->has_attestation()) {
      AuditSubject(call, report->attestation().evaluation().subject().id());
      AuditAttestationId(call, report->attestation().attestation_id());
    }
    if (!report->valid()) {
      verification_failures_->WithLabels({report->code()}).Increment();
      call.audit.set_result("not valid: " + report->code());
    }
    return Reply(call, *report);
  }

  if (p.size() == 2 && p[1] == "status-list") {
    if (method != "GET") return wrong_method("GET");
    call.audit.set_action("status-list");
    auto list = service_.StatusList();
    if (!list.ok()) return FromStatus(call, list.status());
    return Reply(call, *list);
  }

  if (p.size() == 2 && p[1] == "keys") {
    if (method != "GET") return wrong_method("GET");
    call.audit.set_action("keys");
    // A trust file, as `credit-gateway key export` writes: save it and pass it to
    // `credit-gateway verify --trust`.
    cg::v1::TrustList keys;
    *keys.add_issuers() = service_.PublicKeys();
    return Reply(call, keys);
  }

  return Error(call, 404, "NOT_FOUND", "no such resource");
}

HttpResponse Api::Issued(ApiCall& call, const StatusOr<cg::v1::IssueResponse>& issued) {
  if (!issued.ok()) return Refused(call, issued.status());
  Count(call, *issued);
  return IssuedReply(call, *issued);
}

HttpResponse Api::Refused(ApiCall& call, const Status& status) {
  if (status.code() == StatusCode::kPermissionDenied) {
    return Error(call, 403, ConsentRefusalCode(status), status.message());
  }
  HttpResponse r = FromStatus(call, status);
  if (r.status == 400) rejected_->WithLabels({call.audit.result()}).Increment();
  return r;
}

void Api::Count(ApiCall& call, const cg::v1::IssueResponse& issued) {
  issued_->Increment();
  call.audit.set_attestation_id(issued.attestation_id());
}

}  // namespace cg::gateway
