// Authentication and authorization, shared by every listener of the node.
export * from './acl.js';
export * from './scram.js';
export { UserStore, UserError, USERS_FILE, MAX_USERS, type UserSummary } from './users.js';
export { LoginGuard, DEFAULT_LOGIN_GUARD_LIMITS, type LoginGuardLimits } from './login-guard.js';
export { Authorizer, AuthorizationError, ACLS_FILE, type AuthorizerConfig } from './authorizer.js';
export type { ListenerTls } from './listener-tls.js';
export { HttpAuthenticator, httpRefusal, requestToken, SESSION_COOKIE, type HttpAuthParts, type HttpAuthResult, type HttpRefusal } from './http-auth.js';
