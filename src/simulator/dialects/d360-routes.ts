import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCallsRequest } from '../calls-request.js';
import { GraphError, graphErrorBody, invalidParameter } from '../graph-error.js';
import { describeCallPermission, handleMessage, readUserAddress } from '../graph-routes.js';
import type { BusinessNumber, SimulatorRuntime } from '../runtime.js';
import { runCallsRequest, sendDialectError, type DialectAnswers } from './call-action-runner.js';

/**
 * The 360dialog dialect (docs/providers.md#360dialog): Meta's bodies and answers on 360dialog's
 * paths, the number named by its D360-API-KEY header instead of a phone number id in the path.
 *   POST /calling/calls                 Meta's call actions
 *   GET  /calling/permissions/{wa_id}   Meta's call_permissions answer
 *   GET|POST /calling/settings          Meta's `calling` object, `sip` included
 *   POST /messages                      Meta's messages (the call permission request)
 * A missing or unknown key is 360dialog's own 401 envelope; Meta's errors are relayed in Meta's
 * envelope with Meta's HTTP status.
 */

type D360Request = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | undefined>; Body: unknown }>;

const digest = (s: string) => createHash('sha256').update(s).digest();

class D360AuthError extends Error {}

const ANSWERS = (rt: SimulatorRuntime): DialectAnswers => ({
  label: '360dialog',
  error: (err) => ({ status: err.httpStatus, body: graphErrorBody(err, rt.ids.fbtraceId()) }),
  success: (answer) => answer,
});

function authenticate(rt: SimulatorRuntime, req: D360Request): BusinessNumber {
  const key = req.headers['d360-api-key'];
  if (typeof key !== 'string' || key === '') throw new D360AuthError();
  let found: BusinessNumber | undefined;
  for (const n of rt.numbers.values()) {
    const mine = n.dialectSecrets.apiKey;
    if (n.config.dialect === '360dialog' && mine && timingSafeEqual(digest(mine), digest(key))) found = n;
  }
  if (!found) throw new D360AuthError();
  return found;
}

function refuseKey(reply: FastifyReply): FastifyReply {
  return reply.code(401).send({ meta: { success: false, http_code: 401, developer_message: 'Invalid api key' } });
}

/** Authenticates, runs `fn`, and writes GraphError as 360dialog relays it. */
function handler(rt: SimulatorRuntime, fn: (req: D360Request, number: BusinessNumber) => Promise<unknown>) {
  return async (req: D360Request, reply: FastifyReply) => {
    try {
      return reply.code(200).send(await fn(req, authenticate(rt, req)));
    } catch (err) {
      if (err instanceof D360AuthError) return refuseKey(reply);
      if (err instanceof GraphError) return sendDialectError(reply, ANSWERS(rt), err);
      throw err;
    }
  };
}

export function registerD360Routes(app: FastifyInstance, rt: SimulatorRuntime): void {
  app.post('/calling/calls', async (req: D360Request, reply) => {
    let number: BusinessNumber;
    try {
      number = authenticate(rt, req);
    } catch (err) {
      if (err instanceof D360AuthError) return refuseKey(reply);
      throw err;
    }
    let parsed;
    try {
      parsed = parseCallsRequest(req.body);
    } catch (err) {
      if (err instanceof GraphError) return sendDialectError(reply, ANSWERS(rt), err);
      throw err;
    }
    return runCallsRequest(rt, reply, number, parsed, ANSWERS(rt));
  });

  app.get('/calling/permissions/:user', handler(rt, async (req, number) =>
    describeCallPermission(rt, number, readUserAddress(req.params['user'], 'consumer_whatsapp_id'))));

  app.get('/calling/settings', handler(rt, async (req, number) => ({
    calling: rt.settings.get(number.identity.phoneNumberId, req.query['include_sip_credentials'] === 'true'),
  })));

  app.post('/calling/settings', handler(rt, async (req, number) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || body['calling'] === undefined) throw invalidParameter('The parameter calling is required.');
    const problems = rt.settings.update(number.identity.phoneNumberId, body['calling']);
    if (problems.length) throw invalidParameter(problems[0]!, problems.join('; '));
    return { success: true };
  }));

  app.post('/messages', handler(rt, async (req, number) => handleMessage(rt, number, req.body)));
}
