import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

/** Checks a delivery's signature over the raw body bytes (Meta: X-Hub-Signature-256). */
export interface DeliveryVerifier {
  verify(rawBody: Buffer, signatureHeader: string | undefined): boolean;
}

export interface WebhookIngressOptions {
  path: string;
  verifyToken: string;
  verifier: DeliveryVerifier;
  /** Name of the signature header, lower-case. */
  signatureHeader: string;
  maxBodyBytes: number;
  /** Receives the parsed JSON document after the 200 has been sent. Must not throw (errors are logged). */
  onDelivery: (body: unknown, receivedAt: number) => void | Promise<void>;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Meta's webhook endpoint (reference §3.1):
 *  GET  verification: hub.mode=subscribe + the right hub.verify_token → 200 with the raw hub.challenge, else 403.
 *  POST events: the signature is checked over the RAW bytes, in constant time, before anything is
 *  parsed; 401 when missing/wrong, 413 over the size limit, 400 for malformed JSON. A good delivery
 *  is answered 200 at once and processed afterwards: Meta times out at ~20 s and retries, which
 *  would only produce duplicates.
 */
export async function registerWebhookIngress(app: FastifyInstance, opts: WebhookIngressOptions): Promise<void> {
  const log = opts.logger.child({ component: 'webhook' });
  await app.register(async (scope) => {
    // Keep the body as raw bytes whatever the content type: the HMAC is over the exact bytes.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        opts.metrics.webhookDeliveries.inc({ outcome: 'too_large' });
        log.warn({ remote: req.ip, limit: opts.maxBodyBytes }, 'webhook body over the size limit: 413');
        return reply.code(413).send({ error: 'payload too large' });
      }
      log.error({ err, remote: req.ip }, 'webhook request failed');
      return reply.code(err.statusCode && err.statusCode >= 400 ? err.statusCode : 500).send({ error: 'error' });
    });

    scope.get(opts.path, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const q = req.query;
      if (q['hub.mode'] === 'subscribe' && typeof q['hub.verify_token'] === 'string'
          && q['hub.verify_token'] === opts.verifyToken && typeof q['hub.challenge'] === 'string') {
        log.info({ remote: req.ip }, 'webhook verification succeeded');
        return reply.code(200).type('text/plain').send(q['hub.challenge']);
      }
      log.warn({ remote: req.ip, mode: q['hub.mode'] }, 'webhook verification refused: 403');
      return reply.code(403).type('text/plain').send('forbidden');
    });

    scope.post(opts.path, async (req: FastifyRequest, reply: FastifyReply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const sig = req.headers[opts.signatureHeader];
      if (!opts.verifier.verify(raw, typeof sig === 'string' ? sig : undefined)) {
        opts.metrics.webhookDeliveries.inc({ outcome: 'bad_signature' });
        log.warn({ remote: req.ip, bytes: raw.length, hasSignature: typeof sig === 'string' }, 'webhook signature missing or wrong: 401, body not processed');
        return reply.code(401).send({ error: 'invalid signature' });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        opts.metrics.webhookDeliveries.inc({ outcome: 'bad_json' });
        log.warn({ remote: req.ip, bytes: raw.length, reason: (err as Error).message }, 'webhook body is not valid JSON: 400');
        return reply.code(400).send({ error: 'malformed JSON' });
      }
      opts.metrics.webhookDeliveries.inc({ outcome: 'accepted' });
      const receivedAt = Date.now();
      setImmediate(() => {
        Promise.resolve()
          .then(() => opts.onDelivery(body, receivedAt))
          .catch((err: unknown) => log.error({ err }, 'processing a webhook delivery failed'));
      });
      return reply.code(200).send('EVENT_RECEIVED');
    });
  });
}
