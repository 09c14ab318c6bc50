import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { userHangsUpBusinessCall } from './business-initiated.js';
import { numberOf } from './call-lifecycle.js';
import { viewOf } from './call-state.js';
import { faultRequestSchema } from './fault-plan.js';
import { sendPermissionReply } from './permission-reply.js';
import type { SimulatorRuntime } from './runtime.js';
import { SimulatorRequestError, startUserCall, userHangsUpOwnCall } from './user-initiated.js';

/**
 * The simulator's own control API under /_sim/ (no auth: bind it to 127.0.0.1). Documented in
 * config/simulator.yaml. Errors are `{"error": "..."}` with 400/404/409.
 *   GET  /_sim/calls                 all calls (state, timestamps, webhooks, actions, media report)
 *   GET  /_sim/calls/:id             one call
 *   POST /_sim/calls                 start a user-initiated call {phoneNumberId?, from, fromUserId?, name?,
 *                                    ctaPayload?, deeplinkPayload?, hideNumber?} → 201 {callId}
 *   POST /_sim/calls/:id/hangup      the user hangs up (or declines a ringing call)
 *   POST /_sim/numbers/:pnid/sip-password/rotate   Meta's SIP password reset (a new password)
 *   POST /_sim/calls/:id/dtmf        the user presses keys {digits: "12#"}
 *   GET|POST /_sim/faults            faults for the next webhooks {duplicate_next, drop_next, delay_next_ms,
 *                                    delay_next, reorder_next, late_next, late_by_s, kind} and the next
 *                                    /calls requests {graph: {action?, fault, status?, code?, count, applied, hang_ms}}
 *   POST /_sim/permissions           {user, phone_number_id?, action: grant|revoke, permanent?, notify?}
 *   GET  /_sim/webhooks              every webhook sent (summary, outcome, attempts, faults)
 *   GET  /_sim/messages              messages received on POST /messages
 *   GET  /_sim/status                numbers, active calls, pending webhooks, Graph versions seen
 *   POST /_sim/reset                 back to the configured state (calls, permissions, settings, faults)
 */

export interface ControlHooks {
  /** Ends every call silently and restores configured state. */
  reset(): Promise<void>;
}

const dtmfSchema = z.object({ digits: z.string().regex(/^[0-9*#]{1,64}$/, '0-9, * and #, at most 64') }).strict();
const permissionSchema = z.object({
  user: z.string().min(1),
  phone_number_id: z.string().optional(),
  action: z.enum(['grant', 'revoke']),
  permanent: z.boolean().default(false),
  /** Also send the call_permission_reply webhook (response_source: user_action, no context). */
  notify: z.boolean().default(false),
}).strict();

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ error: message });
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T | string {
  const res = schema.safeParse(body ?? {});
  return res.success ? res.data : res.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

export function registerControlRoutes(app: FastifyInstance, rt: SimulatorRuntime, hooks: ControlHooks): void {
  app.get('/_sim/calls', async () => ({ calls: rt.calls.list().map(viewOf) }));

  app.get<{ Params: { id: string } }>('/_sim/calls/:id', async (req, reply) => {
    const call = rt.calls.get(req.params.id);
    return call ? viewOf(call) : fail(reply, 404, `no call ${req.params.id}`);
  });

  app.post('/_sim/calls', async (req, reply) => {
    try {
      const { callId } = await startUserCall(rt, (req.body ?? {}) as never);
      return reply.code(201).send({ callId });
    } catch (err) {
      if (err instanceof SimulatorRequestError) return fail(reply, err.status, err.message);
      throw err;
    }
  });

  // Meta's SIP password reset, in one step (docs/sip-mode.md#password).
  app.post<{ Params: { pnid: string } }>('/_sim/numbers/:pnid/sip-password/rotate', async (req, reply) => {
    if (!rt.numbers.has(req.params.pnid)) return fail(reply, 404, `unknown phone_number_id ${req.params.pnid}`);
    rt.settings.rotateSipPassword(req.params.pnid);
    return { rotated: true };
  });

  app.post<{ Params: { id: string } }>('/_sim/calls/:id/hangup', async (req, reply) => {
    const call = rt.calls.get(req.params.id);
    if (!call) return fail(reply, 404, `no call ${req.params.id}`);
    if (call.state === 'ended') return fail(reply, 409, 'the call has already ended');
    const number = numberOf(rt, call);
    if (call.direction === 'BUSINESS_INITIATED') await userHangsUpBusinessCall(rt, number, call);
    else await userHangsUpOwnCall(rt, number, call);
    return viewOf(call);
  });

  app.post<{ Params: { id: string } }>('/_sim/calls/:id/dtmf', async (req, reply) => {
    const call = rt.calls.get(req.params.id);
    if (!call) return fail(reply, 404, `no call ${req.params.id}`);
    const body = parse(dtmfSchema, req.body);
    if (typeof body === 'string') return fail(reply, 400, body);
    if (call.state !== 'accepted') return fail(reply, 409, 'DTMF needs a connected call');
    await call.media?.sendDtmf(body.digits);
    call.dtmfSent += body.digits;
    return { ok: true, dtmfSent: call.dtmfSent };
  });

  app.get('/_sim/faults', async () => ({ pending: rt.faults.describe() }));
  app.post('/_sim/faults', async (req, reply) => {
    const body = parse(faultRequestSchema, req.body);
    if (typeof body === 'string') return fail(reply, 400, body);
    rt.faults.inject(body);
    return { pending: rt.faults.describe() };
  });

  app.post('/_sim/permissions', async (req, reply) => {
    const body = parse(permissionSchema, req.body);
    if (typeof body === 'string') return fail(reply, 400, body);
    const number = body.phone_number_id ? rt.numbers.get(body.phone_number_id) : rt.numbers.values().next().value;
    if (!number) return fail(reply, 404, `unknown phone_number_id ${body.phone_number_id}`);
    const user = rt.users.resolve(body.user.replace(/^\+/, ''));
    const pnid = number.identity.phoneNumberId;
    if (body.notify) {
      sendPermissionReply(rt, number, user, { response: body.action === 'grant' ? 'accept' : 'reject', source: 'user_action', permanent: body.permanent });
    } else if (body.action === 'grant') {
      rt.permissions.grant(pnid, user, body.permanent);
    } else {
      rt.permissions.revoke(pnid, user);
    }
    return rt.permissions.describe(pnid, user);
  });

  app.get('/_sim/webhooks', async () => ({ webhooks: rt.webhooks.records }));

  app.get('/_sim/messages', async () => ({ messages: rt.messages }));

  app.get('/_sim/status', async () => ({
    graphVersion: rt.config.graph_version,
    graphVersionsSeen: Object.fromEntries(rt.graphVersions),
    numbers: [...rt.numbers.values()].map((n) => ({
      phoneNumberId: n.identity.phoneNumberId, displayNumber: n.identity.displayNumber, webhookUrl: n.target.url,
      activeCalls: rt.calls.active(n.identity.phoneNumberId).length,
    })),
    media: rt.media.mode,
    pendingWebhooks: rt.webhooks.pending,
    faults: rt.faults.describe(),
  }));

  app.post('/_sim/reset', async () => {
    await hooks.reset();
    return { ok: true };
  });
}
