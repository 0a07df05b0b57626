#include "server/auth.h"

#include <grpcpp/server_context.h>
#include <spdlog/spdlog.h>

#include <strings.h>

namespace tensord {
namespace {

AuthResult Refuse(const grpc::ServerContextBase& ctx, const std::string& why) {
  spdlog::warn("[auth] refused a call from {}: {}", ctx.peer(), why);
  return {grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "[auth] " + why), nullptr};
}

}  // namespace

Authenticator::Authenticator(std::shared_ptr<const TenantRegistry> tenants)
    : tenants_(std::move(tenants)) {}

std::vector<std::string> Authenticator::TenantNames() const {
  if (!tenants_) return {ImplicitTenant()->name};
  std::vector<std::string> names;
  for (const auto& t : tenants_->tenants()) names.push_back(t->name);
  return names;
}

AuthResult Authenticator::Authenticate(const grpc::ServerContextBase& ctx) const {
  if (!tenants_) return {grpc::Status::OK, ImplicitTenant()};
  const auto& md = ctx.client_metadata();
  const size_t headers = md.count(kAuthorizationKey);
  if (headers == 0) {
    return Refuse(ctx,
                  "this daemon requires a token: pass tensord.connect(address, token=...) or set "
                  "TENSORD_TOKEN (sent as 'authorization: Bearer <token>' metadata)");
  }
  if (headers > 1) return Refuse(ctx, "more than one authorization header");
  const grpc::string_ref value = md.find(kAuthorizationKey)->second;
  const size_t prefix = sizeof(kBearerPrefix) - 1;
  // The scheme name is case-insensitive (RFC 6750).
  if (value.size() <= prefix || strncasecmp(value.data(), kBearerPrefix, prefix) != 0) {
    return Refuse(ctx, "the authorization header must be 'Bearer <token>'");
  }
  std::shared_ptr<const Tenant> tenant =
      tenants_->FindByToken(std::string_view(value.data() + prefix, value.size() - prefix));
  if (!tenant) {
    return Refuse(ctx, "unknown token: no tenant in the daemon's tenants file has this "
                       "token's SHA-256");
  }
  return {grpc::Status::OK, std::move(tenant)};
}

}  // namespace tensord
