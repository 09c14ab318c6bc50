import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteRefusal } from '../http/refusals.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

/** Request headers as Node gives them: lower-case names. */
export type DeliveryHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Checks a delivery's signature over the raw body bytes (Meta: X-Hub-Signature-256). `headers` are
 * all the request's headers, for a verifier that needs more than one (360dialog: a signature and a
 * static token).
 */
export interface DeliveryVerifier {
  verify(rawBody: Buffer, signatureHeader: string | undefined, headers?: DeliveryHeaders): boolean;
}

export interface WebhookIngressOptions {
  path: string;
  verifyToken: string;
  verifier: DeliveryVerifier;
  /** Name of the signature header, lower-case. */
  signatureHeader: string;
  maxBodyBytes: number;
  /**
   * Receives the parsed JSON document after the 200 has been sent, with performance.now() at its
   * arrival. Must not throw (errors are logged).
   */
  onDelivery: (body: unknown, receivedAt: number) => void | Promise<void>;
  logger: Logger;
  metrics: Metrics;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Meta's webhook endpoint (docs/whatsapp-calling.md#delivery), on the public listener (src/http/app.ts):
 *  GET  verification: hub.mode=subscribe + the right hub.verify_token (compared in constant time)
 *       → 200 with the raw hub.challenge, else 403.
 *  POST events: only `application/json` is read (415 otherwise, before the body is); 413 over the
 *  size limit, also before reading when Content-Length says so. The signature is checked over the
 *  RAW bytes, in constant time, before anything is parsed: 401 when missing/wrong, 400 for
 *  malformed JSON. A good delivery is answered 200 at once and processed afterwards: Meta times
 *  out at ~20 s and retries, which would only produce duplicates.
 * Refusals are counted and logged by the listener's edge (src/http/refusals.ts): at warn, no stack.
 */
export async function registerWebhookIngress(app: FastifyInstance, opts: WebhookIngressOptions): Promise<void> {
  const log = opts.logger.child({ component: 'webhook' });
  const expectedToken = sha256(opts.verifyToken);
  /** Hashing both sides gives equal lengths, so the comparison takes the same time whatever was tried. */
  const isVerifyToken = (tried: unknown) => typeof tried === 'string' && timingSafeEqual(sha256(tried), expectedToken);
  await app.register(async (scope) => {
    // Keep the body as raw bytes: the HMAC is over the exact bytes. Other media types get 415 unread.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

    // Answered (413) and logged by the listener's edge; counted here as a delivery outcome too.
    scope.addHook('onError', async (_req, _reply, err: Error & { code?: string }) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') opts.metrics.webhookDeliveries.inc({ outcome: 'too_large' });
    });

    scope.get(opts.path, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const q = req.query;
      const tokenOk = isVerifyToken(q['hub.verify_token']);
      if (q['hub.mode'] === 'subscribe' && tokenOk && typeof q['hub.challenge'] === 'string') {
        log.info({ remote: req.ip }, 'webhook verification succeeded');
        return reply.code(200).type('text/plain').send(q['hub.challenge']);
      }
      noteRefusal(req, { reason: 'verification_refused', message: 'webhook verification refused: 403', fields: { mode: q['hub.mode'] } });
      return reply.code(403).type('text/plain').send('forbidden');
    });

    scope.post(opts.path, async (req: FastifyRequest, reply: FastifyReply) => {
      // Arrival: the whole request has been read; the signature check and the parse are counted.
      const receivedAt = performance.now();
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const sig = req.headers[opts.signatureHeader];
      if (!opts.verifier.verify(raw, typeof sig === 'string' ? sig : undefined, req.headers)) {
        opts.metrics.webhookDeliveries.inc({ outcome: 'bad_signature' });
        noteRefusal(req, {
          reason: 'bad_signature', message: 'webhook signature missing or wrong: 401, body not processed',
          fields: { bytes: raw.length, hasSignature: typeof sig === 'string' },
        });
        return reply.code(401).send({ error: 'invalid signature' });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        opts.metrics.webhookDeliveries.inc({ outcome: 'bad_json' });
        noteRefusal(req, { reason: 'bad_json', message: 'webhook body is not valid JSON: 400', fields: { bytes: raw.length, error: (err as Error).message } });
        return reply.code(400).send({ error: 'malformed JSON' });
      }
      opts.metrics.webhookDeliveries.inc({ outcome: 'accepted' });
      // The 200 is written first; the events are then handled at once (a microtask, not after the
      // next round of I/O), so a busy loop does not delay the SIP message they cause.
      reply.code(200).send('EVENT_RECEIVED');
      Promise.resolve()
        .then(() => opts.onDelivery(body, receivedAt))
        .catch((err: unknown) => log.error({ err }, 'processing a webhook delivery failed'));
      return reply;
    });
  });
}
