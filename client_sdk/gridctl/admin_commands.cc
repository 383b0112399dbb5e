// tokens and audit: the users' bearer tokens and the audit log of administrative actions
// (operators).
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "commands.h"

namespace gridctl {
namespace {

// The server refuses expiry times more than two (leap) years ahead.
constexpr int64_t kMaxTtlDays = 2 * 366;

// --ttl: "90d", or a duration absl::ParseDuration reads ("12h", "1h30m").
bool ParseTtl(const std::string& text, absl::Duration* out) {
  int64_t days = 0;
  if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &days)) {
    if (days <= 0 || days > kMaxTtlDays) return false;
    *out = absl::Hours(24) * days;
  } else if (!absl::ParseDuration(text, out)) {
    return false;
  }
  return *out > absl::ZeroDuration() && *out <= absl::Hours(24) * kMaxTtlDays;
}

// "active", "revoked" or "expired".
std::string TokenState(const v1::TokenInfo& t) {
  if (t.revoked()) return "revoked";
  if (IsSet(t.expire_time()) && t.expire_time().seconds() <= absl::ToUnixSeconds(absl::Now())) {
    return "expired";
  }
  return "active";
}

// A token's metadata as a key-value table.
Table TokenFields(const v1::TokenInfo& t) {
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"token_id", t.token_id()});
  table.AddRow({"user_id", t.user_id()});
  table.AddRow({"state", TokenState(t)});
  if (!t.label().empty()) table.AddRow({"label", t.label()});
  if (!t.device_id().empty()) table.AddRow({"device_id", t.device_id()});
  table.AddRow({"created", LocalTime(t.create_time())});
  table.AddRow({"expires", IsSet(t.expire_time()) ? LocalTime(t.expire_time()) : "never"});
  if (IsSet(t.last_used_time())) table.AddRow({"last_used", LocalTime(t.last_used_time())});
  if (t.revoked()) table.AddRow({"revoked", LocalTime(t.revoke_time())});
  table.AddRow({"issued_by", t.issued_by_user_id()});
  if (!t.client_certificate_sha256().empty()) {
    table.AddRow({"bound_certificate_sha256", t.client_certificate_sha256()});
  }
  if (!t.replaced_by_token_id().empty()) table.AddRow({"replaced_by", t.replaced_by_token_id()});
  return table;
}

// ---- tokens ----------------------------------------------------------------------------------

int PrintIssued(Context& ctx, const v1::IssueTokenResponse& issued);

int TokensIssue(Context& ctx, const Args& args) {
  v1::IssueTokenRequest request;
  request.set_user_id(args.positional()[0]);
  request.set_label(args.Value("label"));
  request.set_device_id(args.Value("device"));
  if (args.Has("ttl")) {
    absl::Duration ttl;
    if (!ParseTtl(args.Value("ttl"), &ttl)) {
      return ctx.Usage("--ttl must be a lifetime such as 90d, 12h or 1h30m, at most 732d");
    }
    const absl::Time expire = absl::Now() + ttl;
    request.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire));
  }
  if (args.Has("bind-cert")) {
    std::string pem;
    if (!ReadFile(args.Value("bind-cert"), &pem)) {
      return ctx.Usage("cannot read --bind-cert file '" + args.Value("bind-cert") + "'");
    }
    request.set_client_certificate_pem(pem);
  }
  if (args.Has("bind-sha256")) request.set_client_certificate_sha256(args.Value("bind-sha256"));
  if (int code = ctx.Connect()) return code;
  auto issued = ctx.Admin().IssueToken(request);
  if (!issued.ok()) return ctx.Fail(issued.status());
  return PrintIssued(ctx, *issued);
}

int TokensRotate(Context& ctx, const Args& args) {
  v1::RotateTokenRequest request;
  request.set_token_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  if (args.Has("grace")) {
    absl::Duration grace;
    if (!absl::ParseDuration(args.Value("grace"), &grace) || grace < absl::ZeroDuration() ||
        grace > absl::Hours(24 * 30)) {
      return ctx.Usage("--grace must be a duration such as 72h or 30m, at most 720h");
    }
    request.set_grace_seconds(absl::ToInt64Seconds(grace));
  }
  if (int code = ctx.Connect()) return code;
  auto issued = ctx.Admin().RotateToken(request);
  if (!issued.ok()) return ctx.Fail(issued.status());
  return PrintIssued(ctx, *issued);
}

// The token alone on stdout (its metadata on stderr), or one JSON object.
int PrintIssued(Context& ctx, const v1::IssueTokenResponse& response) {
  const auto* issued = &response;
  if (ctx.format() == OutputFormat::kJson) {
    // One object: the token's fields and "token".
    Table fields = TokenFields(issued->token_info());
    fields.AddRow({"token", issued->token()});
    ctx.PrintDetails(fields);
  } else {
    // stdout holds the token alone, so that it can go straight into a file or a variable.
    ctx.out() << issued->token() << '\n' << std::flush;
    TokenFields(issued->token_info()).PrintText(ctx.err());
  }
  ctx.Note(
      "warning: the token is shown only once, here; store it now (e.g. in a chmod 600 file for "
      "--token-file). The server keeps only a hash: if it is lost, revoke it and issue another.");
  return kExitOk;
}

int TokensList(Context& ctx, const Args& args) {
  v1::ListTokensRequest request;
  if (!args.positional().empty()) request.set_user_id(args.positional()[0]);
  request.set_include_inactive(args.Has("include-inactive"));
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();
  Table table({"token_id", "user_id", "state", "label", "device_id", "created", "last_used",
               "expires", "issued_by"});
  table.SetMaxWidth(3, 30);
  bool more = false;
  gc::Status status = ForEachItem(
      request, 0, [&](const v1::ListTokensRequest& r) { return client.ListTokens(r); },
      [](const v1::ListTokensResponse& r) -> const auto& { return r.tokens(); },
      [&](const v1::TokenInfo& t) {
        table.AddRow({t.token_id(), t.user_id(), TokenState(t), t.label(), t.device_id(),
                      TimeCell(ctx, t.create_time()), TimeCell(ctx, t.last_used_time()),
                      TimeCell(ctx, t.expire_time()), t.issued_by_user_id()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, request.include_inactive() ? "tokens" : "active tokens");
  return kExitOk;
}

int TokensRevoke(Context& ctx, const Args& args) {
  v1::RevokeTokenRequest request;
  request.set_token_id(args.positional()[0]);
  request.set_reason(args.Value("reason"));
  if (int code = ctx.Connect()) return code;
  auto revoked = ctx.Admin().RevokeToken(request);
  if (!revoked.ok()) return ctx.Fail(revoked.status());
  ctx.PrintDetails(TokenFields(*revoked));
  return kExitOk;
}

// ---- audit -----------------------------------------------------------------------------------

// "/gridline.v1.AdminService/IssueToken" -> "IssueToken".
std::string MethodName(const std::string& method) {
  const size_t slash = method.rfind('/');
  return slash == std::string::npos ? method : method.substr(slash + 1);
}

int Audit(Context& ctx, const Args& args) {
  v1::ListAuditLogRequest request;
  request.set_actor_user_id(args.Value("actor"));
  request.set_resource_kind(args.Value("kind"));
  request.set_resource_id(args.Value("resource"));
  if (args.Has("from") &&
      !ParseTimeArgument(args.Value("from"), false, request.mutable_start_time())) {
    return ctx.Usage("--from must be a date YYYY-MM-DD or an RFC 3339 time");
  }
  if (args.Has("to") && !ParseTimeArgument(args.Value("to"), true, request.mutable_end_time())) {
    return ctx.Usage("--to must be a date YYYY-MM-DD (counted whole) or an RFC 3339 time");
  }
  int rc = 0;
  int64_t limit;
  if (!ParseLimit(ctx, args, kDefaultListLimit, &limit, &rc)) return rc;
  if (int code = ctx.Connect()) return code;
  auto client = ctx.Admin();

  Table table({"time", "actor", "actor_token_id", "method", "resource_kind", "resource_id",
               "status", "status_message", "request_summary", "peer"});
  table.SetMaxWidth(7, 30);
  table.SetMaxWidth(8, 40);
  bool more = false;
  gc::Status status = ForEachItem(
      request, limit, [&](const v1::ListAuditLogRequest& r) { return client.ListAuditLog(r); },
      [](const v1::ListAuditLogResponse& r) -> const auto& { return r.entries(); },
      [&](const v1::AuditEntry& e) {
        std::string time =
            ctx.machine() ? Rfc3339(e.event_time()) : LocalTime(e.event_time(), true);
        table.AddRow({time, e.actor_user_id(), e.actor_token_id(), MethodName(e.method()),
                      e.resource_kind(), e.resource_id(),
                      absl::StatusCodeToString(static_cast<absl::StatusCode>(e.status_code())),
                      e.status_message(), e.request_summary(), e.peer()});
      },
      &more);
  if (!status.ok()) return ctx.Fail(status);
  PrintList(ctx, table, more, "audit entries");
  return kExitOk;
}

// ---- whoami ---------------------------------------------------------------------------------

int Whoami(Context& ctx, const Args&) {
  if (int code = ctx.Connect()) return code;
  auto me = ctx.Admin().GetCurrentUser();
  if (!me.ok()) return ctx.Fail(me.status());
  const v1::User& u = me->user();
  Table table({"field", "value"});
  table.HideHeader();
  table.AddRow({"user_id", u.user_id()});
  table.AddRow({"display_name", u.display_name()});
  table.AddRow({"role", v1::Role_Name(u.role())});
  if (!u.grid_code().empty()) {
    table.AddRow({"grid_code", u.grid_code()});
    table.AddRow({"grid_name", me->grid_name()});
  }
  if (!u.department_code().empty()) {
    table.AddRow({"department_code", u.department_code()});
    table.AddRow({"department_name", me->department_name()});
  }
  const v1::TokenInfo& t = me->token();
  table.AddRow({"token_id", t.token_id()});
  if (!t.label().empty()) table.AddRow({"token_label", t.label()});
  if (!t.device_id().empty()) table.AddRow({"token_device", t.device_id()});
  table.AddRow({"token_expires", IsSet(t.expire_time()) ? TimeCell(ctx, t.expire_time())
                                                        : (ctx.machine() ? "" : "never")});
  if (t.demo()) table.AddRow({"demo_token", "true"});
  table.AddRow({"endpoint", ctx.endpoint()});
  ctx.PrintDetails(table);
  return kExitOk;
}

}  // namespace

void AddAdminCommands(std::vector<Command>* commands) {
  commands->push_back({{"whoami"},
                       "",
                       "Show who the token belongs to: user, role, grid or department, the token",
                       "Any role may ask. Useful to check a token file before other commands.",
                       {},
                       0,
                       0,
                       false,
                       false,
                       Whoami});
  commands->push_back(
      {{"tokens", "issue"},
       "USER_ID [--ttl DURATION] [--label TEXT] [--device ID] [--bind-cert FILE]",
       "Issue a bearer token for a user (e.g. for a handset handed out)",
       "Prints the token alone on stdout, ONCE: the server stores only its hash, so it can\n"
       "never be shown again. Its id and expiry go to stderr, with that warning. A user may\n"
       "hold several tokens, one per device. Disabled users get none (exit 5).",
       {{"ttl", "DURATION",
         "lifetime, e.g. 90d, 12h or 1h30m, at most 732d (default: the server's)"},
        {"label", "TEXT", "for people, e.g. \"handset of grid 410184001001003\""},
        {"device", "ID", "the device it is for, e.g. the handset's serial or IMEI"},
        {"bind-cert", "FILE",
         "bind the token to this device certificate (PEM): it then works only on a mutual-TLS "
         "connection presenting it"},
        {"bind-sha256", "HEX", "bind to the certificate with this SHA-256 fingerprint instead"}},
       1,
       1,
       false,
       false,
       TokensIssue});
  commands->push_back(
      {{"tokens", "rotate"},
       "TOKEN_ID [--grace DURATION] [--reason TEXT]",
       "Issue a token replacing TOKEN_ID; both work during the grace period",
       "Rotation without downtime: the new token (same user, label, device and certificate\n"
       "binding) is printed alone on stdout, ONCE; the old token keeps working for the grace\n"
       "period (default: the server's, 72h unless configured) and then expires.",
       {{"grace", "DURATION", "how long the old token keeps working, e.g. 24h (at most 720h)"},
        {"reason", "TEXT", "why, for the audit log"}},
       1,
       1,
       false,
       false,
       TokensRotate});
  commands->push_back({{"tokens", "list"},
                       "[USER_ID] [--include-inactive]",
                       "List bearer tokens (their metadata, never the tokens), newest first",
                       "Without USER_ID the tokens of every user.",
                       {{"include-inactive", "", "also revoked and expired tokens"}},
                       0,
                       1,
                       false,
                       true,
                       TokensList});
  commands->push_back({{"tokens", "revoke"},
                       "TOKEN_ID [--reason TEXT]",
                       "Revoke a token: its next use, and streams open with it, fail",
                       "Revoking a revoked token changes nothing.",
                       {{"reason", "TEXT", "why, for the audit log (e.g. \"handset lost\")"}},
                       1,
                       1,
                       false,
                       false,
                       TokensRevoke});
  commands->push_back(
      {{"audit"},
       "[--actor USER_ID] [--kind KIND] [--resource ID] [--from DATE] [--to DATE] [--limit N]",
       "List the audit log of administrative actions, newest first",
       "Operators only. One entry per AdminService write call, failed ones included (an org\n"
       "load, a token issued or revoked, ...). Case actions are not here: they are the case\n"
       "history (`gridctl cases history`).",
       {{"actor", "USER_ID", "only actions of this user"},
        {"kind", "KIND",
         "only actions on this kind of resource: grid, department, category, routing_rule, "
         "user, token or organisation"},
        {"resource", "ID", "only actions on this code or id"},
        {"from", "DATE", "only entries at or after DATE (YYYY-MM-DD or RFC 3339)"},
        {"to", "DATE", "only entries before the end of DATE (a date counts whole)"},
        {"limit", "N", "show at most N entries (default 100; 0: all)"}},
       0,
       0,
       false,
       true,
       Audit});
}

}  // namespace gridctl
