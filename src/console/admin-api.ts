// The node's users and ACLs over HTTP, for `freshet user` and `freshet acl`
// against a running node. Reading needs cluster describe, changing needs
// cluster alter; a user may also issue and revoke its own tokens. Changes
// take effect at once: the node's UserStore and Authorizer are the ones
// every listener asks.
//
//   GET    /admin/users                       → [UserSummary] (no secret, no hash)
//   POST   /admin/users  {name, password?, groups?, replace?} → 201 UserSummary
//   DELETE /admin/users/NAME                  → {deleted}
//   POST   /admin/users/NAME/tokens           → 201 {id, token} (the token is shown only here)
//   DELETE /admin/users/NAME/tokens/ID        → {revoked}
//   GET    /admin/acls                        → [{rule, source: policy|managed}]
//   POST   /admin/acls   {rule}               → 201 {rule}
//   DELETE /admin/acls   {rule}               → {removed}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { aclRuleSchema, CLUSTER_RESOURCE, UserError, type Authorizer, type Principal, type UserStore } from '../auth/index.js';
import { httpRefusal, type HttpAuthenticator } from '../auth/index.js';
import { requestPrincipal } from './auth.js';

export interface AdminApiParts {
  auth: HttpAuthenticator;
  users: UserStore;
  authorizer: Authorizer;
}

const USER_ERROR_STATUS: Record<UserError['code'], number> = { invalid: 400, exists: 409, 'not-found': 404, limit: 409 };

function answerError(reply: FastifyReply, err: unknown): FastifyReply {
  const refusal = httpRefusal(err);
  if (refusal) return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
  if (err instanceof UserError) return reply.code(USER_ERROR_STATUS[err.code]).send({ error: err.message });
  const message = (err as Error).message;
  // The Authorizer's refusals to add a rule twice or remove one it lacks.
  const status = message.includes('exists already') ? 409 : message.startsWith('no rule ') ? 404 : 400;
  return reply.code(status).send({ error: message });
}

function parseRule(body: unknown) {
  const parsed = aclRuleSchema.safeParse((body as { rule?: unknown } | undefined)?.rule);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid ACL rule${issue.path.length ? ` (${issue.path.join('.')})` : ''}: ${issue.message}`);
  }
  return parsed.data;
}

export function registerAdminApi(app: FastifyInstance, parts: AdminApiParts): void {
  const { auth, users, authorizer } = parts;
  const guarded =
    <R extends FastifyRequest>(operation: 'describe' | 'alter', work: (req: R, who: Principal) => unknown, self?: (req: R) => string) =>
    async (req: R, reply: FastifyReply) => {
      try {
        const who = requestPrincipal(req.raw);
        if (self === undefined || self(req) !== who.user || who.mechanism === 'anonymous') auth.check(who, operation, 'cluster', CLUSTER_RESOURCE);
        const result = await work(req, who);
        return reply.code(req.method === 'POST' ? 201 : 200).send(result);
      } catch (err) {
        return answerError(reply, err);
      }
    };
  type Named = FastifyRequest<{ Params: { name: string } }>;
  type Token = FastifyRequest<{ Params: { name: string; id: string } }>;
  type Body = FastifyRequest<{ Body: Record<string, unknown> | undefined }>;

  app.get('/admin/users', guarded('describe', () => users.list()));
  app.post(
    '/admin/users',
    guarded('alter', (req: Body) => {
      const body = req.body ?? {};
      if (typeof body.name !== 'string') throw new UserError('invalid', 'expected {"name": "...", "password"?: "...", "groups"?: [...]}');
      const groups = Array.isArray(body.groups) ? body.groups.filter((g): g is string => typeof g === 'string') : undefined;
      return users.add(body.name, {
        ...(typeof body.password === 'string' ? { password: body.password } : {}),
        ...(groups ? { groups } : {}),
        replace: body.replace === true,
      });
    }),
  );
  app.delete(
    '/admin/users/:name',
    guarded('alter', async (req: Named) => {
      await users.delete(req.params.name);
      return { deleted: req.params.name };
    }),
  );
  app.post(
    '/admin/users/:name/tokens',
    guarded('alter', (req: Named) => users.issueToken(req.params.name), (req) => req.params.name),
  );
  app.delete(
    '/admin/users/:name/tokens/:id',
    guarded(
      'alter',
      async (req: Token) => {
        await users.revokeToken(req.params.name, req.params.id);
        return { revoked: req.params.id };
      },
      (req) => req.params.name,
    ),
  );

  app.get('/admin/acls', guarded('describe', () => authorizer.rules()));
  app.post(
    '/admin/acls',
    guarded('alter', async (req: Body) => {
      const rule = parseRule(req.body);
      await authorizer.add(rule);
      return { rule };
    }),
  );
  app.delete(
    '/admin/acls',
    guarded('alter', async (req: Body) => {
      const rule = parseRule(req.body);
      await authorizer.remove(rule);
      return { removed: rule };
    }),
  );
}
