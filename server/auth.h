// Authentication of calls: which tenant a call comes from. Every service
// calls Authenticate first and uses the tenant it returns (the Runtime
// service for session ownership; an Admin service requires is_admin()).
//
// Thread-safe: an Authenticator is immutable after construction.
#ifndef TENSORD_SERVER_AUTH_H_
#define TENSORD_SERVER_AUTH_H_

#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "server/tenants.h"

namespace grpc {
class ServerContextBase;
}

namespace tensord {

// The metadata key and scheme clients send their token in:
// "authorization: Bearer <token>".
inline constexpr char kAuthorizationKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";

struct AuthResult {
  grpc::Status status;                   // OK, or UNAUTHENTICATED saying why
  std::shared_ptr<const Tenant> tenant;  // set when status is OK

  bool ok() const { return status.ok(); }
  bool is_admin() const { return tenant && tenant->admin; }
};

class Authenticator {
 public:
  // `tenants` null: no tenants file, every call is the implicit "default"
  // tenant's (and any token sent is ignored).
  explicit Authenticator(std::shared_ptr<const TenantRegistry> tenants);

  // The caller's tenant from its "authorization" metadata. Never logs or
  // echoes the token.
  AuthResult Authenticate(const grpc::ServerContextBase& ctx) const;

  bool required() const { return tenants_ != nullptr; }
  // Every tenant a call may belong to ("default" without a tenants file).
  std::vector<std::string> TenantNames() const;

 private:
  std::shared_ptr<const TenantRegistry> tenants_;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_AUTH_H_
