import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { noteRefusal, pathOf } from '../../http/refusals.js';
import { UnknownNumberError } from '../../calls/number-directory.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { permissionTemplateSchema } from '../../config/permission-policy.js';
import type { ControlPlane } from '../control-plane.js';
import type { ApplyResult } from '../settings/settings-sync.js';
import type { SipPlan } from '../sip/sip-block.js';
import { adminOpenApi } from './admin-openapi.js';

/**
 * The admin HTTP API: the CLI's operations over HTTP (the ControlPlane's, control-plane.ts), under
 * `admin.path_prefix` on the internal listener (config `internal_http`), each request
 * authenticated with the bearer token from `admin.token_env`. Described by GET
 * <prefix>/openapi.json (admin-openapi.ts).
 * Audit trail: every 401, every change (settings apply, SIP enable/disable, permission request)
 * and every credential fetch is logged with `audit: true`, the caller's address and the outcome;
 * a credential reveal at warn. Never a token, a body or a password: revealed SIP passwords only
 * ever travel in a response marked `cache-control: no-store`.
 */

export interface AdminApiOptions {
  plane: ControlPlane;
  token: string;
  prefix: string;
  credentialsStateFile: string;
}

type Params = { number: string; user: string };
type Req = FastifyRequest<{ Params: Params; Body: unknown }>;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

class BadRequest extends Error {}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  throw new BadRequest(r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
}

const dryRunBody = z.object({ dry_run: z.boolean().default(false) }).strict();
const enableBody = z.object({
  hostname: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  request_uri_user_params: z.record(z.string(), z.string()).optional(),
  force: z.boolean().default(false),
  dry_run: z.boolean().default(false),
}).strict();
const credentialsBody = z.object({ reveal: z.boolean().default(false), hostname: z.string().optional() }).strict();
const requestBody = z.object({
  message: z.enum(['auto', 'interactive', 'template']).optional(),
  body_text: z.string().min(1).max(1024).optional(),
  template: permissionTemplateSchema.optional(),
}).strict();

export async function registerAdminApi(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const { plane, prefix } = opts;
  const expected = digest(opts.token);
  const openapi = adminOpenApi(prefix);
  const auditLog = plane.logger.child({ component: 'admin' });

  /** Runs one change and writes its audit line, success or failure (the failure is then answered by the error handler). */
  async function audited<T>(
    req: Req, action: string, fields: Record<string, unknown>, run: () => Promise<T>, outcome: (r: T) => Record<string, unknown>,
    level: 'info' | 'warn' = 'info',
  ): Promise<T> {
    const base = { audit: true, action, remote: req.ip, ...fields };
    try {
      const result = await run();
      auditLog[level]({ ...base, ...outcome(result) }, `admin API: ${action}`);
      return result;
    } catch (err) {
      auditLog[level]({ ...base, outcome: 'failed', error: (err as Error).message }, `admin API: ${action} failed`);
      noteRefusal(req, { logged: true });
      throw err;
    }
  }

  await app.register(async (scope) => {
    scope.get('/openapi.json', async () => openapi);

    await scope.register(async (api) => {
      api.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        const header = req.headers.authorization;
        const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
        if (!token || !timingSafeEqual(digest(token), expected)) {
          const reason = token ? 'wrong_token' : 'missing_token';
          auditLog.warn(
            { audit: true, remote: req.ip, method: req.method, path: pathOf(req.url), status: 401, reason },
            'admin API: request refused: missing or wrong bearer token',
          );
          noteRefusal(req, { reason, logged: true });
          return reply.code(401).header('www-authenticate', 'Bearer realm="watrunk-admin"').send({ error: 'missing or wrong bearer token' });
        }
        return undefined;
      });
      api.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
        if (err instanceof UnknownNumberError) return reply.code(404).send({ error: err.message });
        if (err instanceof BadRequest) return reply.code(400).send({ error: err.message });
        if (err instanceof ProviderError) {
          // Something the number's provider does not offer (docs/providers.md) is a conflict, not a gateway failure.
          return reply.code(err.fields.category === 'unsupported' ? 409 : 502).send({ error: err.message, ...(err.code !== undefined && { code: err.code }), ...(err.traceId && { traceId: err.traceId }) });
        }
        if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
        plane.logger.error({ err: { message: err.message, name: err.name }, url: req.url.split('?')[0] }, 'admin API request failed');
        return reply.code(500).send({ error: 'internal error' });
      });

      api.get('/numbers/:number/settings', async (req: Req) => plane.settingsGet(req.params.number));
      api.get('/settings/diff', async () => plane.settingsDiff());
      api.get('/numbers/:number/settings/diff', async (req: Req) => (await plane.settingsDiff(req.params.number))[0]);
      api.post('/settings/apply', async (req: Req) => {
        const dryRun = parse(dryRunBody, req.body).dry_run;
        return audited(req, 'settings.apply', { number: 'all', dryRun }, () => plane.settingsApply({ dryRun }), applyOutcome);
      });
      api.post('/numbers/:number/settings/apply', async (req: Req) => {
        const dryRun = parse(dryRunBody, req.body).dry_run;
        const number = req.params.number;
        return (await audited(req, 'settings.apply', { number, dryRun }, () => plane.settingsApply({ number, dryRun }), applyOutcome))[0];
      });

      api.get('/numbers/:number/sip', async (req: Req) => plane.sipStatusOf(req.params.number));
      api.post('/numbers/:number/sip/enable', async (req: Req, reply: FastifyReply) => {
        const b = parse(enableBody, req.body);
        const plan = await audited(req, 'sip.enable', { number: req.params.number, dryRun: b.dry_run, force: b.force }, () => plane.sipEnableOn(req.params.number, {
          force: b.force, dryRun: b.dry_run,
          ...(b.hostname !== undefined && { hostname: b.hostname }),
          ...(b.port !== undefined && { port: b.port }),
          ...(b.request_uri_user_params !== undefined && { requestUriUserParams: b.request_uri_user_params }),
        }), planOutcome);
        if (plan.refused) noteRefusal(req, { reason: 'refused_change', logged: true });
        return reply.code(plan.refused ? 409 : 200).send(plan);
      });
      api.post('/numbers/:number/sip/disable', async (req: Req) => {
        const dryRun = parse(dryRunBody, req.body).dry_run;
        return audited(req, 'sip.disable', { number: req.params.number, dryRun }, () => plane.sipDisableOn(req.params.number, { dryRun }), planOutcome);
      });
      api.post('/numbers/:number/sip/credentials', async (req: Req, reply: FastifyReply) => {
        const b = parse(credentialsBody, req.body);
        // A reveal hands out a SIP password: audited at warn.
        const report = await audited(req, 'sip.credentials', { number: req.params.number, reveal: b.reveal }, () => plane.sipCredentialsOf(req.params.number, {
          stateFile: opts.credentialsStateFile, reveal: b.reveal, ...(b.hostname !== undefined && { hostname: b.hostname }),
        }), (r) => ({ outcome: 'ok', credentials: r.credentials.length }), b.reveal ? 'warn' : 'info');
        return reply.header('cache-control', 'no-store').send(report);
      });

      api.get('/numbers/:number/permissions/:user', async (req: Req) => plane.permissionsCheck(req.params.number, req.params.user));
      api.post('/numbers/:number/permissions/:user/request', async (req: Req) => {
        const b = parse(requestBody, req.body);
        return audited(req, 'permissions.request', { number: req.params.number, user: req.params.user }, async () => {
          const n = plane.number(req.params.number);
          return plane.permissionsRequest(n.config.name, req.params.user, {
            ...plane.requestOptionsFor(n.config.name),
            ...(b.message !== undefined && { message: b.message }),
            ...(b.body_text !== undefined && { bodyText: b.body_text }),
            ...(b.template !== undefined && { template: b.template }),
          });
        }, (r) => ({ outcome: r.outcome === undefined ? 'already_granted' : r.outcome.sent ? 'sent' : 'not_sent' }));
      });
    });
  }, { prefix });
}

/** What a settings apply changed, for the audit line: keys, never values. */
function applyOutcome(results: ApplyResult[]): Record<string, unknown> {
  const refused = results.flatMap((r) => r.refused ?? []);
  return {
    outcome: results.every((r) => r.ok) ? 'ok' : 'not_ok',
    changed: results.flatMap((r) => r.changes.filter((c) => c.applied).map((c) => `${r.number}: ${c.key}`)),
    ...(refused.length > 0 && { refused }),
  };
}

/** A SIP enable/disable plan, for the audit line (its change lines carry no password). */
function planOutcome(plan: SipPlan): Record<string, unknown> {
  return {
    outcome: plan.refused ? 'refused' : plan.applied ? 'applied' : 'not_applied',
    changes: plan.changes,
    ...(plan.refused && { refused: plan.refused }),
  };
}
