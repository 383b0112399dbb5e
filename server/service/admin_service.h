// The operators' use cases (AdminService): the organisation, users and tokens, and the audit log.
// Knows neither gRPC nor SQL. Every organisation write loads the organisation, applies the
// change in memory, validates the whole result (reporting only what the change breaks), and
// writes it only if nobody changed the organisation meanwhile (retrying a few times if somebody
// did). Callers are expected to be operators; the API layer checks that.
#ifndef GRIDLINE_SERVER_SERVICE_ADMIN_SERVICE_H_
#define GRIDLINE_SERVER_SERVICE_ADMIN_SERVICE_H_

#include <cstddef>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/organisation.h"
#include "server/domain/types.h"
#include "server/service/case_service.h"
#include "server/service/request_context.h"
#include "server/service/routing.h"
#include "server/store/store.h"
#include "server/util/clock.h"

namespace gridline::service {

// One page of an in-memory list, by an opaque offset token; sizes as PageRequest says.
// INVALID_ARGUMENT ("page_token" / "page_size") when malformed.
absl::Status PageBounds(const PageRequest& request, size_t total, size_t* begin, size_t* end,
                        std::string* next_page_token);
template <typename T>
absl::StatusOr<Page<T>> PageOf(std::vector<T> items, const PageRequest& request) {
  size_t begin = 0, end = 0;
  Page<T> page;
  if (absl::Status s = PageBounds(request, items.size(), &begin, &end, &page.next_page_token);
      !s.ok()) {
    return s;
  }
  page.items.assign(std::make_move_iterator(items.begin() + begin),
                    std::make_move_iterator(items.begin() + end));
  return page;
}

struct RoutingRuleFilter {
  std::string category_code;
  std::string grid_code;        // exactly this grid
  std::string department_code;  // as lead or assisting
};

struct UserFilter {
  domain::Role role = domain::Role::kUnspecified;
  std::string grid_code;  // users whose grid is in this subtree
  std::string department_code;
  bool include_disabled = false;
};

// GetCurrentUser: who calls, with which token, and the names of their grid and department.
struct CallerView {
  domain::User user;
  domain::TokenInfo token;
  std::string grid_name;
  std::string department_name;
};

// The server's token rules (ServerConfig.tokens).
struct TokenPolicy {
  domain::Micros default_lifetime = 365LL * 24 * 3600 * 1000000;
  domain::Micros rotation_grace = 72LL * 3600 * 1000000;
};

// What IssueToken is asked for.
struct TokenRequest {
  std::string user_id;
  std::string label;
  std::string device_id;
  // 0: the policy's default lifetime; < 0: a time in the past (refused).
  domain::Micros expire_time = 0;
  // A device certificate fingerprint, as given (hex, colons and case are tolerated); empty:
  // unbound.
  std::string client_cert_sha256;
};

struct IssuedToken {
  std::string token;  // shown once
  domain::TokenInfo info;
};

class AdminService {
 public:
  // Tokens may be issued for at most this long.
  static constexpr domain::Micros kMaxTokenLifetime = 2LL * 366 * 24 * 3600 * 1000000;

  // The storage it uses: the organisation, tokens and the audit log (not owned).
  AdminService(store::OrganisationStore* org, store::TokenStore* tokens, store::AuditStore* audit,
               const util::Clock* clock, TokenPolicy token_policy = {})
      : org_(org), tokens_(tokens), audit_(audit), clock_(clock), token_policy_(token_policy) {}

  // Update methods take the mutable fields to change as FieldMask paths ("name", ...).
  absl::StatusOr<domain::Grid> CreateGrid(const domain::Grid& grid);
  absl::StatusOr<domain::Grid> GetGrid(const std::string& code);
  // Ordered by code. `parent_code` (must exist) and `level` filter when set.
  absl::StatusOr<std::vector<domain::Grid>> ListGrids(const std::string& parent_code,
                                                      domain::GridLevel level);
  absl::StatusOr<domain::Grid> UpdateGrid(const domain::Grid& grid,
                                          const std::vector<std::string>& paths);
  absl::Status DeleteGrid(const std::string& code);

  absl::StatusOr<domain::Department> CreateDepartment(const domain::Department& department);
  absl::StatusOr<domain::Department> GetDepartment(const std::string& code);
  absl::StatusOr<std::vector<domain::Department>> ListDepartments(const std::string& parent_code,
                                                                  const std::string& grid_code);
  absl::StatusOr<domain::Department> UpdateDepartment(const domain::Department& department,
                                                      const std::vector<std::string>& paths);
  absl::Status DeleteDepartment(const std::string& code);

  absl::StatusOr<domain::Category> CreateCategory(const domain::Category& category);
  absl::StatusOr<domain::Category> GetCategory(const std::string& code);
  absl::StatusOr<std::vector<domain::Category>> ListCategories(domain::CategoryKind kind);
  absl::StatusOr<domain::Category> UpdateCategory(const domain::Category& category,
                                                  const std::vector<std::string>& paths);
  absl::Status DeleteCategory(const std::string& code);

  // An empty rule id gets one assigned.
  absl::StatusOr<domain::RoutingRule> CreateRoutingRule(const domain::RoutingRule& rule);
  // Ordered by category code, then grid code (empty first), then rule id.
  absl::StatusOr<std::vector<domain::RoutingRule>> ListRoutingRules(
      const RoutingRuleFilter& filter);
  absl::StatusOr<domain::RoutingRule> UpdateRoutingRule(const domain::RoutingRule& rule,
                                                        const std::vector<std::string>& paths);
  absl::Status DeleteRoutingRule(const std::string& rule_id);
  // The dry run of dispatch; INVALID_ARGUMENT for an unknown category or grid.
  absl::StatusOr<domain::RouteDecision> ResolveRoute(const std::string& category_code,
                                                     const std::string& grid_code);

  // An empty user id gets one assigned; new users are enabled.
  absl::StatusOr<domain::User> CreateUser(const domain::User& user);
  absl::StatusOr<domain::User> GetUser(const std::string& user_id);
  absl::StatusOr<std::vector<domain::User>> ListUsers(const UserFilter& filter);
  // "disabled" may only re-enable; an operator may not drop their own OPERATOR role.
  absl::StatusOr<domain::User> UpdateUser(const domain::Caller& caller, const domain::User& user,
                                          const std::vector<std::string>& paths);
  // Disables the user and revokes their tokens; a no-op for a disabled user.
  absl::StatusOr<domain::User> DisableUser(const domain::Caller& caller,
                                           const std::string& user_id);

  absl::StatusOr<IssuedToken> IssueToken(const domain::Caller& caller, const TokenRequest& request);
  // A new token like `token_id` (same user, label, device, binding); the old one keeps working
  // for `grace` (0: the policy's rotation_grace).
  absl::StatusOr<IssuedToken> RotateToken(const domain::Caller& caller, const std::string& token_id,
                                          domain::Micros grace);
  // Newest first.
  absl::StatusOr<std::vector<domain::TokenInfo>> ListTokens(const std::string& user_id,
                                                            bool include_inactive);
  absl::StatusOr<domain::TokenInfo> RevokeToken(const std::string& token_id);

  // The caller as GetCurrentUser shows them (any role may ask).
  absl::StatusOr<CallerView> DescribeCaller(const domain::Caller& caller, domain::Micros now);

  // The first operator of an installation and one token for them: FAILED_PRECONDITION when any
  // operator exists already (enabled or not; then tokens come from IssueToken). Not an RPC:
  // `gridline-server bootstrap` calls it against the configured store.
  absl::StatusOr<IssuedToken> Bootstrap(const std::string& user_id,
                                        const std::string& display_name);

  // ---- The audit log (written through operator_calls.h) ----
  absl::StatusOr<std::vector<domain::AuditEntry>> ListAudit(const store::AuditQuery& query);

 private:
  // What an edit writes.
  struct OrgEdit {
    domain::Organisation upserts;
    std::vector<store::OrgKey> deletes;
  };
  using EditFn = std::function<absl::Status(domain::Organisation* org, OrgEdit* out)>;
  // Runs `edit` on the loaded organisation, validates the result and writes it. Violations the
  // edit introduces on the entity (kind, key) are named "<prefix>.<field>"; those it causes on
  // other entities are named `other_field`.
  absl::Status WriteOrganisation(domain::OrgKind kind, const std::string& key,
                                 const std::string& prefix, const std::string& other_field,
                                 const EditFn& edit);

  store::OrganisationStore* org_;
  store::TokenStore* tokens_;
  store::AuditStore* audit_;
  const util::Clock* clock_;
  const TokenPolicy token_policy_;
};

// The canonical form of a certificate fingerprint: 64 lowercase hex digits, from hex with or
// without colons in either case; nullopt if it is not one.
std::optional<std::string> NormalizeFingerprint(const std::string& text);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_ADMIN_SERVICE_H_
