import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { signAcs3 } from '../../adapters/cams/acs3-signer.js';
import { CAMS_API_VERSION } from '../../adapters/cams/cams-types.js';
import { GraphError } from '../graph-error.js';
import type { BusinessNumber, SimulatorRuntime } from '../runtime.js';
import { runCallsRequest, type DialectAnswers } from './call-action-runner.js';
import { callingConfigureOf, callsRequestOf, camsErrorOf, camsFailure, type CamsAnswer } from './cams-wire.js';

/**
 * The Alibaba Cloud CAMS dialect (docs/providers.md#alibaba-cloud-cams): the RPC endpoint, POST /
 * with every parameter in the query string, signed with ACS3-HMAC-SHA256. The signature is
 * recomputed with the adapter's own signer over what was received (host, query, x-acs-* headers)
 * and the AccessKey secret of the number the Credential names.
 *   WhatsappCall               CallAction connect | pre_accept | accept | reject | terminate
 *   QueryChatappPhoneNumbers   PhoneNumbers[].CallingConfigure (read-only settings)
 * Success is {Code: "OK"}; failures are Alibaba's gateway envelopes (HTTP 4xx/5xx) or business
 * errors (HTTP 200, another Code): cams-wire.ts.
 */

type CamsRequest = FastifyRequest<{ Body: unknown }>;

const AUTHORIZATION = /^ACS3-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/i;

/** Query parameters exactly as sent (RFC 3986 percent-decoding; '+' is not a space here). */
function rawQuery(url: string): Record<string, string> {
  const q = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const out: Record<string, string> = {};
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    out[name] = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
  }
  return out;
}

const header = (req: CamsRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/** The numbers whose AccessKey signed this request, or the Alibaba answer refusing it. */
function authenticate(rt: SimulatorRuntime, req: CamsRequest, params: Record<string, string>, requestId: string): BusinessNumber[] | CamsAnswer {
  const auth = AUTHORIZATION.exec(header(req, 'authorization') ?? '');
  if (!auth) return camsFailure(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.', requestId);
  const [, accessKeyId, , signature] = auth;
  const numbers = [...rt.numbers.values()].filter((n) => n.config.dialect === 'cams' && n.config.access_key_id === accessKeyId);
  const secret = numbers[0]?.dialectSecrets.accessKeySecret;
  if (!secret) return camsFailure(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.', requestId);
  const date = header(req, 'x-acs-date');
  const nonce = header(req, 'x-acs-signature-nonce');
  if (!date || !nonce || Number.isNaN(Date.parse(date))) {
    return camsFailure(400, 'MissingParameter', 'x-acs-date and x-acs-signature-nonce are required.', requestId);
  }
  const contentType = header(req, 'content-type');
  const token = header(req, 'x-acs-security-token');
  const expected = signAcs3({
    method: 'POST', host: header(req, 'host') ?? '', pathname: req.url.split('?', 1)[0] ?? '/',
    action: header(req, 'x-acs-action') ?? '', version: header(req, 'x-acs-version') ?? '',
    query: params, date: new Date(date), nonce, ...(contentType !== undefined && { contentType }),
  }, { accessKeyId: accessKeyId!, accessKeySecret: secret, ...(token !== undefined && { securityToken: token }) });
  if (!timingSafeEqual(Buffer.from(expected.signature, 'hex'), Buffer.from(signature!.toLowerCase(), 'hex'))) {
    return camsFailure(400, 'SignatureDoesNotMatch', 'Specified signature does not match our calculation.', requestId);
  }
  return numbers;
}

const send = (reply: FastifyReply, a: CamsAnswer): FastifyReply => reply.code(a.status).send(a.body);

async function whatsappCall(rt: SimulatorRuntime, reply: FastifyReply, numbers: BusinessNumber[], params: Record<string, string>, requestId: string): Promise<FastifyReply> {
  const number = numbers.find((n) => n.config.cust_space_id === params['CustSpaceId'] && n.identity.displayNumber === params['BusinessNumber']);
  if (!number) return send(reply, camsFailure(200, 'Forbidden.BusinessNumber', 'The business number does not belong to this CustSpaceId or AccessKey.', requestId));
  let parsed;
  try {
    parsed = callsRequestOf(params);
  } catch (err) {
    if (err instanceof GraphError) return send(reply, camsErrorOf(err, requestId));
    throw err;
  }
  const answers: DialectAnswers = {
    label: 'cams',
    error: (err) => camsErrorOf(err, requestId),
    success: (answer) => ({
      RequestId: requestId, Code: 'OK', Message: 'OK', AccessDeniedDetail: 'None', Success: true,
      ...(answer.calls?.[0] && { Model: { CallId: answer.calls[0].id } }),
    }),
  };
  return runCallsRequest(rt, reply, number, parsed, answers);
}

function queryPhoneNumbers(rt: SimulatorRuntime, numbers: BusinessNumber[], params: Record<string, string>, requestId: string): CamsAnswer {
  const mine = numbers.filter((n) => n.config.cust_space_id === params['CustSpaceId']);
  return {
    status: 200,
    body: {
      RequestId: requestId, Code: 'OK', Message: 'OK', Success: true,
      PhoneNumbers: mine.map((n) => ({
        PhoneNumber: n.identity.displayNumber,
        CallingConfigure: callingConfigureOf(rt.settings.get(n.identity.phoneNumberId), n.config.webhook_url),
      })),
    },
  };
}

export function registerCamsRoutes(app: FastifyInstance, rt: SimulatorRuntime): void {
  app.post('/', async (req: CamsRequest, reply) => {
    const requestId = rt.ids.fbtraceId();
    const params = rawQuery(req.url);
    const numbers = authenticate(rt, req, params, requestId);
    if (!Array.isArray(numbers)) return send(reply, numbers);
    if (header(req, 'x-acs-version') !== CAMS_API_VERSION) return send(reply, camsFailure(400, 'InvalidVersion', 'Specified parameter Version is not valid.', requestId));
    switch (header(req, 'x-acs-action')) {
      case 'WhatsappCall': return whatsappCall(rt, reply, numbers, params, requestId);
      case 'QueryChatappPhoneNumbers': return send(reply, queryPhoneNumbers(rt, numbers, params, requestId));
      default: return send(reply, camsFailure(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.', requestId));
    }
  });
}
